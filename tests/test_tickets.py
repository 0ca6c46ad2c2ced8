"""Employee side of tickets: creation, scope, changes, history, concurrency, idempotency, comments, search."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid

import pytest
from sqlalchemy import update

from blink_api.kit.pagination import Page, encode_cursor
from blink_api.tickets.models import Ticket, TicketComment
from blink_api.tickets.schemas import TicketRead
from tests.factories import Actor, make_employee, make_ticket_type
from tests.kit import API, assert_problem, new_ticket, statements_sent


async def new_employee(database, ctx, tenants, name: str = "Erika Employee") -> Actor:
    async with database.sessionmaker.begin() as s:
        return await make_employee(s, ctx, tenants=tenants, name=name)


async def history(client, actor: Actor, ticket_id: str) -> list[dict]:
    r = await client.get(f"{API}/tickets/{ticket_id}/history", headers=actor.headers, params={"limit": 200})
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def list_ids(client, actor: Actor, **params) -> list[str]:
    r = await client.get(f"{API}/tickets", headers=actor.headers, params={"limit": 200, **params})
    assert r.status_code == 200, r.text
    return [t["id"] for t in r.json()["items"]]


# Creating and reading


async def test_created_ticket_has_every_documented_field(client, world):
    t = await new_ticket(client, world.employee_a, world.site_a1, world.type_a, description="2. OG")
    assert set(t) == {
        "id",
        "number",
        "tenant_id",
        "site_id",
        "ticket_type_id",
        "title",
        "description",
        "status",
        "priority",
        "assignee_id",
        "due_date",
        "created_by",
        "created_at",
        "updated_at",
        "closed_at",
        "rating",
        "sla",
        "schedule_id",
    }
    assert t["sla"] is None  # no policy
    # The tenant is taken from the site; nobody sends it.
    assert t["tenant_id"] == str(world.tenant_a.id)
    assert t["site_id"] == str(world.site_a1.id)
    assert t["status"] == "open" and t["closed_at"] is None and t["assignee_id"] is None
    assert t["created_by"] == {"kind": "employee", "id": str(world.employee_a.id), "name": "Erika Employee"}
    assert dt.datetime.fromisoformat(t["created_at"]).tzinfo is not None
    r = await client.get(f"{API}/tickets/{t['id']}", headers=world.employee_a.headers)
    assert r.status_code == 200 and r.json() == t


async def test_numbers_count_per_tenant_with_its_code(client, world):
    a1 = await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    b1 = await new_ticket(client, world.employee_b, world.site_b1, world.type_b)
    a2 = await new_ticket(client, world.employee_a, world.site_a2, world.type_a)
    b2 = await new_ticket(client, world.admin, world.site_b1, world.type_b)
    assert [a1["number"], a2["number"]] == ["AAA-000001", "AAA-000002"]
    assert [b1["number"], b2["number"]] == ["BBB-000001", "BBB-000002"]


async def test_numbers_stay_unique_under_concurrent_creation(client, world):
    async def one(i: int):
        return await client.post(
            f"{API}/tickets",
            headers=world.employee_a.headers,
            json={"site_id": str(world.site_a1.id), "ticket_type_id": str(world.type_a.id), "title": f"T{i}"},
        )

    answers = await asyncio.gather(*(one(i) for i in range(6)))
    assert all(r.status_code == 201 for r in answers), [r.text for r in answers]
    assert sorted(r.json()["number"] for r in answers) == [f"AAA-{n:06d}" for n in range(1, 7)]


async def test_employee_may_set_status_assignee_and_due_date_on_creation(client, world, database, ctx):
    colleague = await new_employee(database, ctx, [world.tenant_a], name="Chris Colleague")
    t = await new_ticket(
        client,
        world.employee_a,
        world.site_a1,
        world.type_a,
        status="closed",
        assignee_id=str(colleague.id),
        due_date="2031-05-17",
    )
    assert t["status"] == "closed" and t["closed_at"] is not None
    assert t["assignee_id"] == str(colleague.id) and t["due_date"] == "2031-05-17"


async def test_employees_see_their_tenants_tickets_and_admins_all(client, world, database, ctx):
    a = await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    b = await new_ticket(client, world.employee_b, world.site_b1, world.type_b)
    both = await new_employee(database, ctx, [world.tenant_a, world.tenant_b])
    assert await list_ids(client, world.employee_a) == [a["id"]]
    assert await list_ids(client, world.employee_b) == [b["id"]]
    assert set(await list_ids(client, both)) == {a["id"], b["id"]}
    assert set(await list_ids(client, world.admin)) == {a["id"], b["id"]}
    # Working a ticket of another tenant is open to the admin and to employees of both tenants.
    r = await client.patch(f"{API}/tickets/{b['id']}", headers=both.headers, json={"status": "in_progress"})
    assert r.status_code == 200, r.text
    r = await client.patch(f"{API}/tickets/{a['id']}", headers=world.admin.headers, json={"title": "Neu"})
    assert r.status_code == 200 and r.json()["title"] == "Neu"


async def test_employee_without_tenant_sees_no_ticket(client, world, database, ctx):
    t = await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    nobody = await new_employee(database, ctx, [])
    assert await list_ids(client, nobody) == []
    cursor = encode_cursor(dt.datetime(2099, 1, 1, tzinfo=dt.UTC), uuid.uuid4())
    filters = {"cursor": cursor, "site_id": str(world.site_a1.id), "q": "Fenster", "status": "open"}
    assert await list_ids(client, nobody, **filters) == []
    assert_problem(await client.get(f"{API}/tickets/{t['id']}", headers=nobody.headers), 404)


# Type and assignee must fit the tenant


async def test_type_of_another_tenant_is_refused_on_creation(client, world):
    r = await client.post(
        f"{API}/tickets",
        headers=world.admin.headers,
        json={"site_id": str(world.site_a1.id), "ticket_type_id": str(world.type_b.id), "title": "X"},
    )
    body = assert_problem(r, 422, ["body", "ticket_type_id"])
    assert "tenant" in body["detail"].lower()
    assert await list_ids(client, world.admin) == []


async def test_assignee_of_another_tenant_is_refused_on_creation(client, world):
    r = await client.post(
        f"{API}/tickets",
        headers=world.employee_a.headers,
        json={
            "site_id": str(world.site_a1.id),
            "ticket_type_id": str(world.type_a.id),
            "title": "X",
            "assignee_id": str(world.employee_b.id),
        },
    )
    body = assert_problem(r, 422, ["body", "assignee_id"])
    assert "assignee" in body["detail"].lower()
    assert await list_ids(client, world.employee_a) == []


async def test_unknown_assignee_is_refused(client, world):
    r = await client.post(
        f"{API}/tickets",
        headers=world.employee_a.headers,
        json={
            "site_id": str(world.site_a1.id),
            "ticket_type_id": str(world.type_a.id),
            "title": "X",
            "assignee_id": str(uuid.uuid4()),
        },
    )
    assert_problem(r, 422, ["body", "assignee_id"])


async def test_type_and_assignee_of_another_tenant_are_refused_on_change(client, world):
    t = await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    h = world.admin.headers
    r = await client.patch(
        f"{API}/tickets/{t['id']}", headers=h, json={"ticket_type_id": str(world.type_b.id)}
    )
    assert_problem(r, 422, ["body", "ticket_type_id"])
    r = await client.patch(
        f"{API}/tickets/{t['id']}", headers=h, json={"assignee_id": str(world.employee_b.id)}
    )
    assert_problem(r, 422, ["body", "assignee_id"])
    r = await client.patch(f"{API}/tickets/{t['id']}", headers=h, json={"site_id": str(world.site_b1.id)})
    assert_problem(r, 422, ["body", "site_id"])
    r = await client.get(f"{API}/tickets/{t['id']}", headers=h)
    assert r.json() == t and r.headers["etag"] == '"1"'


async def test_assignee_and_type_of_the_same_tenant_are_accepted(client, world, database, ctx):
    colleague = await new_employee(database, ctx, [world.tenant_a])
    async with database.sessionmaker.begin() as s:
        other_type = await make_ticket_type(s, tenant=world.tenant_a, name="Glasreinigung")
    t = await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    r = await client.patch(
        f"{API}/tickets/{t['id']}",
        headers=world.employee_a.headers,
        json={
            "assignee_id": str(colleague.id),
            "ticket_type_id": str(other_type.id),
            "site_id": str(world.site_a2.id),
            "due_date": "2030-01-31",
        },
    )
    assert r.status_code == 200, r.text
    changed = r.json()
    assert changed["assignee_id"] == str(colleague.id)
    assert changed["ticket_type_id"] == str(other_type.id)
    assert changed["site_id"] == str(world.site_a2.id)
    assert changed["due_date"] == "2030-01-31"
    # Unassigning is a change like any other.
    r = await client.patch(
        f"{API}/tickets/{t['id']}", headers=world.employee_a.headers, json={"assignee_id": None}
    )
    assert r.status_code == 200 and r.json()["assignee_id"] is None


# Status, closed_at and history


async def test_closing_sets_closed_at_and_reopening_clears_it(client, world):
    t = await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    url, h = f"{API}/tickets/{t['id']}", world.employee_a.headers
    r = await client.patch(url, headers=h, json={"status": "closed"})
    assert r.status_code == 200, r.text
    closed_at = r.json()["closed_at"]
    assert closed_at is not None
    assert dt.datetime.fromisoformat(closed_at) >= dt.datetime.fromisoformat(t["created_at"])
    r = await client.patch(url, headers=h, json={"status": "open"})
    assert r.status_code == 200 and r.json()["status"] == "open" and r.json()["closed_at"] is None
    await client.patch(url, headers=h, json={"status": "closed"})
    r = await client.patch(url, headers=h, json={"status": "in_progress"})
    assert r.json()["closed_at"] is None
    r = await client.get(url, headers=h)
    assert r.json()["status"] == "in_progress" and r.json()["closed_at"] is None


async def test_every_change_is_in_the_history_with_who_when_and_old_and_new(client, world, database, ctx):
    colleague = await new_employee(database, ctx, [world.tenant_a])
    t = await new_ticket(client, world.employee_a, world.site_a1, world.type_a, title="Alt")
    url = f"{API}/tickets/{t['id']}"
    r = await client.patch(
        url,
        headers=world.employee_a.headers,
        json={"status": "in_progress", "assignee_id": str(colleague.id)},
    )
    assert r.status_code == 200, r.text
    r = await client.patch(url, headers=world.admin.headers, json={"title": "Neu", "description": "mehr"})
    assert r.status_code == 200, r.text
    r = await client.patch(url, headers=colleague.headers, json={"status": "closed"})
    assert r.status_code == 200, r.text

    entries = await history(client, world.employee_a, t["id"])
    changes = {(e["field"], e["old_value"], e["new_value"], e["actor"]["id"]) for e in entries if e["field"]}
    employee_a, admin, other = str(world.employee_a.id), str(world.admin.id), str(colleague.id)
    assert changes == {
        ("status", "open", "in_progress", employee_a),
        ("assignee_id", None, other, employee_a),
        ("title", "Alt", "Neu", admin),
        ("description", None, "mehr", admin),
        ("status", "in_progress", "closed", other),
    }
    assert any(e["event"] == "created" and e["actor"]["id"] == employee_a for e in entries)
    for e in entries:
        assert e["ticket_id"] == t["id"]
        assert e["actor"]["kind"] == "employee" and e["actor"]["name"]
        assert dt.datetime.fromisoformat(e["created_at"]).tzinfo is not None
    # Newest first: the closing is the latest entry, the creation the oldest.
    assert (entries[0]["field"], entries[0]["new_value"]) == ("status", "closed")
    assert entries[-1]["event"] == "created"


async def test_patch_without_a_change_adds_no_history(client, world):
    t = await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    before = await history(client, world.employee_a, t["id"])
    r = await client.patch(
        f"{API}/tickets/{t['id']}", headers=world.employee_a.headers, json={"title": t["title"]}
    )
    assert r.status_code == 200
    assert await history(client, world.employee_a, t["id"]) == before


# ETag and If-Match


async def test_etag_changes_with_every_change(client, world):
    t = await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    url, h = f"{API}/tickets/{t['id']}", world.employee_a.headers
    first = (await client.get(url, headers=h)).headers["etag"]
    r = await client.patch(url, headers={**h, "If-Match": first}, json={"title": "Zwei"})
    assert r.status_code == 200, r.text
    second = r.headers["etag"]
    assert second != first
    assert (await client.get(url, headers=h)).headers["etag"] == second


async def test_stale_if_match_is_refused_and_changes_nothing(client, world):
    t = await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    url, h = f"{API}/tickets/{t['id']}", world.employee_a.headers
    stale = (await client.get(url, headers=h)).headers["etag"]
    r = await client.patch(url, headers=h, json={"status": "in_progress"})
    assert r.status_code == 200
    fresh = await client.get(url, headers=h)
    before_history = await history(client, world.employee_a, t["id"])

    r = await client.patch(url, headers={**h, "If-Match": stale}, json={"title": "Überschrieben"})
    assert_problem(r, 412)
    after = await client.get(url, headers=h)
    assert after.json() == fresh.json() and after.headers["etag"] == fresh.headers["etag"]
    assert await history(client, world.employee_a, t["id"]) == before_history


async def test_garbage_if_match_never_matches(client, world):
    t = await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    r = await client.patch(
        f"{API}/tickets/{t['id']}",
        headers={**world.employee_a.headers, "If-Match": '"not-a-version"'},
        json={"title": "X"},
    )
    assert_problem(r, 412)


async def test_of_two_concurrent_patches_with_one_etag_exactly_one_wins(client, world):
    t = await new_ticket(client, world.employee_a, world.site_a1, world.type_a, title="Start")
    url, h = f"{API}/tickets/{t['id']}", world.employee_a.headers
    # Several rounds: the interleaving differs between rounds, the outcome must not.
    for round_ in range(5):
        current = await client.get(url, headers=h)
        etag = current.headers["etag"]
        first, second = await asyncio.gather(
            client.patch(url, headers={**h, "If-Match": etag}, json={"title": f"A{round_}"}),
            client.patch(url, headers={**h, "If-Match": etag}, json={"description": f"B{round_}"}),
        )
        codes = sorted([first.status_code, second.status_code])
        assert codes == [200, 412], (first.text, second.text)
        winner, loser = (first, second) if first.status_code == 200 else (second, first)
        assert_problem(loser, 412)
        now = (await client.get(url, headers=h)).json()
        # Only the winner's change landed; the loser's did not slip in afterwards.
        if winner is first:
            assert now["title"] == f"A{round_}" and now["description"] == current.json()["description"]
        else:
            assert now["description"] == f"B{round_}" and now["title"] == current.json()["title"]
    updates = [e for e in await history(client, world.employee_a, t["id"]) if e["event"] == "updated"]
    assert len(updates) == 5


# Idempotency-Key


async def test_ticket_creation_with_the_same_key_and_body_is_replayed(client, world):
    h = {**world.employee_a.headers, "Idempotency-Key": "create-1"}
    body = {"site_id": str(world.site_a1.id), "ticket_type_id": str(world.type_a.id), "title": "Einmal"}
    first = await client.post(f"{API}/tickets", headers=h, json=body)
    again = await client.post(f"{API}/tickets", headers=h, json=body)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()
    assert await list_ids(client, world.employee_a) == [first.json()["id"]]
    # The replay did not use up a ticket number either.
    nxt = await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    assert nxt["number"] == "AAA-000002"


async def test_ticket_creation_with_the_same_key_and_another_body_is_refused(client, world):
    h = {**world.employee_a.headers, "Idempotency-Key": "create-2"}
    body = {"site_id": str(world.site_a1.id), "ticket_type_id": str(world.type_a.id), "title": "Einmal"}
    first = await client.post(f"{API}/tickets", headers=h, json=body)
    assert first.status_code == 201
    r = await client.post(f"{API}/tickets", headers=h, json={**body, "title": "Anders"})
    assert_problem(r, 422, ["header", "Idempotency-Key"])
    assert await list_ids(client, world.employee_a) == [first.json()["id"]]


async def test_different_callers_may_use_the_same_key(client, world, database, ctx):
    colleague = await new_employee(database, ctx, [world.tenant_a])
    body = {"site_id": str(world.site_a1.id), "ticket_type_id": str(world.type_a.id), "title": "Gleich"}
    mine = await client.post(
        f"{API}/tickets", headers={**world.employee_a.headers, "Idempotency-Key": "shared"}, json=body
    )
    theirs = await client.post(
        f"{API}/tickets", headers={**colleague.headers, "Idempotency-Key": "shared"}, json=body
    )
    assert mine.status_code == theirs.status_code == 201, theirs.text
    assert mine.json()["id"] != theirs.json()["id"]
    assert theirs.json()["created_by"]["id"] == str(colleague.id)
    assert len(await list_ids(client, world.employee_a)) == 2


async def test_comment_with_the_same_key_is_created_once(client, world, database, ctx):
    t = await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    url = f"{API}/tickets/{t['id']}/comments"
    h = {**world.employee_a.headers, "Idempotency-Key": "comment-1"}
    first = await client.post(url, headers=h, json={"body": "Erledigt"})
    again = await client.post(url, headers=h, json={"body": "Erledigt"})
    assert first.status_code == again.status_code == 201, again.text
    assert again.json()["id"] == first.json()["id"]
    assert_problem(
        await client.post(url, headers=h, json={"body": "Anders"}), 422, ["header", "Idempotency-Key"]
    )
    colleague = await new_employee(database, ctx, [world.tenant_a])
    other = await client.post(
        url, headers={**colleague.headers, "Idempotency-Key": "comment-1"}, json={"body": "Erledigt"}
    )
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    r = await client.get(url, headers=world.employee_a.headers)
    assert sorted(c["id"] for c in r.json()["items"]) == sorted([first.json()["id"], other.json()["id"]])


# Comments


async def test_comments_and_internal_notes(client, world):
    t = await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    url, h = f"{API}/tickets/{t['id']}/comments", world.employee_a.headers
    r = await client.post(url, headers=h, json={"body": "Öffentlich"})
    assert r.status_code == 201, r.text
    public = r.json()
    assert public["internal"] is False and public["ticket_id"] == t["id"]
    assert public["author"] == {"kind": "employee", "id": str(world.employee_a.id), "name": "Erika Employee"}
    r = await client.post(url, headers=h, json={"body": "Nur intern", "internal": True})
    assert r.status_code == 201 and r.json()["internal"] is True
    r = await client.get(url, headers=h)
    assert {c["body"] for c in r.json()["items"]} == {"Öffentlich", "Nur intern"}
    r = await client.get(f"{url}/{public['id']}", headers=h)
    assert r.status_code == 200 and r.json()["body"] == "Öffentlich"
    events = {e["event"] for e in await history(client, world.employee_a, t["id"])}
    assert "comment_added" in events


async def test_author_edits_own_comment_and_the_edit_is_in_the_history(client, world):
    t = await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    url, h = f"{API}/tickets/{t['id']}/comments", world.employee_a.headers
    c = (await client.post(url, headers=h, json={"body": "Erster Text"})).json()
    r = await client.patch(f"{url}/{c['id']}", headers=h, json={"body": "Korrigiert"})
    assert r.status_code == 200, r.text
    assert r.json()["body"] == "Korrigiert"
    assert (await client.get(f"{url}/{c['id']}", headers=h)).json()["body"] == "Korrigiert"
    edits = [e for e in await history(client, world.employee_a, t["id"]) if e["event"] == "comment_edited"]
    assert len(edits) == 1
    assert (edits[0]["old_value"], edits[0]["new_value"]) == ("Erster Text", "Korrigiert")
    assert edits[0]["actor"]["id"] == str(world.employee_a.id)


async def test_another_employee_cannot_edit_or_delete_a_comment(client, world, database, ctx):
    colleague = await new_employee(database, ctx, [world.tenant_a])
    t = await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    url = f"{API}/tickets/{t['id']}/comments"
    c = (await client.post(url, headers=world.employee_a.headers, json={"body": "Meins"})).json()
    for actor in (colleague, world.admin):
        assert_problem(
            await client.patch(f"{url}/{c['id']}", headers=actor.headers, json={"body": "Fremd"}), 403
        )
        assert_problem(await client.delete(f"{url}/{c['id']}", headers=actor.headers), 403)
    r = await client.get(f"{url}/{c['id']}", headers=world.employee_a.headers)
    assert r.status_code == 200 and r.json()["body"] == "Meins"


async def test_author_deletes_own_comment(client, world):
    t = await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    url, h = f"{API}/tickets/{t['id']}/comments", world.employee_a.headers
    c = (await client.post(url, headers=h, json={"body": "Weg damit"})).json()
    r = await client.delete(f"{url}/{c['id']}", headers=h)
    assert r.status_code == 204, r.text
    assert_problem(await client.get(f"{url}/{c['id']}", headers=h), 404)
    assert (await client.get(url, headers=h)).json()["items"] == []
    deleted = [e for e in await history(client, world.employee_a, t["id"]) if e["event"] == "comment_deleted"]
    assert len(deleted) == 1 and deleted[0]["old_value"] == "Weg damit"


async def test_comment_of_another_ticket_is_not_found_under_this_one(client, world):
    t1 = await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    t2 = await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    h = world.employee_a.headers
    c = (await client.post(f"{API}/tickets/{t1['id']}/comments", headers=h, json={"body": "x"})).json()
    assert_problem(await client.get(f"{API}/tickets/{t2['id']}/comments/{c['id']}", headers=h), 404)
    r = await client.delete(f"{API}/tickets/{t2['id']}/comments/{c['id']}", headers=h)
    assert_problem(r, 404)


# Tenant isolation


async def test_employee_of_another_tenant_gets_404_everywhere_and_changes_nothing(client, world):
    a = world.employee_a.headers
    t = await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    tid = t["id"]
    c = (await client.post(f"{API}/tickets/{tid}/comments", headers=a, json={"body": "Intern A"})).json()
    r = await client.post(
        f"{API}/tickets/{tid}/attachments",
        headers=a,
        files=[("files", ("a.txt", b"Protokoll A", "text/plain"))],
    )
    assert r.status_code == 201, r.text
    att = r.json()["items"][0]
    before = {
        "ticket": (await client.get(f"{API}/tickets/{tid}", headers=a)).json(),
        "comments": (await client.get(f"{API}/tickets/{tid}/comments", headers=a)).json(),
        "attachments": (await client.get(f"{API}/tickets/{tid}/attachments", headers=a)).json(),
        "history": await history(client, world.employee_a, tid),
    }

    b = world.employee_b.headers
    refused = [
        await client.get(f"{API}/tickets/{tid}", headers=b),
        await client.patch(f"{API}/tickets/{tid}", headers=b, json={"status": "closed"}),
        await client.patch(f"{API}/tickets/{tid}", headers={**b, "If-Match": '"1"'}, json={"title": "B"}),
        await client.get(f"{API}/tickets/{tid}/history", headers=b),
        await client.get(f"{API}/tickets/{tid}/comments", headers=b),
        await client.post(f"{API}/tickets/{tid}/comments", headers=b, json={"body": "von B"}),
        await client.get(f"{API}/tickets/{tid}/comments/{c['id']}", headers=b),
        await client.patch(f"{API}/tickets/{tid}/comments/{c['id']}", headers=b, json={"body": "B"}),
        await client.delete(f"{API}/tickets/{tid}/comments/{c['id']}", headers=b),
        await client.get(f"{API}/tickets/{tid}/attachments", headers=b),
        await client.post(
            f"{API}/tickets/{tid}/attachments",
            headers=b,
            files=[("files", ("b.txt", b"von B", "text/plain"))],
        ),
        await client.get(f"{API}/attachments/{att['id']}/content", headers=b),
        await client.delete(f"{API}/attachments/{att['id']}", headers=b),
    ]
    for r in refused:
        assert_problem(r, 404)
    # A ticket of tenant A is indistinguishable from a ticket that does not exist.
    missing = await client.get(f"{API}/tickets/{uuid.uuid4()}", headers=b)
    assert missing.json()["detail"] == refused[0].json()["detail"]
    assert await list_ids(client, world.employee_b) == []
    assert await list_ids(client, world.employee_b, site_id=str(world.site_a1.id)) == []
    assert await list_ids(client, world.employee_b, q="Fenster") == []

    after = {
        "ticket": (await client.get(f"{API}/tickets/{tid}", headers=a)).json(),
        "comments": (await client.get(f"{API}/tickets/{tid}/comments", headers=a)).json(),
        "attachments": (await client.get(f"{API}/tickets/{tid}/attachments", headers=a)).json(),
        "history": await history(client, world.employee_a, tid),
    }
    assert after == before
    r = await client.get(f"{API}/attachments/{att['id']}/content", headers=a)
    assert r.content == b"Protokoll A"


async def test_employee_cannot_create_a_ticket_on_another_tenants_site(client, world):
    r = await client.post(
        f"{API}/tickets",
        headers=world.employee_b.headers,
        json={"site_id": str(world.site_a1.id), "ticket_type_id": str(world.type_a.id), "title": "X"},
    )
    assert_problem(r, 404)
    assert await list_ids(client, world.admin) == []


# Validation


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"priority": "hoch"}, ["body", "priority"]),
        ({"title": ""}, ["body", "title"]),
        ({"title": "   "}, ["body", "title"]),
        ({"title": "x" * 301}, ["body", "title"]),
        ({"status": "done"}, ["body", "status"]),
        ({"site_id": "not-a-uuid"}, ["body", "site_id"]),
        ({"ticket_type_id": "123"}, ["body", "ticket_type_id"]),
        ({"assignee_id": "nobody"}, ["body", "assignee_id"]),
        ({"due_date": "31.01.2030"}, ["body", "due_date"]),
    ],
)
async def test_invalid_ticket_creation_names_the_field(client, world, change, loc):
    body = {"site_id": str(world.site_a1.id), "ticket_type_id": str(world.type_a.id), "title": "Gut"}
    body.update(change)
    r = await client.post(f"{API}/tickets", headers=world.employee_a.headers, json=body)
    assert_problem(r, 422, loc)
    assert await list_ids(client, world.employee_a) == []


async def test_missing_required_fields_are_all_named(client, world):
    r = await client.post(f"{API}/tickets", headers=world.employee_a.headers, json={})
    body = assert_problem(r, 422)
    assert {tuple(e["loc"]) for e in body["errors"]} >= {
        ("body", "site_id"),
        ("body", "ticket_type_id"),
        ("body", "title"),
    }


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"colour": "rot"}, ["body", "colour"]),
        ({"title": ""}, ["body", "title"]),
        ({"title": None}, ["body", "title"]),
        ({"status": "erledigt"}, ["body", "status"]),
        ({"status": None}, ["body", "status"]),
        ({"assignee_id": "x"}, ["body", "assignee_id"]),
    ],
)
async def test_invalid_ticket_change_names_the_field_and_changes_nothing(client, world, change, loc):
    t = await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    r = await client.patch(f"{API}/tickets/{t['id']}", headers=world.employee_a.headers, json=change)
    assert_problem(r, 422, loc)
    assert (await client.get(f"{API}/tickets/{t['id']}", headers=world.employee_a.headers)).json() == t


@pytest.mark.parametrize(
    ("path", "loc"),
    [
        ("/tickets/not-a-uuid", ["path", "ticket_id"]),
        ("/tickets/not-a-uuid/history", ["path", "ticket_id"]),
        ("/tickets/not-a-uuid/comments", ["path", "ticket_id"]),
        ("/tickets/not-a-uuid/attachments", ["path", "ticket_id"]),
        ("/attachments/not-a-uuid/content", ["path", "attachment_id"]),
        ("/tickets?status=erledigt", ["query", "status"]),
        ("/tickets?site_id=nope", ["query", "site_id"]),
        ("/tickets?created_from=gestern", ["query", "created_from"]),
        ("/tickets?limit=0", ["query", "limit"]),
        ("/tickets?limit=201", ["query", "limit"]),
        ("/tickets?cursor=garbage", ["query", "cursor"]),
    ],
)
async def test_invalid_paths_and_queries_name_the_parameter(client, world, path, loc):
    assert_problem(await client.get(f"{API}{path}", headers=world.employee_a.headers), 422, loc)


async def test_invalid_comment_names_the_field(client, world):
    t = await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    url, h = f"{API}/tickets/{t['id']}/comments", world.employee_a.headers
    assert_problem(await client.post(url, headers=h, json={"body": "  "}), 422, ["body", "body"])
    assert_problem(
        await client.post(url, headers=h, json={"body": "x", "pinned": True}), 422, ["body", "pinned"]
    )
    assert_problem(await client.post(url, headers=h, json={"body": "x", "internal": "vielleicht"}), 422)
    assert (await client.get(url, headers=h)).json()["items"] == []


# Listing: filters, search, pagination, query count


async def test_filters_narrow_the_list(client, world, database, ctx):
    colleague = await new_employee(database, ctx, [world.tenant_a])
    async with database.sessionmaker.begin() as s:
        other_type = await make_ticket_type(s, tenant=world.tenant_a)
    t1 = await new_ticket(
        client, world.employee_a, world.site_a1, world.type_a, assignee_id=str(colleague.id)
    )
    t2 = await new_ticket(client, world.employee_a, world.site_a2, other_type, status="in_progress")
    t3 = await new_ticket(client, world.employee_a, world.site_a1, other_type, status="closed")
    await new_ticket(client, world.employee_b, world.site_b1, world.type_b)
    a = world.employee_a

    assert await list_ids(client, a) == [t3["id"], t2["id"], t1["id"]]  # newest first
    assert await list_ids(client, a, site_id=str(world.site_a2.id)) == [t2["id"]]
    assert await list_ids(client, a, status="closed") == [t3["id"]]
    assert await list_ids(client, a, status="open") == [t1["id"]]
    assert await list_ids(client, a, ticket_type_id=str(other_type.id)) == [t3["id"], t2["id"]]
    assert await list_ids(client, a, assignee_id=str(colleague.id)) == [t1["id"]]
    assert await list_ids(client, a, created_from=t2["created_at"]) == [t3["id"], t2["id"]]
    assert await list_ids(client, a, created_to=t2["created_at"]) == [t2["id"], t1["id"]]
    assert await list_ids(client, a, created_from=t2["created_at"], created_to=t2["created_at"]) == [t2["id"]]
    assert await list_ids(client, a, site_id=str(world.site_a1.id), status="open") == [t1["id"]]
    # Tenant B's ticket stays out whatever the filter.
    assert await list_ids(client, a, site_id=str(world.site_b1.id)) == []
    assert await list_ids(client, a, ticket_type_id=str(world.type_b.id)) == []


async def test_created_filters_are_rfc3339_instants_with_their_offset(client, world, database):
    t = await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    async with database.sessionmaker.begin() as s:
        await s.execute(
            update(Ticket)
            .where(Ticket.id == uuid.UUID(t["id"]))
            .values(created_at=dt.datetime(2026, 3, 1, 8, 0, 0, tzinfo=dt.UTC))
        )
    a = world.employee_a
    assert await list_ids(client, a, created_from="2026-03-01T08:00:00Z") == [t["id"]]
    assert await list_ids(client, a, created_from="2026-03-01T08:00:01Z") == []
    assert await list_ids(client, a, created_from="2026-03-01T09:00:00+01:00") == [t["id"]]
    assert await list_ids(client, a, created_to="2026-03-01T07:59:59+00:00") == []
    assert await list_ids(client, a, created_to="2026-03-01t08:00:00z") == [t["id"]]
    # Without an offset the instant is ambiguous: refused, not guessed.
    r = await client.get(f"{API}/tickets", headers=a.headers, params={"created_from": "2026-03-01T08:00:00"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["query", "created_from"]


async def test_full_text_search_over_title_description_and_comments_in_german(client, world):
    h = world.employee_a.headers
    window = await new_ticket(
        client, world.employee_a, world.site_a1, world.type_a, title="Fenster verschmutzt"
    )
    stairs = await new_ticket(
        client,
        world.employee_a,
        world.site_a2,
        world.type_a,
        title="Reinigung",
        description="Treppe rutschig",
    )
    other = await new_ticket(
        client, world.employee_a, world.site_a1, world.type_a, title="Schlüssel verloren"
    )
    await client.post(f"{API}/tickets/{other['id']}/comments", headers=h, json={"body": "Heizung tropft"})
    await new_ticket(client, world.employee_b, world.site_b1, world.type_b, title="Fenster kaputt")

    # German stemming: the plural finds the singular.
    assert await list_ids(client, world.employee_a, q="Fenstern") == [window["id"]]
    assert await list_ids(client, world.employee_a, q="fenster") == [window["id"]]
    assert await list_ids(client, world.employee_a, q="Treppe") == [stairs["id"]]
    assert await list_ids(client, world.employee_a, q="Heizung") == [other["id"]]
    assert await list_ids(client, world.employee_a, q="Aufzug") == []
    # A word found only in a later comment, and gone once that comment is edited away.
    c = (
        await client.post(f"{API}/tickets/{stairs['id']}/comments", headers=h, json={"body": "Aufzug defekt"})
    ).json()
    assert await list_ids(client, world.employee_a, q="Aufzug") == [stairs["id"]]
    await client.patch(f"{API}/tickets/{stairs['id']}/comments/{c['id']}", headers=h, json={"body": "ok"})
    assert await list_ids(client, world.employee_a, q="Aufzug") == []
    # A changed title is searchable at once.
    await client.patch(f"{API}/tickets/{other['id']}", headers=h, json={"title": "Dachrinne verstopft"})
    assert await list_ids(client, world.employee_a, q="Dachrinne") == [other["id"]]
    assert await list_ids(client, world.employee_a, q="Schlüssel") == []
    # Search combines with the other filters.
    assert await list_ids(client, world.employee_a, q="Fenster", site_id=str(world.site_a2.id)) == []


async def test_cursor_pagination_yields_every_ticket_once_while_tickets_are_added(client, world):
    originals = [
        (await new_ticket(client, world.employee_a, world.site_a1, world.type_a, title=f"Original {i}"))["id"]
        for i in range(7)
    ]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        r = await client.get(f"{API}/tickets", headers=world.employee_a.headers, params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= 2
        seen += [t["id"] for t in page["items"]]
        pages += 1
        # Someone creates a ticket while we are paging.
        await new_ticket(client, world.employee_a, world.site_a1, world.type_a, title=f"Neu {pages}")
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 20
    assert len(seen) == len(set(seen)), "a ticket came twice"
    assert sorted(t for t in seen if t in originals) == sorted(originals)
    assert [t for t in seen if t in originals] == list(reversed(originals))


async def test_list_items_are_byte_for_byte_what_the_ticket_itself_serialises(client, world, database):
    """PostgreSQL writes the list's JSON; it must be exactly what `TicketRead` gives for GET /tickets/{id}."""
    a = world.employee_a
    plain = await new_ticket(client, a, world.site_a1, world.type_a, title="Fenster")
    odd = await new_ticket(
        client,
        a,
        world.site_a1,
        world.type_a,
        title='Tür "Süd" \\ Nord / 🚿 \u0001 \u2028 ende',
        description="Zeile 1\nZeile 2\tmit Tab\r\n<b>kein HTML</b>",
        due_date="2026-12-24",
        assignee_id=str(a.id),
        status="closed",
    )
    # Whole seconds: pydantic then writes no fraction; microseconds otherwise, all six digits.
    async with database.sessionmaker.begin() as s:
        await s.execute(
            update(Ticket)
            .where(Ticket.id == uuid.UUID(plain["id"]))
            .values(
                created_at=dt.datetime(2026, 3, 1, 8, 0, 0, tzinfo=dt.UTC),
                updated_at=dt.datetime(2026, 3, 1, 8, 0, 0, 120000, tzinfo=dt.UTC),
            )
        )

    r = await client.get(f"{API}/tickets", headers=a.headers)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.content == Page[TicketRead].model_validate_json(r.content).model_dump_json().encode()
    items = {t["id"]: t for t in r.json()["items"]}
    for ticket in (plain, odd):
        single = await client.get(f"{API}/tickets/{ticket['id']}", headers=a.headers)
        assert items[ticket["id"]] == single.json()
        # The same text, not only the same values.
        assert json.dumps(single.json(), separators=(",", ":"), ensure_ascii=False) in r.text
    assert items[plain["id"]]["created_at"] == "2026-03-01T08:00:00Z"
    assert items[plain["id"]]["updated_at"] == "2026-03-01T08:00:00.120000Z"
    assert items[odd["id"]]["title"].endswith("\u0001 \u2028 ende")
    assert items[odd["id"]]["created_by"]["kind"] == "employee" and items[odd["id"]]["created_by"][
        "id"
    ] == str(a.id)

    # The customer's list is written the same way.
    settings = {"enabled_ticket_type_ids": [str(world.type_a.id)], "document_sources": []}
    r = await client.put(
        f"{API}/customers/{world.customer_x.id}/ticket-settings", headers=world.admin.headers, json=settings
    )
    assert r.status_code == 200, r.text
    r = await client.get(f"{API}/tickets", headers=world.customer_user_x.headers)
    assert r.status_code == 200
    assert {t["id"] for t in r.json()["items"]} == {plain["id"], odd["id"]}
    assert r.content == Page[TicketRead].model_validate_json(r.content).model_dump_json().encode()


async def test_listing_costs_the_same_number_of_queries_for_5_and_50_tickets(client, world, database, ctx):
    colleague = await new_employee(database, ctx, [world.tenant_a], name="Chris Colleague")
    creators = [world.employee_a, world.admin, colleague, world.customer_user_x]
    numbers = iter(range(1, 1000))

    # Rows written directly: the listing is under test here, not the creation (tested above).
    async def add(n: int) -> None:
        async with database.sessionmaker.begin() as s:
            for i in range(n):
                ticket = Ticket(
                    tenant_id=world.tenant_a.id,
                    site_id=world.site_a1.id,
                    ticket_type_id=world.type_a.id,
                    number=f"AAA-{next(numbers):06d}",
                    title=f"Ticket {i}",
                    created_by_id=creators[i % len(creators)].id,
                )
                s.add(ticket)
                await s.flush()
                s.add(TicketComment(ticket_id=ticket.id, author_id=creators[(i + 1) % 4].id, body="k"))

    statements: list[str] = []

    async def listing_queries() -> tuple[int, list[dict]]:
        async with statements_sent(database) as sent:
            r = await client.get(f"{API}/tickets", headers=world.employee_a.headers, params={"limit": 200})
        assert r.status_code == 200, r.text
        statements[:] = sent
        return len(sent), r.json()["items"]

    await add(5)
    few, items = await listing_queries()
    assert len(items) == 5
    await add(45)
    many, items = await listing_queries()
    assert len(items) == 50
    # Every creator is filled in, whichever kind of account it is.
    assert {t["created_by"]["kind"] for t in items} == {"employee", "customer_user"}
    assert {t["created_by"]["id"] for t in items} == {str(c.id) for c in creators}
    assert all(t["created_by"]["name"] for t in items)
    assert few == many, (few, many)
    # Who is asking, and the page with its creators: nothing per ticket.
    assert 2 <= many <= 4, statements


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", "", {"status": "closed"}),
        ("PATCH", "", {"priority": "low"}),
        ("PATCH", "", {"assignee_id": None}),
        ("POST", "/comments", {"body": "Hallo", "internal": True}),
    ],
)
async def test_a_field_a_customer_user_may_never_send_is_404_on_a_ticket_it_does_not_see(
    client, world, portal, method, path, body
):
    ticket = await new_ticket(client, world.customer_user_x, world.site_a1, world.type_a)
    url = f"{API}/tickets/{ticket['id']}{path}"
    # Customer Y's user: the ticket is outside its scope, whatever the body holds; a ticket that does
    # not exist answers the same.
    outsider = await client.request(method, url, headers=world.customer_user_y.headers, json=body)
    missing = await client.request(
        method, f"{API}/tickets/{uuid.uuid4()}{path}", headers=world.customer_user_y.headers, json=body
    )
    assert_problem(outsider, 404)
    assert_problem(missing, 404)
    assert outsider.json()["detail"] == missing.json()["detail"]
    # Its own customer's user sees it, and is refused the field.
    assert_problem(await client.request(method, url, headers=world.customer_user_x.headers, json=body), 403)
    after = await client.get(f"{API}/tickets/{ticket['id']}", headers=world.employee_a.headers)
    assert after.headers["etag"] == '"1"'


async def test_creating_on_a_site_out_of_scope_is_404_even_with_a_field_customers_may_not_set(
    client, world, portal
):
    body = {"site_id": str(world.site_a1.id), "ticket_type_id": str(world.type_a.id), "title": "X"}
    r = await client.post(
        f"{API}/tickets", headers=world.customer_user_y.headers, json={**body, "status": "open"}
    )
    assert_problem(r, 404)
    r = await client.post(
        f"{API}/tickets", headers=world.customer_user_x.headers, json={**body, "status": "open"}
    )
    assert_problem(r, 403)
