"""Ticket priorities and the status `waiting`: who chooses a priority when, the filter, the order,
the export and the history; `waiting` as a status employees set and customer users see."""

from __future__ import annotations

import csv
import io
import uuid

import pytest

from tests.factories import World
from tests.kit import API, assert_problem, new_ticket

PRIORITIES = ["low", "normal", "high", "urgent"]

# Customer X's users may raise and see tickets of type A on site A1.
pytestmark = pytest.mark.usefixtures("portal")


async def test_a_ticket_without_a_chosen_priority_is_normal(client, world: World):
    t = await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    assert t["priority"] == "normal"
    r = await client.get(f"{API}/tickets/{t['id']}", headers=world.customer_user_x.headers)
    assert r.status_code == 200 and r.json()["priority"] == "normal"


async def test_a_customer_user_chooses_the_priority_when_reporting(client, world: World):
    t = await new_ticket(client, world.customer_user_x, world.site_a1, world.type_a, priority="urgent")
    assert t["priority"] == "urgent"


async def test_a_customer_user_cannot_change_the_priority_afterwards(client, world: World):
    t = await new_ticket(client, world.customer_user_x, world.site_a1, world.type_a, priority="high")
    for value in ("urgent", "high"):  # a change, and the value it has: both are refused
        r = await client.patch(
            f"{API}/tickets/{t['id']}", headers=world.customer_user_x.headers, json={"priority": value}
        )
        body = assert_problem(r, 403)
        assert "priority" in body["detail"]
    # Not even together with a field it may change: nothing of the request is stored.
    r = await client.patch(
        f"{API}/tickets/{t['id']}",
        headers=world.customer_user_x.headers,
        json={"title": "Neu", "priority": "low"},
    )
    assert_problem(r, 403)
    r = await client.get(f"{API}/tickets/{t['id']}", headers=world.employee_a.headers)
    assert r.json()["priority"] == "high" and r.json()["title"] == t["title"]


async def test_an_employee_changes_the_priority_and_the_history_shows_it_to_the_customer(
    client, world: World
):
    t = await new_ticket(client, world.customer_user_x, world.site_a1, world.type_a)
    r = await client.patch(
        f"{API}/tickets/{t['id']}", headers=world.employee_a.headers, json={"priority": "urgent"}
    )
    assert r.status_code == 200 and r.json()["priority"] == "urgent"
    r = await client.get(f"{API}/tickets/{t['id']}/history", headers=world.customer_user_x.headers)
    changes = [e for e in r.json()["items"] if e.get("field") == "priority"]
    assert [(e["old_value"], e["new_value"]) for e in changes] == [("normal", "urgent")]


@pytest.mark.parametrize("value", ["critical", "URGENT", "", 3, None])
async def test_an_unknown_or_null_priority_is_refused(client, world: World, value):
    t = await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    r = await client.patch(
        f"{API}/tickets/{t['id']}", headers=world.employee_a.headers, json={"priority": value}
    )
    assert_problem(r, 422, ["body", "priority"])
    if value is not None:
        body = {"site_id": str(world.site_a1.id), "ticket_type_id": str(world.type_a.id), "title": "X"}
        r = await client.post(
            f"{API}/tickets", headers=world.employee_a.headers, json={**body, "priority": value}
        )
        assert_problem(r, 422, ["body", "priority"])


async def test_the_list_filters_by_priority(client, world: World):
    made = {
        p: await new_ticket(client, world.employee_a, world.site_a1, world.type_a, priority=p)
        for p in PRIORITIES
    }
    for p in PRIORITIES:
        r = await client.get(f"{API}/tickets", headers=world.employee_a.headers, params={"priority": p})
        assert [t["id"] for t in r.json()["items"]] == [made[p]["id"]]
    r = await client.get(f"{API}/tickets", headers=world.employee_a.headers, params={"priority": "asap"})
    assert_problem(r, 422, ["query", "priority"])


async def every_page(client, headers, **params) -> list[dict]:
    items, cursor = [], None
    for _ in range(50):
        r = await client.get(
            f"{API}/tickets",
            headers=headers,
            params={"limit": 2, **params, **({"cursor": cursor} if cursor else {})},
        )
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        if (cursor := r.json()["next_cursor"]) is None:
            return items
    raise AssertionError("the list did not end")


@pytest.mark.parametrize("sort", ["-priority", "priority"])
async def test_the_priority_order_pages_through_every_ticket_once(client, world: World, sort):
    # Two of each priority, made in an order that is neither the order of priorities nor its reverse.
    made = []
    for p in ["normal", "urgent", "low", "high", "urgent", "normal", "low", "high"]:
        made.append(await new_ticket(client, world.employee_a, world.site_a1, world.type_a, priority=p))
    items = await every_page(client, world.employee_a.headers, sort=sort)
    assert sorted(t["id"] for t in items) == sorted(t["id"] for t in made)
    rank = {p: i for i, p in enumerate(PRIORITIES)}
    key = [(rank[t["priority"]], t["created_at"], uuid.UUID(t["id"])) for t in items]
    assert key == sorted(key, reverse=sort.startswith("-"))
    if sort == "-priority":
        assert [t["priority"] for t in items] == ["urgent"] * 2 + ["high"] * 2 + ["normal"] * 2 + ["low"] * 2
    # The customer user pages through the same order, within its scope.
    portal = await every_page(client, world.customer_user_x.headers, sort=sort)
    assert [t["id"] for t in portal] == [t["id"] for t in items if t["id"] in {p["id"] for p in portal}]


async def test_the_export_names_the_priority(client, world: World):
    await new_ticket(client, world.employee_a, world.site_a1, world.type_a, priority="urgent")
    r = await client.get(
        f"{API}/tickets",
        headers={**world.employee_a.headers, "Accept": "text/csv"},
        params={"sort": "-priority"},
    )
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [row["priority"] for row in rows] == ["urgent"]


async def test_employees_set_waiting_and_customer_users_see_it_but_cannot_set_it(client, world: World):
    t = await new_ticket(client, world.customer_user_x, world.site_a1, world.type_a)
    r = await client.patch(
        f"{API}/tickets/{t['id']}", headers=world.customer_user_x.headers, json={"status": "waiting"}
    )
    assert "status" in assert_problem(r, 403)["detail"]
    r = await client.patch(
        f"{API}/tickets/{t['id']}", headers=world.employee_a.headers, json={"status": "waiting"}
    )
    assert r.status_code == 200 and r.json()["status"] == "waiting" and r.json()["closed_at"] is None
    r = await client.get(
        f"{API}/tickets", headers=world.customer_user_x.headers, params={"status": "waiting"}
    )
    assert [x["id"] for x in r.json()["items"]] == [t["id"]]
    r = await client.get(f"{API}/tickets/{t['id']}/history", headers=world.customer_user_x.headers)
    assert ("open", "waiting") in [(e["old_value"], e["new_value"]) for e in r.json()["items"]]
    # From waiting the ticket closes as from any other open status.
    r = await client.patch(
        f"{API}/tickets/{t['id']}", headers=world.employee_a.headers, json={"status": "closed"}
    )
    assert r.status_code == 200 and r.json()["closed_at"] is not None


async def test_a_ticket_is_created_waiting_by_an_employee_only(client, world: World):
    t = await new_ticket(client, world.employee_a, world.site_a1, world.type_a, status="waiting")
    assert t["status"] == "waiting"
    body = {"site_id": str(world.site_a1.id), "ticket_type_id": str(world.type_a.id), "title": "X"}
    r = await client.post(
        f"{API}/tickets", headers=world.customer_user_x.headers, json={**body, "status": "waiting"}
    )
    assert "status" in assert_problem(r, 403)["detail"]
