"""Satisfaction ratings: the customer user who reported a ticket rates it once, after it was closed."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from blink_api.app import create_app
from blink_api.bootstrap import DEMO_LOGINS
from blink_api.kit.pagination import Page
from blink_api.tickets.schemas import TicketRead
from tests.conftest import make_settings
from tests.factories import World
from tests.kit import API, assert_problem, new_ticket, statements_sent
from tests.test_api_tokens import make_token
from tests.test_portal_customer_user import (
    closed_ticket,
    days,
    evaluation_settings,
    other_customer_user_x,
    site_evaluation,
)

UTC = dt.UTC


async def reported(client, world: World, *, close: bool = True) -> dict[str, Any]:
    """A ticket customer user X reported on site A1, closed by employee A unless `close` is false."""
    ticket = await new_ticket(client, world.customer_user_x, world.site_a1, world.type_a, "Tür klemmt")
    if close:
        await set_status(client, world, ticket["id"], "closed")
    return ticket


async def set_status(client, world: World, ticket_id: str, status: str) -> dict[str, Any]:
    r = await client.patch(
        f"{API}/tickets/{ticket_id}", headers=world.employee_a.headers, json={"status": status}
    )
    assert r.status_code == 200, r.text
    return r.json()


def rate(client, headers: dict[str, str], ticket_id: str, body: Any):
    return client.post(f"{API}/tickets/{ticket_id}/rating", headers=headers, json=body)


async def stored_ratings(database) -> int:
    async with database.engine.connect() as conn:
        return (await conn.execute(text("SELECT count(*) FROM ticket_ratings"))).scalar_one()


async def history(client, headers: dict[str, str], ticket_id: str) -> list[dict[str, Any]]:
    r = await client.get(f"{API}/tickets/{ticket_id}/history", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


# -- rating -------------------------------------------------------------------------------------------


async def test_the_reporter_rates_a_closed_ticket_and_everyone_who_sees_it_sees_the_rating(
    client, world, portal, session, ctx
):
    ticket = await reported(client, world)
    cux = world.customer_user_x.headers
    before = await client.get(f"{API}/tickets/{ticket['id']}", headers=cux)
    assert before.json()["rating"] is None
    # Unrated in the list too: null, not an object of nulls.
    listed = await client.get(f"{API}/tickets", headers=cux)
    assert [t["rating"] for t in listed.json()["items"]] == [None]

    comment = "Schnell erledigt,\nnur die Fensterbank wurde vergessen.\tDanke!"
    r = await rate(client, cux, ticket["id"], {"score": 4, "comment": f"  {comment}  "})
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"{API}/tickets/{ticket['id']}"
    rated = r.json()
    assert rated["id"] == ticket["id"]
    assert rated["status"] == "closed"
    assert rated["rating"]["score"] == 4
    assert rated["rating"]["comment"] == comment  # white space around it dropped
    assert dt.datetime.fromisoformat(rated["rating"]["created_at"]) >= dt.datetime.fromisoformat(
        rated["closed_at"]
    )
    # The ticket as read changed: a new version, so a cached copy is not answered 304.
    assert r.headers["etag"] != before.headers["etag"]
    assert rated["updated_at"] > before.json()["updated_at"]
    again = await client.get(
        f"{API}/tickets/{ticket['id']}", headers={**cux, "If-None-Match": before.headers["etag"]}
    )
    assert again.status_code == 200
    assert again.headers["etag"] == r.headers["etag"]
    assert again.json() == rated

    # The employee, a colleague on the same site, and the list (written by PostgreSQL) show it too.
    colleague = await other_customer_user_x(session, ctx, world, [world.site_a1])
    for headers in (world.employee_a.headers, colleague.headers):
        assert (await client.get(f"{API}/tickets/{ticket['id']}", headers=headers)).json()["rating"] == (
            rated["rating"]
        )
        r = await client.get(f"{API}/tickets", headers=headers)
        assert r.status_code == 200, r.text
        [item] = r.json()["items"]
        assert item["rating"] == rated["rating"]
        assert r.content == Page[TicketRead].model_validate_json(r.content).model_dump_json().encode()


async def test_the_history_records_the_rating_for_employees_and_customer_users(client, world, portal):
    ticket = await reported(client, world)
    cux = world.customer_user_x.headers
    r = await rate(client, cux, ticket["id"], {"score": 2, "comment": "Streifen auf dem Glas."})
    assert r.status_code == 201, r.text
    for headers in (cux, world.employee_a.headers):
        entry = (await history(client, headers, ticket["id"]))[0]  # newest first
        assert entry["event"] == "rated"
        assert entry["field"] == "rating"
        assert entry["new_value"] == {"score": 2, "comment": "Streifen auf dem Glas."}
        assert entry["actor"]["id"] == str(world.customer_user_x.id)


async def test_a_rating_without_comment_has_a_null_comment(client, world, portal):
    ticket = await reported(client, world)
    cux = world.customer_user_x.headers
    r = await rate(client, cux, ticket["id"], {"score": 5, "comment": "   "})
    assert r.status_code == 201, r.text
    assert r.json()["rating"]["comment"] is None
    other = await reported(client, world)
    r = await rate(client, cux, other["id"], {"score": 1})
    assert r.status_code == 201, r.text
    assert r.json()["rating"] == {**r.json()["rating"], "score": 1, "comment": None}


async def test_rating_twice_is_a_conflict_and_the_first_rating_stays(client, world, portal, database):
    ticket = await reported(client, world)
    cux = world.customer_user_x.headers
    assert (await rate(client, cux, ticket["id"], {"score": 5, "comment": "Super"})).status_code == 201
    body = assert_problem(await rate(client, cux, ticket["id"], {"score": 1, "comment": "Doch nicht"}), 409)
    assert "already" in body["detail"]
    r = await client.get(f"{API}/tickets/{ticket['id']}", headers=cux)
    assert r.json()["rating"]["score"] == 5 and r.json()["rating"]["comment"] == "Super"
    assert await stored_ratings(database) == 1


async def test_two_ratings_at_once_store_one_and_answer_409_to_the_other(client, world, portal, database):
    ticket = await reported(client, world)
    cux = world.customer_user_x.headers
    answers = await asyncio.gather(*(rate(client, cux, ticket["id"], {"score": score}) for score in (2, 5)))
    assert sorted(r.status_code for r in answers) == [201, 409], [r.text for r in answers]
    conflict = next(r for r in answers if r.status_code == 409)
    assert_problem(conflict, 409)
    winner = next(r for r in answers if r.status_code == 201).json()["rating"]["score"]
    assert await stored_ratings(database) == 1
    r = await client.get(f"{API}/tickets/{ticket['id']}", headers=cux)
    assert r.json()["rating"]["score"] == winner
    assert [e["event"] for e in await history(client, cux, ticket["id"])].count("rated") == 1


async def test_a_ticket_that_is_not_closed_cannot_be_rated(client, world, portal, database):
    ticket = await reported(client, world, close=False)
    cux = world.customer_user_x.headers
    body = assert_problem(await rate(client, cux, ticket["id"], {"score": 3}), 409)
    assert "closed" in body["detail"]
    await set_status(client, world, ticket["id"], "in_progress")
    assert_problem(await rate(client, cux, ticket["id"], {"score": 3}), 409)
    assert await stored_ratings(database) == 0


async def test_reopening_keeps_the_rating_and_it_cannot_be_given_again(client, world, portal):
    ticket = await reported(client, world)
    cux = world.customer_user_x.headers
    rated = (await rate(client, cux, ticket["id"], {"score": 2, "comment": "Nicht sauber"})).json()
    reopened = await set_status(client, world, ticket["id"], "open")
    assert reopened["closed_at"] is None
    assert reopened["rating"] == rated["rating"]
    await set_status(client, world, ticket["id"], "closed")
    assert_problem(await rate(client, cux, ticket["id"], {"score": 5}), 409)


async def test_only_the_reporting_customer_user_may_rate(client, world, portal, session, ctx, database):
    ticket = await reported(client, world)
    colleague = await other_customer_user_x(session, ctx, world, [world.site_a1])
    # Another customer user who sees the ticket, its employee, an administrator: 403.
    for headers in (colleague.headers, world.employee_a.headers, world.admin.headers):
        body = assert_problem(await rate(client, headers, ticket["id"], {"score": 5}), 403)
        assert "reported" in body["detail"]
    # An employee's own ticket is not the employee's to rate either.
    own = await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    await set_status(client, world, own["id"], "closed")
    assert_problem(await rate(client, world.employee_a.headers, own["id"], {"score": 5}), 403)
    # Whoever does not see the ticket: 404, as if it did not exist.
    elsewhere = await other_customer_user_x(session, ctx, world, [world.site_a2])
    for headers in (
        world.customer_user_y.headers,
        world.customer_user_x2.headers,
        elsewhere.headers,
        world.employee_b.headers,
    ):
        assert_problem(await rate(client, headers, ticket["id"], {"score": 5}), 404)
    assert_problem(
        await rate(
            client, world.customer_user_x.headers, "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f", {"score": 5}
        ),
        404,
    )
    assert await stored_ratings(database) == 0


async def test_the_reporter_who_lost_the_site_cannot_rate(client, world, portal, database):
    ticket = await reported(client, world)
    r = await client.put(
        f"{API}/customer-users/{world.customer_user_x.id}/sites",
        headers=world.admin.headers,
        json={"site_ids": [str(world.site_a2.id)]},
    )
    assert r.status_code == 200, r.text
    assert_problem(await rate(client, world.customer_user_x.headers, ticket["id"], {"score": 5}), 404)
    assert await stored_ratings(database) == 0


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"score": 0}, ["body", "score"]),
        ({"score": 6}, ["body", "score"]),
        ({"score": -1}, ["body", "score"]),
        ({"score": 2.5}, ["body", "score"]),
        ({"score": 4.0}, ["body", "score"]),
        ({"score": "5"}, ["body", "score"]),
        ({"score": True}, ["body", "score"]),
        ({"score": None}, ["body", "score"]),
        ({}, ["body", "score"]),
        ({"score": 4, "comment": "x" * 2001}, ["body", "comment"]),
        ({"score": 4, "comment": "Gut\x1b[31m gemacht"}, ["body", "comment"]),
        ({"score": 4, "comment": "Gut\x07"}, ["body", "comment"]),
        ({"score": 4, "comment": "Gut\x00"}, ["body", "comment"]),
        ({"score": 4, "comment": 5}, ["body", "comment"]),
        ({"score": 4, "stars": 5}, ["body", "stars"]),
    ],
)
async def test_invalid_ratings_are_refused_and_nothing_is_stored(client, world, portal, database, body, loc):
    ticket = await reported(client, world)
    assert_problem(await rate(client, world.customer_user_x.headers, ticket["id"], body), 422, loc)
    assert await stored_ratings(database) == 0
    r = await client.get(f"{API}/tickets/{ticket['id']}", headers=world.customer_user_x.headers)
    assert r.json()["rating"] is None


async def test_a_comment_of_exactly_2000_characters_is_kept(client, world, portal):
    ticket = await reported(client, world)
    comment = "ä" * 2000
    r = await rate(client, world.customer_user_x.headers, ticket["id"], {"score": 3, "comment": comment})
    assert r.status_code == 201, r.text
    assert r.json()["rating"]["comment"] == comment


async def test_a_token_needs_tickets_write_to_rate(client, world, portal, database):
    ticket = await reported(client, world)
    _, read_only = await make_token(client, world.customer_user_x, ["tickets:read"])
    body = assert_problem(await rate(client, read_only, ticket["id"], {"score": 5}), 403)
    assert "tickets:write" in body["detail"]
    assert await stored_ratings(database) == 0
    _, writer = await make_token(client, world.customer_user_x, ["tickets:read", "tickets:write"])
    assert (await rate(client, writer, ticket["id"], {"score": 5})).status_code == 201


async def test_a_rating_is_sent_to_webhooks_as_ticket_updated(client, world, portal, database):
    r = await client.post(
        f"{API}/webhooks",
        headers=world.admin.headers,
        json={"url": "https://93.184.216.34/hook", "events": ["ticket.updated"]},
    )
    assert r.status_code == 201, r.text
    ticket = await reported(client, world)
    async with database.engine.connect() as conn:
        before = (await conn.execute(text("SELECT count(*) FROM webhook_deliveries"))).scalar_one()
    r = await rate(client, world.customer_user_x.headers, ticket["id"], {"score": 3, "comment": "Geht so"})
    assert r.status_code == 201, r.text
    async with database.engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT type, payload FROM webhook_deliveries ORDER BY created_at, id OFFSET :n"),
                {"n": before},
            )
        ).all()
    assert [row.type for row in rows] == ["ticket.updated"]
    payload = rows[0].payload
    data = (json.loads(payload) if isinstance(payload, str) else payload)["data"]
    assert data["id"] == ticket["id"]
    assert data["rating"]["score"] == 3 and data["rating"]["comment"] == "Geht so"


async def test_listing_rated_tickets_costs_no_statement_per_ticket(client, world, portal, database):
    cux = world.customer_user_x.headers

    async def listing() -> int:
        async with statements_sent(database) as sent:
            r = await client.get(f"{API}/tickets", headers=cux, params={"limit": 200})
        assert r.status_code == 200, r.text
        return len(sent)

    for _ in range(2):
        ticket = await reported(client, world)
        assert (await rate(client, cux, ticket["id"], {"score": 4})).status_code == 201
    few = await listing()
    for _ in range(6):
        ticket = await reported(client, world)
        assert (await rate(client, cux, ticket["id"], {"score": 4})).status_code == 201
    assert await listing() == few


# -- the evaluation -----------------------------------------------------------------------------------


async def rated_closed_ticket(
    client, database, world: World, score: int | None, closed_at: dt.datetime, site: Any = None
) -> str:
    """A ticket closed at `closed_at` (set in the database), rated `score` by its reporter unless None."""
    ticket_id = await closed_ticket(
        client, database, world, resolution=days(1), closed_at=closed_at, site=site
    )
    if score is not None:
        async with database.engine.begin() as conn:
            await conn.execute(
                text("INSERT INTO ticket_ratings (ticket_id, score) VALUES (:id, :score)"),
                {"id": ticket_id, "score": score},
            )
    return ticket_id


async def test_the_evaluation_reports_satisfaction_over_the_rated_tickets_in_its_range(
    client, world, portal, database, session, ctx
):
    await evaluation_settings(client, world, True, 7)
    march = dt.datetime(2025, 3, 10, 12, tzinfo=UTC)
    for score in (5, 4, 4, None):
        await rated_closed_ticket(client, database, world, score, march)
    # Outside the range, on another site of the customer, on another customer's site.
    await rated_closed_ticket(client, database, world, 1, dt.datetime(2025, 4, 2, tzinfo=UTC))
    await rated_closed_ticket(client, database, world, 1, march, site=world.site_a2)
    other = await new_ticket(client, world.employee_b, world.site_b1, world.type_b)
    async with database.engine.begin() as conn:
        await conn.execute(
            text("UPDATE tickets SET status = 'closed', closed_at = :z WHERE id = :id"),
            {"z": march, "id": other["id"]},
        )
        await conn.execute(
            text("INSERT INTO ticket_ratings (ticket_id, score) VALUES (:id, 1)"), {"id": other["id"]}
        )

    in_march = {"closed_from": "2025-03-01", "closed_to": "2025-03-31"}
    result = await site_evaluation(client, world, **in_march)
    assert result["total"] == 4
    # (5 + 4 + 4) / 3 = 4.333…, to 2 decimals.
    assert result["satisfaction"] == {"count": 3, "average": 4.33}
    everything = await site_evaluation(client, world)
    assert everything["satisfaction"] == {"count": 4, "average": 3.5}

    # Over every site of customer X the caller sees: site A2 counts for a user who sees it.
    both = await other_customer_user_x(session, ctx, world, [world.site_a1, world.site_a2])
    r = await client.get(f"{API}/ticket-evaluation", headers=both.headers, params=in_march)
    assert r.status_code == 200, r.text
    assert r.json()["satisfaction"] == {"count": 4, "average": 3.5}
    r = await client.get(
        f"{API}/ticket-evaluation",
        headers=world.employee_a.headers,
        params={**in_march, "customer_id": str(world.customer_x.id)},
    )
    assert r.json()["satisfaction"] == {"count": 4, "average": 3.5}
    # Customer Y's rated ticket, closed in March too, is in none of customer X's numbers (4, not 5).


async def test_without_ratings_the_average_is_null_and_csv_keeps_its_bucket_rows(
    client, world, portal, database
):
    await evaluation_settings(client, world, True, 7)
    await rated_closed_ticket(client, database, world, None, dt.datetime(2025, 3, 10, tzinfo=UTC))
    result = await site_evaluation(client, world)
    assert result["total"] == 1
    assert result["satisfaction"] == {"count": 0, "average": None}
    r = await client.get(
        f"{API}/sites/{world.site_a1.id}/ticket-evaluation",
        headers={**world.customer_user_x.headers, "Accept": "text/csv"},
    )
    assert r.status_code == 200, r.text
    lines = r.content.decode("utf-8-sig").splitlines()
    assert lines == ["from_days,to_days,count", "0,6,1"]


async def test_a_reopened_rated_ticket_leaves_the_satisfaction_until_closed_again(client, world, portal):
    await evaluation_settings(client, world, True, 7)
    ticket = await reported(client, world)
    assert (await rate(client, world.customer_user_x.headers, ticket["id"], {"score": 2})).status_code == 201
    assert (await site_evaluation(client, world))["satisfaction"] == {"count": 1, "average": 2.0}
    await set_status(client, world, ticket["id"], "open")
    assert (await site_evaluation(client, world))["satisfaction"] == {"count": 0, "average": None}
    await set_status(client, world, ticket["id"], "closed")
    assert (await site_evaluation(client, world))["satisfaction"] == {"count": 1, "average": 2.0}


# -- demo data ----------------------------------------------------------------------------------------


async def test_the_demo_shows_a_closed_rated_ticket_and_its_satisfaction(tmp_path, database_url, database):
    app = create_app(make_settings(tmp_path, database_url, demo_data=True), database)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            customer = DEMO_LOGINS[2]
            r = await c.post(
                f"{API}/auth/token", data={"username": customer.email, "password": customer.password}
            )
            assert r.status_code == 200, r.text
            headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
            r = await c.get(f"{API}/tickets", headers=headers)
            assert r.status_code == 200, r.text
            rated = [t for t in r.json()["items"] if t["rating"] is not None]
            assert len(rated) == 1 and rated[0]["status"] == "closed"
            assert rated[0]["created_by"]["name"] == "Karl Kunde"
            r = await c.get(f"{API}/ticket-evaluation", headers=headers)
            assert r.status_code == 200, r.text
            assert r.json()["satisfaction"] == {"count": 1, "average": rated[0]["rating"]["score"]}
