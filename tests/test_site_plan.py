"""A site's plan: each date of its schedules and how it went, for its employees and its customer."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import text

from blink_api.schedules.worker import run_once
from tests.factories import make_ticket_type
from tests.kit import API, assert_problem
from tests.test_schedules import at_noon, berlin_today, body, create


async def close(client, world, ticket_id: str) -> None:
    r = await client.patch(
        f"{API}/tickets/{ticket_id}", headers=world.employee_a.headers, json={"status": "closed"}
    )
    assert r.status_code == 200, r.text


async def test_each_date_says_planned_open_done_or_missed(client, world, portal, database, ctx):
    today = berlin_today()
    day = {n: today + dt.timedelta(days=n) for n in range(-5, 4)}
    schedule = await create(
        client, world.admin, body(world, rrule="FREQ=DAILY", starts_on=str(day[-5]), lead_days=1)
    )
    async with database.sessionmaker.begin() as s:
        # Planned three days ago: the worker catches up from then.
        await s.execute(
            text("UPDATE schedules SET catch_up_from = :d WHERE id = :id"),
            {"d": day[-3], "id": schedule["id"]},
        )
    assert await run_once(database, ctx.settings, now=at_noon(today)) == 5  # -3 .. +1
    occurrences = await client.get(
        f"{API}/schedules/{schedule['id']}/occurrences",
        headers=world.admin.headers,
        params={"from": str(day[-5]), "to": str(day[3])},
    )
    ticket = {dt.date.fromisoformat(o["date"]): o["ticket_id"] for o in occurrences.json()["items"]}
    assert [d for d, t in sorted(ticket.items()) if t] == [day[n] for n in range(-3, 2)]

    await close(client, world, ticket[day[-3]])
    async with database.sessionmaker.begin() as s:
        # Closed on its date (the afternoon of three days ago, in Berlin).
        closed_at = dt.datetime.combine(day[-3], dt.time(15), tzinfo=at_noon(today).tzinfo)
        await s.execute(
            text("UPDATE tickets SET closed_at = :at WHERE id = :id"),
            {"at": closed_at, "id": ticket[day[-3]]},
        )
    await close(client, world, ticket[day[-1]])  # closed today: too late for yesterday
    await close(client, world, ticket[day[1]])  # closed today: ahead of tomorrow

    expected = [
        (day[-3], ticket[day[-3]], "done"),
        (day[-2], ticket[day[-2]], "missed"),
        (day[-1], ticket[day[-1]], "missed"),
        (day[0], ticket[day[0]], "open"),
        (day[1], ticket[day[1]], "done"),
        (day[2], None, "planned"),
        (day[3], None, "planned"),
    ]
    params = {"from": str(day[-5]), "to": str(day[3])}
    for actor in (world.employee_a, world.customer_user_x, world.admin):
        r = await client.get(f"{API}/sites/{world.site_a1.id}/plan", headers=actor.headers, params=params)
        assert r.status_code == 200, r.text
        # Dates before the schedule was planned are no part of the plan.
        assert [
            (dt.date.fromisoformat(i["date"]), i["ticket_id"], i["status"]) for i in r.json()["items"]
        ] == expected
        assert {i["schedule_name"] for i in r.json()["items"]} == {"Objektbegehung wöchentlich"}


async def test_a_date_without_a_ticket_that_passed_is_missed(client, world, database):
    today = berlin_today()
    schedule = await create(client, world.admin, body(world, rrule="FREQ=DAILY", starts_on=str(today)))
    async with database.sessionmaker.begin() as s:
        await s.execute(
            text("UPDATE schedules SET catch_up_from = :d WHERE id = :id"),
            {"d": today - dt.timedelta(days=1), "id": schedule["id"]},
        )
    # No worker ran: yesterday's ticket was never raised.
    r = await client.get(
        f"{API}/sites/{world.site_a1.id}/plan",
        headers=world.employee_a.headers,
        params={"from": str(today - dt.timedelta(days=1)), "to": str(today - dt.timedelta(days=1))},
    )
    # Before `starts_on` nothing is planned at all, so move the start back as well.
    assert r.json()["items"] == []
    await client.patch(
        f"{API}/schedules/{schedule['id']}",
        headers=world.admin.headers,
        json={"starts_on": str(today - dt.timedelta(days=10))},
    )
    r = await client.get(
        f"{API}/sites/{world.site_a1.id}/plan",
        headers=world.employee_a.headers,
        params={"from": str(today - dt.timedelta(days=1)), "to": str(today)},
    )
    assert [(i["status"], i["ticket_id"]) for i in r.json()["items"]] == [("missed", None), ("planned", None)]


async def test_customer_users_see_only_schedules_of_types_enabled_for_them(client, world, portal, ctx):
    async with ctx.database.sessionmaker.begin() as s:
        internal = await make_ticket_type(s, tenant=world.tenant_a, name="Interne Kontrolle")
    await create(client, world.admin, body(world, name="Begehung"))
    await create(client, world.admin, body(world, name="Interne Kontrolle", ticket_type_id=str(internal.id)))
    # Another site's schedule is not in this site's plan.
    await create(client, world.admin, body(world, name="Altona", site_ids=[str(world.site_a2.id)]))
    url = f"{API}/sites/{world.site_a1.id}/plan"
    names = {
        i["schedule_name"] for i in (await client.get(url, headers=world.employee_a.headers)).json()["items"]
    }
    assert names == {"Begehung", "Interne Kontrolle"}
    r = await client.get(url, headers=world.customer_user_x.headers)
    assert r.status_code == 200
    assert {i["schedule_name"] for i in r.json()["items"]} == {"Begehung"}


async def test_nobody_else_sees_a_sites_plan(client, world, portal):
    await create(client, world.admin, body(world, name="Begehung"))
    url = f"{API}/sites/{world.site_a1.id}/plan"
    # The customer's user without this site, another customer's user, another tenant's employee.
    for actor in (world.customer_user_x2, world.customer_user_y, world.employee_b):
        assert_problem(await client.get(url, headers=actor.headers), 404)
    assert_problem(await client.get(f"{API}/sites/{uuid.uuid4()}/plan", headers=world.admin.headers), 404)
    assert_problem(await client.get(url), 401)


async def test_the_plans_range_is_capped_and_checked(client, world):
    url = f"{API}/sites/{world.site_a1.id}/plan"
    for params, loc in [
        ({"from": "2026-01-01", "to": "2027-01-02"}, ["query", "to"]),
        ({"from": "2026-03-01", "to": "2026-02-28"}, ["query", "to"]),
        ({"from": "2200-01-01"}, ["query", "from"]),
        ({"to": "morgen"}, ["query", "to"]),
    ]:
        assert_problem(await client.get(url, headers=world.admin.headers, params=params), 422, loc)
    ok = await client.get(url, headers=world.admin.headers, params={"from": "2026-01-01", "to": "2027-01-01"})
    assert ok.status_code == 200 and ok.json() == {"items": []}
