"""`GET /tickets?sort=`: every order pages through every ticket once, in order, ties broken by id;
a cursor only continues the order it came from; the CSV export and the customer's scope follow."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from typing import Any

import pytest
from sqlalchemy import update

from blink_api.tickets.models import Ticket
from tests.factories import Actor, World
from tests.kit import API, assert_problem, new_ticket

SORTS = ["-created_at", "created_at", "-updated_at", "updated_at"]


def at(minute: int) -> dt.datetime:
    return dt.datetime(2026, 3, 2, 8, minute, tzinfo=dt.UTC)


# (created minute, updated minute) per ticket: ties in both columns, and the two orders differ.
TIMES = [(0, 30), (0, 10), (0, 30), (5, 20), (5, 10), (7, 40), (9, 30)]


async def tickets_with_times(client, database, world: World, site: Any, times=TIMES) -> list[dict[str, Any]]:
    """Tickets at `site` whose timestamps are set to `times`; each as {id, created_at, updated_at}."""
    made = []
    for i, (created, updated) in enumerate(times):
        t = await new_ticket(client, world.employee_a, site, world.type_a, title=f"Fenster im {i}. OG")
        made.append({"id": uuid.UUID(t["id"]), "created_at": at(created), "updated_at": at(updated)})
    async with database.sessionmaker.begin() as s:
        for t in made:
            await s.execute(
                update(Ticket)
                .where(Ticket.id == t["id"])
                .values(created_at=t["created_at"], updated_at=t["updated_at"])
            )
    return made


def expected(made: list[dict[str, Any]], sort: str) -> list[str]:
    column = sort.removeprefix("-")
    ordered = sorted(made, key=lambda t: (t[column], t["id"]), reverse=sort.startswith("-"))
    return [str(t["id"]) for t in ordered]


async def every_page(client, actor: Actor, limit: int = 2, **params: Any) -> tuple[list[str], int]:
    """The ids of every page followed by `next_cursor`, and how many pages there were."""
    ids: list[str] = []
    cursor, pages = None, 0
    while True:
        query = {"limit": limit, **params, **({"cursor": cursor} if cursor else {})}
        r = await client.get(f"{API}/tickets", headers=actor.headers, params=query)
        assert r.status_code == 200, r.text
        page = r.json()
        ids += [t["id"] for t in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return ids, pages
        assert pages < 50


@pytest.mark.parametrize("sort", SORTS)
async def test_every_order_pages_through_every_ticket_once_with_ties_broken_by_id(
    client, world, database, sort
):
    made = await tickets_with_times(client, database, world, world.site_a1)
    ids, pages = await every_page(client, world.employee_a, sort=sort)
    assert pages == 4
    assert ids == expected(made, sort)
    # One page holding everything is in the same order.
    assert (await every_page(client, world.employee_a, limit=200, sort=sort))[0] == ids


async def test_without_sort_the_list_is_newest_first(client, world, database):
    made = await tickets_with_times(client, database, world, world.site_a1)
    assert (await every_page(client, world.admin))[0] == expected(made, "-created_at")
    assert (await every_page(client, world.admin, sort="-created_at"))[0] == expected(made, "-created_at")


async def test_the_orders_differ_so_the_test_above_can_tell_them_apart(client, world, database):
    made = await tickets_with_times(client, database, world, world.site_a1)
    orders = {tuple(expected(made, sort)) for sort in SORTS}
    assert len(orders) == len(SORTS)


async def test_sort_combines_with_filters(client, world, database):
    made = await tickets_with_times(client, database, world, world.site_a1)
    elsewhere = await tickets_with_times(client, database, world, world.site_a2, [(3, 3), (8, 50)])
    ids, _ = await every_page(client, world.employee_a, sort="updated_at", site_id=str(world.site_a1.id))
    assert ids == expected(made, "updated_at")
    ids, _ = await every_page(client, world.employee_a, sort="-updated_at")
    assert ids == expected(made + elsewhere, "-updated_at")


async def test_a_customer_user_sorting_still_sees_only_the_tickets_of_their_sites(client, world, database):
    r = await client.put(
        f"{API}/customers/{world.customer_x.id}/ticket-settings",
        headers=world.admin.headers,
        json={"enabled_ticket_type_ids": [str(world.type_a.id)], "document_sources": []},
    )
    assert r.status_code == 200, r.text
    mine = await tickets_with_times(client, database, world, world.site_a1)
    # Site A2 belongs to the same customer but is not assigned to this user.
    await tickets_with_times(client, database, world, world.site_a2, [(1, 59), (9, 1)])
    for sort in SORTS:
        ids, _ = await every_page(client, world.customer_user_x, sort=sort)
        assert ids == expected(mine, sort), sort
    ids, _ = await every_page(client, world.customer_user_y, sort="-updated_at")
    assert ids == []


@pytest.mark.parametrize(
    "value", ["title", "number", "-due", "+created_at", "created_at,id", "", "CREATED_AT"]
)
async def test_an_unknown_sort_is_refused(client, world, value):
    r = await client.get(f"{API}/tickets", headers=world.employee_a.headers, params={"sort": value})
    assert_problem(r, 422, ["query", "sort"])


@pytest.mark.parametrize(
    ("made_with", "used_with"),
    [
        ("updated_at", "-updated_at"),
        ("-updated_at", "-created_at"),
        ("-created_at", "created_at"),
        ("created_at", "updated_at"),
    ],
)
async def test_a_cursor_of_another_order_is_refused(client, world, database, made_with, used_with):
    await tickets_with_times(client, database, world, world.site_a1)
    a = world.employee_a
    r = await client.get(f"{API}/tickets", headers=a.headers, params={"limit": 2, "sort": made_with})
    cursor = r.json()["next_cursor"]
    assert cursor
    r = await client.get(f"{API}/tickets", headers=a.headers, params={"sort": used_with, "cursor": cursor})
    body = assert_problem(r, 422, ["query", "cursor"])
    assert made_with in body["detail"] or made_with in str(body["errors"])
    # With its own order the cursor still works.
    r = await client.get(f"{API}/tickets", headers=a.headers, params={"sort": made_with, "cursor": cursor})
    assert r.status_code == 200, r.text


async def test_a_sorted_cursor_is_refused_by_a_list_with_one_order(client, world, database):
    made = await tickets_with_times(client, database, world, world.site_a1)
    a = world.admin
    r = await client.get(f"{API}/tickets", headers=a.headers, params={"limit": 2, "sort": "updated_at"})
    cursor = r.json()["next_cursor"]
    r = await client.get(
        f"{API}/tickets/{made[0]['id']}/history", headers=a.headers, params={"cursor": cursor}
    )
    assert_problem(r, 422, ["query", "cursor"])


@pytest.mark.parametrize("sort", SORTS)
async def test_the_csv_export_follows_the_sort(client, world, database, sort):
    made = await tickets_with_times(client, database, world, world.site_a1)
    numbers = {}
    for t in made:
        r = await client.get(f"{API}/tickets/{t['id']}", headers=world.admin.headers)
        numbers[str(t["id"])] = r.json()["number"]
    r = await client.get(
        f"{API}/tickets", headers={**world.employee_a.headers, "Accept": "text/csv"}, params={"sort": sort}
    )
    assert r.status_code == 200, r.text
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"), newline="")))[1:]
    assert [row[0] for row in rows] == [numbers[i] for i in expected(made, sort)]


async def test_an_unknown_sort_is_refused_for_the_csv_export_too(client, world):
    headers = {**world.employee_a.headers, "Accept": "text/csv"}
    r = await client.get(f"{API}/tickets", headers=headers, params={"sort": "number"})
    assert_problem(r, 422, ["query", "sort"])


DUES = [None, dt.date(2026, 3, 9), dt.date(2026, 3, 2), None, dt.date(2026, 3, 9), dt.date(1, 1, 2)]


@pytest.mark.parametrize("sort", ["due_date", "-due_date"])
async def test_the_due_date_order_puts_tickets_without_one_last_and_pages_once_each(
    client, world, database, sort
):
    made = []
    for i, due in enumerate(DUES):
        extra = {"due_date": due.isoformat()} if due else {}
        t = await new_ticket(client, world.employee_a, world.site_a1, world.type_a, f"Dach {i}", **extra)
        made.append((due or dt.date.max, t["id"]))
    ordered = sorted(made, key=lambda t: (t[0], uuid.UUID(t[1])), reverse=sort.startswith("-"))
    ids, pages = await every_page(client, world.employee_a, sort=sort)
    assert pages == 3 and ids == [t[1] for t in ordered]
    if sort == "due_date":
        r = await client.get(
            f"{API}/tickets", headers=world.employee_a.headers, params={"sort": sort, "limit": 200}
        )
        dues = [t["due_date"] for t in r.json()["items"]]
        assert dues[:4] == ["0001-01-02", "2026-03-02", "2026-03-09", "2026-03-09"] and dues[4:] == [
            None,
            None,
        ]
    # A customer user on the site pages through the same order, within its scope.
    portal_ids, _ = await every_page(client, world.customer_user_x, sort=sort)
    assert portal_ids == [i for i in ids if i in set(portal_ids)]
