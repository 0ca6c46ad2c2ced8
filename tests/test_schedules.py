"""Schedules: who plans recurring work, what a schedule may say, its dates, and the worker raising
each date's ticket on each site exactly once."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import uuid
import zoneinfo
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import text

from blink_api.schedules import repository as schedules_repo
from blink_api.schedules.worker import run_once
from tests.factories import make_employee, make_ticket_type
from tests.forms_helpers import published, template_body
from tests.kit import API, assert_problem

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
MANAGE = "schedules:manage"


def berlin_today() -> dt.date:
    return dt.datetime.now(dt.UTC).astimezone(BERLIN).date()


def at_noon(day: dt.date) -> dt.datetime:
    """Noon in Berlin on `day`, as the worker's clock."""
    return dt.datetime(day.year, day.month, day.day, 12, tzinfo=BERLIN)


def body(world, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "tenant_id": str(world.tenant_a.id),
        "name": "Objektbegehung wöchentlich",
        "site_ids": [str(world.site_a1.id)],
        "ticket_type_id": str(world.type_a.id),
        "title": "Objektbegehung",
        "description": "Rundgang mit Checkliste",
        "rrule": "FREQ=WEEKLY;BYDAY=MO",
        "timezone": "Europe/Berlin",
        "starts_on": "2026-01-05",
        "lead_days": 0,
        "active": True,
    }
    values.update(overrides)
    return values


async def create(client, actor, payload) -> dict[str, Any]:
    r = await client.post(f"{API}/schedules", headers=actor.headers, json=payload)
    assert r.status_code == 201, r.text
    return r.json()


async def planner(ctx, world, tenants=None):
    """An employee of tenant A (or `tenants`) holding `schedules:manage`."""
    async with ctx.database.sessionmaker.begin() as s:
        return await make_employee(
            s, ctx, tenants=tenants or [world.tenant_a], permissions=[MANAGE], name="Paula Plan"
        )


async def scheduled_tickets(database, schedule_id: str) -> list[tuple[str, dt.date]]:
    async with database.sessionmaker() as s:
        rows = await s.execute(
            text("SELECT site_id, due_date FROM tickets WHERE schedule_id = :id ORDER BY due_date, site_id"),
            {"id": schedule_id},
        )
        return [(str(site), due) for site, due in rows]


# --- CRUD and who may --------------------------------------------------------------------------


async def test_an_admin_plans_reads_changes_lists_and_deletes_a_schedule(client, world):
    created = await create(
        client, world.admin, body(world, priority="high", assignee_id=str(world.employee_a.id))
    )
    assert created["site_ids"] == [str(world.site_a1.id)]
    assert created["priority"] == "high" and created["assignee_id"] == str(world.employee_a.id)
    url = f"{API}/schedules/{created['id']}"
    assert (await client.get(url, headers=world.admin.headers)).json() == created

    r = await client.patch(
        url,
        headers=world.admin.headers,
        json={"site_ids": [str(world.site_a2.id), str(world.site_a1.id)], "lead_days": 3, "priority": None},
    )
    assert r.status_code == 200, r.text
    assert sorted(r.json()["site_ids"]) == sorted([str(world.site_a1.id), str(world.site_a2.id)])
    assert r.json()["lead_days"] == 3 and r.json()["priority"] is None

    listed = (await client.get(f"{API}/schedules", headers=world.admin.headers)).json()
    assert [s["id"] for s in listed["items"]] == [created["id"]] and listed["next_cursor"] is None

    assert (await client.delete(url, headers=world.admin.headers)).status_code == 204
    assert_problem(await client.get(url, headers=world.admin.headers), 404)


async def test_the_list_pages_through_every_schedule_once(client, world):
    ids = {(await create(client, world.admin, body(world, name=f"Plan {n}")))["id"] for n in range(5)}
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(f"{API}/schedules", headers=world.admin.headers, params=params)).json()
        seen += [s["id"] for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids)


async def test_an_employee_with_the_permission_plans_on_its_own_tenants_only(client, world, ctx):
    own = await planner(ctx, world)
    mine = await create(client, own, body(world))
    theirs = await create(
        client,
        world.admin,
        body(
            world,
            tenant_id=str(world.tenant_b.id),
            site_ids=[str(world.site_b1.id)],
            ticket_type_id=str(world.type_b.id),
        ),
    )
    listed = (await client.get(f"{API}/schedules", headers=own.headers)).json()["items"]
    assert [s["id"] for s in listed] == [mine["id"]]
    # Another tenant's schedule is out of its scope: 404, as if it did not exist.
    url = f"{API}/schedules/{theirs['id']}"
    assert_problem(await client.get(url, headers=own.headers), 404)
    assert_problem(await client.patch(url, headers=own.headers, json={"title": "Gekapert"}), 404)
    assert_problem(await client.delete(url, headers=own.headers), 404)
    assert_problem(await client.get(f"{url}/occurrences", headers=own.headers), 404)
    # ... and so is planning on another tenant.
    r = await client.post(
        f"{API}/schedules",
        headers=own.headers,
        json=body(
            world,
            tenant_id=str(world.tenant_b.id),
            site_ids=[str(world.site_b1.id)],
            ticket_type_id=str(world.type_b.id),
        ),
    )
    assert_problem(r, 404)
    assert (await client.get(url, headers=world.admin.headers)).json()["title"] == "Objektbegehung"


async def test_employees_without_the_permission_and_customer_users_are_refused(client, world, portal):
    schedule = await create(client, world.admin, body(world))
    url = f"{API}/schedules/{schedule['id']}"
    for actor in (world.employee_a, world.customer_user_x):
        assert_problem(await client.post(f"{API}/schedules", headers=actor.headers, json=body(world)), 403)
        assert_problem(await client.get(f"{API}/schedules", headers=actor.headers), 403)
        # Refused before anything is looked up: the answer tells nothing about what exists.
        for target in (url, f"{API}/schedules/{uuid.uuid4()}"):
            assert_problem(await client.get(target, headers=actor.headers), 403)
            assert_problem(await client.patch(target, headers=actor.headers, json={"title": "x"}), 403)
            assert_problem(await client.delete(target, headers=actor.headers), 403)
            assert_problem(await client.get(f"{target}/occurrences", headers=actor.headers), 403)
    assert (await client.get(url, headers=world.admin.headers)).json()["title"] == "Objektbegehung"


async def test_the_permission_is_granted_through_a_permission_group(client, world, ctx):
    async with ctx.database.sessionmaker.begin() as s:
        admin = await make_employee(s, ctx, is_admin=True, permissions=[MANAGE, "check:templates:manage"])
    r = await client.post(
        f"{API}/permission-groups", headers=admin.headers, json={"name": "Planung", "permissions": [MANAGE]}
    )
    assert r.status_code == 201, r.text
    assert r.json()["permissions"] == [MANAGE]
    # An administrator who does not hold it cannot hand it out.
    r = await client.post(
        f"{API}/permission-groups",
        headers=world.admin_no_insight.headers,
        json={"name": "Planung 2", "permissions": [MANAGE]},
    )
    assert_problem(r, 403)
    me = (await client.get(f"{API}/me", headers=admin.headers)).json()
    assert MANAGE in me["permissions"]


async def test_an_api_token_needs_the_master_data_scopes(client, world):
    schedule = await create(client, world.admin, body(world))
    tokens = {}
    for scopes in (["master-data:read"], ["tickets:read", "tickets:write"]):
        r = await client.post(
            f"{API}/api-tokens", headers=world.admin.headers, json={"name": "ERP", "scopes": scopes}
        )
        tokens[scopes[0]] = {"Authorization": f"Bearer {r.json()['token']}"}
    url = f"{API}/schedules/{schedule['id']}"
    assert (await client.get(url, headers=tokens["master-data:read"])).status_code == 200
    assert_problem(await client.patch(url, headers=tokens["master-data:read"], json={"title": "x"}), 403)
    assert_problem(await client.get(url, headers=tokens["tickets:read"]), 403)


# --- what a schedule may say ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "loc"),
    [
        ({"rrule": "FREQ=SOMETIMES"}, ["body", "rrule"]),
        ({"rrule": "FREQ=HOURLY"}, ["body", "rrule"]),
        ({"rrule": "FREQ=MINUTELY"}, ["body", "rrule"]),
        ({"rrule": "FREQ=SECONDLY"}, ["body", "rrule"]),
        ({"rrule": "FREQ=DAILY;BYHOUR=8"}, ["body", "rrule"]),
        ({"rrule": "FREQ=DAILY;INTERVAL=0"}, ["body", "rrule"]),
        ({"rrule": "FREQ=DAILY;UNTIL=20261231T000000Z"}, ["body", "rrule"]),
        ({"rrule": "DTSTART:20260101T000000\nRRULE:FREQ=DAILY"}, ["body", "rrule"]),
        ({"rrule": "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30"}, ["body", "rrule"]),
        ({"rrule": "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=10"}, ["body", "rrule"]),
        ({"rrule": "FREQ=DAILY;" + "BYDAY=MO;" * 100}, ["body", "rrule"]),
        ({"rrule": ""}, ["body", "rrule"]),
        ({"rrule": "FREQ=MONTHLY;BYDAY=+99MO"}, ["body", "rrule"]),
        ({"rrule": "FREQ=DAILY;FREQ=HOURLY"}, ["body", "rrule"]),
        ({"rrule": "FREQ=DAILY;INTERVAL=999999999"}, ["body", "rrule"]),
        ({"rrule": "FREQ=DAILY;;;"}, ["body", "rrule"]),
        ({"rrule": "FREQ=DAILY;BYDAY=MO\u0000"}, ["body", "rrule"]),
        # RFC 5545 §3.3.10, where dateutil is more lenient: 0 is no day of a month; BYMONTHDAY is not
        # allowed in a weekly rule (dateutil made "every day" of this one); numbered weekdays only in
        # monthly and yearly rules; BYEASTER is dateutil's own; COUNT and UNTIL exclude each other.
        ({"rrule": "FREQ=WEEKLY;BYMONTHDAY=0"}, ["body", "rrule"]),
        ({"rrule": "FREQ=MONTHLY;BYMONTHDAY=0"}, ["body", "rrule"]),
        ({"rrule": "FREQ=MONTHLY;BYMONTHDAY=32"}, ["body", "rrule"]),
        ({"rrule": "FREQ=WEEKLY;BYMONTHDAY=1"}, ["body", "rrule"]),
        ({"rrule": "FREQ=WEEKLY;BYDAY=1MO"}, ["body", "rrule"]),
        ({"rrule": "FREQ=WEEKLY;BYDAY=+99MO"}, ["body", "rrule"]),
        ({"rrule": "FREQ=YEARLY;BYDAY=54MO"}, ["body", "rrule"]),
        ({"rrule": "FREQ=WEEKLY;BYDAY=MONDAY"}, ["body", "rrule"]),
        ({"rrule": "FREQ=WEEKLY;BYEASTER=0"}, ["body", "rrule"]),
        ({"rrule": "FREQ=MONTHLY;BYWEEKNO=1"}, ["body", "rrule"]),
        ({"rrule": "FREQ=YEARLY;BYWEEKNO=54"}, ["body", "rrule"]),
        ({"rrule": "FREQ=MONTHLY;BYYEARDAY=1"}, ["body", "rrule"]),
        ({"rrule": "FREQ=YEARLY;BYYEARDAY=367"}, ["body", "rrule"]),
        ({"rrule": "FREQ=YEARLY;BYMONTH=13"}, ["body", "rrule"]),
        ({"rrule": "FREQ=YEARLY;BYMONTH=0"}, ["body", "rrule"]),
        ({"rrule": "FREQ=MONTHLY;BYSETPOS=1"}, ["body", "rrule"]),
        ({"rrule": "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=0"}, ["body", "rrule"]),
        ({"rrule": "FREQ=DAILY;COUNT=3;UNTIL=20301231"}, ["body", "rrule"]),
        ({"rrule": "FREQ=WEEKLY;WKST=XX"}, ["body", "rrule"]),
        ({"rrule": "BYDAY=MO"}, ["body", "rrule"]),
        ({"rrule": "FREQ=WEEKLY;BYDAY"}, ["body", "rrule"]),
        ({"timezone": "Mars/Olympus_Mons"}, ["body", "timezone"]),
        ({"timezone": "localtime"}, ["body", "timezone"]),
        ({"timezone": "Factory"}, ["body", "timezone"]),
        ({"timezone": "../../etc/passwd"}, ["body", "timezone"]),
        ({"ends_on": "2026-01-04"}, ["body", "ends_on"]),
        ({"starts_on": "1999-12-31"}, ["body", "starts_on"]),
        ({"starts_on": "2026-02-30"}, ["body", "starts_on"]),
        ({"lead_days": -1}, ["body", "lead_days"]),
        ({"lead_days": 367}, ["body", "lead_days"]),
        ({"lead_days": "3"}, ["body", "lead_days"]),
        ({"name": "   "}, ["body", "name"]),
        ({"title": "x" * 301}, ["body", "title"]),
        ({"site_ids": []}, ["body", "site_ids"]),
        ({"priority": "sofort"}, ["body", "priority"]),
        ({"unknown": 1}, ["body", "unknown"]),
    ],
)
async def test_invalid_schedules_are_refused_at_their_field(client, world, overrides, loc):
    r = await client.post(f"{API}/schedules", headers=world.admin.headers, json=body(world, **overrides))
    assert_problem(r, 422, loc)


async def test_what_a_schedule_names_must_belong_to_its_tenant(client, world, ctx):
    async with ctx.database.sessionmaker.begin() as s:
        other_type = await make_ticket_type(s, tenant=world.tenant_b)
    cases = [
        ({"site_ids": [str(world.site_a1.id), str(world.site_b1.id)]}, ["body", "site_ids", 1]),
        ({"site_ids": [str(uuid.uuid4())]}, ["body", "site_ids", 0]),
        ({"ticket_type_id": str(other_type.id)}, ["body", "ticket_type_id"]),
        ({"ticket_type_id": str(world.absence_a.id)}, ["body", "ticket_type_id"]),
        ({"assignee_id": str(world.employee_b.id)}, ["body", "assignee_id"]),
        ({"assignee_id": str(world.customer_user_x.id)}, ["body", "assignee_id"]),
        ({"form_template_id": str(uuid.uuid4())}, ["body", "form_template_id"]),
    ]
    for overrides, loc in cases:
        r = await client.post(f"{API}/schedules", headers=world.admin.headers, json=body(world, **overrides))
        assert_problem(r, 422, loc)
    assert (await client.get(f"{API}/schedules", headers=world.admin.headers)).json()["items"] == []


async def test_the_form_template_must_be_published_about_a_site_and_not_public(client, world):
    fields = [{"key": "befund", "type": "text", "label": "Befund"}]
    draft = await client.post(
        f"{API}/form-templates", headers=world.admin.headers, json=template_body(fields)
    )
    public = await published(client, world.admin, template_body(fields, is_public=True))
    about_nobody = await published(client, world.admin, template_body(fields, subject="none"))
    for template_id in (draft.json()["id"], public["id"], about_nobody["id"]):
        r = await client.post(
            f"{API}/schedules", headers=world.admin.headers, json=body(world, form_template_id=template_id)
        )
        assert_problem(r, 422, ["body", "form_template_id"])
    good = await published(client, world.admin, template_body(fields))
    assert (await create(client, world.admin, body(world, form_template_id=good["id"])))[
        "form_template_id"
    ] == good["id"]


async def test_changes_are_checked_like_a_new_schedule(client, world):
    schedule = await create(client, world.admin, body(world))
    url = f"{API}/schedules/{schedule['id']}"
    for change, loc in [
        ({"site_ids": [str(world.site_b1.id)]}, ["body", "site_ids", 0]),
        ({"rrule": "FREQ=HOURLY"}, ["body", "rrule"]),
        ({"ends_on": "2025-12-31"}, ["body", "ends_on"]),
        ({"starts_on": "2027-01-01", "ends_on": "2026-06-01"}, ["body", "ends_on"]),
        ({"name": None}, ["body", "name"]),
        ({"active": None}, ["body", "active"]),
        ({"tenant_id": str(world.tenant_b.id)}, ["body", "tenant_id"]),
        ({"timezone": "Europe/Atlantis"}, ["body", "timezone"]),
    ]:
        assert_problem(await client.patch(url, headers=world.admin.headers, json=change), 422, loc)
    assert (await client.get(url, headers=world.admin.headers)).json() == schedule


async def test_hostile_paths_and_oversized_bodies_are_refused(client, world):
    assert_problem(await client.get(f"{API}/schedules/not-a-uuid", headers=world.admin.headers), 422)
    too_many = [str(uuid.uuid4()) for _ in range(51)]
    r = await client.post(
        f"{API}/schedules", headers=world.admin.headers, json=body(world, site_ids=too_many)
    )
    assert_problem(r, 422, ["body", "site_ids"])
    r = await client.post(
        f"{API}/schedules", headers=world.admin.headers, json=body(world, description="x" * 2_000_000)
    )
    assert r.status_code in (413, 422)
    assert_problem(
        await client.get(f"{API}/schedules", headers=world.admin.headers, params={"limit": 1000}), 422
    )


# --- the rule's dates -----------------------------------------------------------------------------


async def occurrence_dates(client, world, schedule, first, last) -> list[str]:
    r = await client.get(
        f"{API}/schedules/{schedule['id']}/occurrences",
        headers=world.admin.headers,
        params={"from": first, "to": last},
    )
    assert r.status_code == 200, r.text
    return [o["date"] for o in r.json()["items"]]


async def test_weekly_on_monday(client, world):
    schedule = await create(client, world.admin, body(world, starts_on="2026-01-01"))
    assert await occurrence_dates(client, world, schedule, "2026-01-01", "2026-01-31") == [
        "2026-01-05",
        "2026-01-12",
        "2026-01-19",
        "2026-01-26",
    ]


async def test_monthly_on_the_last_weekday(client, world):
    schedule = await create(
        client,
        world.admin,
        body(world, starts_on="2026-01-01", rrule="FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1"),
    )
    assert await occurrence_dates(client, world, schedule, "2026-01-01", "2026-06-30") == [
        "2026-01-30",
        "2026-02-27",
        "2026-03-31",
        "2026-04-30",
        "2026-05-29",
        "2026-06-30",
    ]


async def test_daily_through_the_week_the_clocks_change_in_berlin(client, world):
    schedule = await create(client, world.admin, body(world, starts_on="2026-03-23", rrule="FREQ=DAILY"))
    # 29 March 2026 has 23 hours in Berlin: still one date, no date twice or left out.
    assert await occurrence_dates(client, world, schedule, "2026-03-26", "2026-04-01") == [
        f"2026-0{m}-{d:02d}" for m, d in [(3, 26), (3, 27), (3, 28), (3, 29), (3, 30), (3, 31), (4, 1)]
    ]


async def test_occurrences_end_with_ends_on_count_and_until_and_list_every_site(client, world):
    schedule = await create(
        client,
        world.admin,
        body(
            world,
            rrule="FREQ=DAILY;COUNT=10",
            starts_on="2026-01-01",
            ends_on="2026-01-04",
            site_ids=[str(world.site_a1.id), str(world.site_a2.id)],
        ),
    )
    r = await client.get(
        f"{API}/schedules/{schedule['id']}/occurrences",
        headers=world.admin.headers,
        params={"from": "2025-12-01", "to": "2026-01-31"},
    )
    items = r.json()["items"]
    assert [(i["date"], i["site_id"]) for i in items] == [
        (day, site)
        for day in ("2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04")
        for site in sorted([str(world.site_a1.id), str(world.site_a2.id)])
    ]
    assert all(i["ticket_id"] is None for i in items)
    until = await create(
        client, world.admin, body(world, rrule="FREQ=DAILY;UNTIL=20260103", starts_on="2026-01-01")
    )
    assert await occurrence_dates(client, world, until, "2026-01-01", "2026-01-31") == [
        "2026-01-01",
        "2026-01-02",
        "2026-01-03",
    ]


async def test_the_occurrence_range_is_capped_and_checked(client, world):
    schedule = await create(client, world.admin, body(world))
    url = f"{API}/schedules/{schedule['id']}/occurrences"
    for params, loc in [
        ({"from": "2026-01-01", "to": "2027-01-02"}, ["query", "to"]),
        ({"from": "2026-02-01", "to": "2026-01-01"}, ["query", "to"]),
        ({"from": "0001-01-02", "to": "0001-02-01"}, ["query", "from"]),
        ({"from": "gestern"}, ["query", "from"]),
    ]:
        assert_problem(await client.get(url, headers=world.admin.headers, params=params), 422, loc)
    # 366 days, both ends included, is the most.
    longest = {"from": "2026-01-01", "to": "2027-01-01"}
    assert len((await client.get(url, headers=world.admin.headers, params=longest)).json()["items"]) == 52
    # Without a range: the next 30 days.
    assert 4 <= len((await client.get(url, headers=world.admin.headers)).json()["items"]) <= 5


# --- the worker -----------------------------------------------------------------------------------


async def test_tickets_are_raised_lead_days_ahead_with_the_schedules_fields(client, world, database, ctx):
    today = berlin_today()
    schedule = await create(
        client,
        world.admin,
        body(
            world,
            rrule="FREQ=DAILY",
            starts_on=str(today - dt.timedelta(days=400)),
            lead_days=2,
            assignee_id=str(world.employee_a.id),
            site_ids=[str(world.site_a1.id), str(world.site_a2.id)],
        ),
    )
    assert await run_once(database, ctx.settings, now=at_noon(today)) == 6
    raised = await scheduled_tickets(database, schedule["id"])
    # From the day it was planned (not its old `starts_on`) to `lead_days` ahead, on both sites.
    assert sorted({due for _, due in raised}) == [today + dt.timedelta(days=n) for n in range(3)]
    ticket_id = (
        await client.get(
            f"{API}/schedules/{schedule['id']}/occurrences",
            headers=world.admin.headers,
            params={"from": str(today), "to": str(today)},
        )
    ).json()["items"][0]["ticket_id"]
    ticket = (await client.get(f"{API}/tickets/{ticket_id}", headers=world.employee_a.headers)).json()
    assert ticket["title"] == "Objektbegehung" and ticket["description"] == "Rundgang mit Checkliste"
    assert ticket["due_date"] == str(today) and ticket["schedule_id"] == schedule["id"]
    assert ticket["assignee_id"] == str(world.employee_a.id) and ticket["status"] == "open"
    assert ticket["priority"] == "normal"  # the schedule names none: the tickets' default
    assert ticket["created_by"]["id"] == str(world.admin.id)
    history = (await client.get(f"{API}/tickets/{ticket_id}/history", headers=world.admin.headers)).json()
    scheduled = [e for e in history["items"] if e["event"] == "scheduled"]
    assert scheduled and scheduled[0]["new_value"] == {
        "id": schedule["id"],
        "name": "Objektbegehung wöchentlich",
        "date": str(today),
    }
    # The next day raises the one date that came within reach, on each site.
    assert await run_once(database, ctx.settings, now=at_noon(today + dt.timedelta(days=1))) == 2


async def test_today_is_the_schedules_own_date(client, world, database, ctx):
    today = berlin_today()
    schedule = await create(client, world.admin, body(world, rrule="FREQ=DAILY", starts_on=str(today)))
    # 23:30 UTC tomorrow is the day after tomorrow in Berlin (UTC+1 in winter, +2 in summer).
    late = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(23, 30), tzinfo=dt.UTC)
    await run_once(database, ctx.settings, now=late)
    assert [due for _, due in await scheduled_tickets(database, schedule["id"])] == [
        today + dt.timedelta(days=n) for n in range(3)
    ]


async def test_missed_dates_are_caught_up_after_downtime(client, world, database, ctx):
    today = berlin_today()
    schedule = await create(client, world.admin, body(world, rrule="FREQ=DAILY", starts_on="2020-01-01"))
    # No worker ran for ten days: the next round raises every date since the schedule was planned.
    assert await run_once(database, ctx.settings, now=at_noon(today + dt.timedelta(days=10))) == 11
    assert [due for _, due in await scheduled_tickets(database, schedule["id"])] == [
        today + dt.timedelta(days=n) for n in range(11)
    ]


async def test_inactive_schedules_and_dates_past_ends_on_raise_nothing(client, world, database, ctx):
    today = berlin_today()
    off = await create(
        client, world.admin, body(world, rrule="FREQ=DAILY", starts_on=str(today), active=False)
    )
    ending = await create(
        client,
        world.admin,
        body(
            world,
            rrule="FREQ=DAILY",
            starts_on=str(today),
            ends_on=str(today + dt.timedelta(days=2)),
            lead_days=30,
        ),
    )
    assert await run_once(database, ctx.settings, now=at_noon(today + dt.timedelta(days=5))) == 3
    assert await scheduled_tickets(database, off["id"]) == []
    assert [due for _, due in await scheduled_tickets(database, ending["id"])] == [
        today + dt.timedelta(days=n) for n in range(3)
    ]
    # Switched off after raising: nothing more; switched on again: from that day on, not the days off.
    url = f"{API}/schedules/{ending['id']}"
    await client.patch(
        url, headers=world.admin.headers, json={"active": False, "ends_on": None, "lead_days": 0}
    )
    assert await run_once(database, ctx.settings, now=at_noon(today + dt.timedelta(days=6))) == 0
    r = await client.patch(url, headers=world.admin.headers, json={"active": True})
    assert r.status_code == 200, r.text
    assert await run_once(database, ctx.settings, now=at_noon(today)) == 0


async def test_two_workers_and_a_restart_raise_every_occurrence_exactly_once(client, world, database, ctx):
    today = berlin_today()
    sites = [str(world.site_a1.id), str(world.site_a2.id)]
    schedules = [
        await create(
            client,
            world.admin,
            body(
                world, name=f"Plan {n}", rrule="FREQ=DAILY", starts_on=str(today), lead_days=6, site_ids=sites
            ),
        )
        for n in range(3)
    ]
    now = at_noon(today)
    counts = await asyncio.gather(
        run_once(database, ctx.settings, now=now), run_once(database, ctx.settings, now=now)
    )
    # A restart: the same round again, then two more at once.
    counts.append(await run_once(database, ctx.settings, now=now))
    counts += await asyncio.gather(
        run_once(database, ctx.settings, now=now), run_once(database, ctx.settings, now=now)
    )
    assert sum(counts) == 3 * 7 * 2
    for schedule in schedules:
        raised = await scheduled_tickets(database, schedule["id"])
        assert len(raised) == len(set(raised)) == 7 * 2


async def test_the_unique_key_not_a_read_decides_who_raises_an_occurrence(client, world, database):
    """Two transactions claim the same occurrence at once: the second waits for the first, then finds
    it taken; had the first rolled back, the second would have it."""
    sid = uuid.UUID((await create(client, world.admin, body(world, active=False)))["id"])
    day = dt.date(2026, 3, 2)
    async with database.sessionmaker() as first, database.sessionmaker() as second:
        assert await schedules_repo.claim_occurrence(first, sid, world.site_a1.id, day)
        waiting = asyncio.create_task(schedules_repo.claim_occurrence(second, sid, world.site_a1.id, day))
        await asyncio.sleep(0.3)
        assert not waiting.done()
        await first.rollback()
        assert await waiting  # the first gave up: the second raises it
        await second.commit()
    async with database.sessionmaker() as third:
        assert not await schedules_repo.claim_occurrence(third, sid, world.site_a1.id, day)
        await third.rollback()


async def test_a_failing_schedule_does_not_stop_the_others(client, world, database, ctx):
    today = berlin_today()
    good = await create(client, world.admin, body(world, rrule="FREQ=DAILY", starts_on=str(today)))
    broken = await create(
        client, world.admin, body(world, rrule="FREQ=DAILY", starts_on=str(today), name="Kaputt")
    )
    async with database.sessionmaker.begin() as s:
        # A rule stored before today's checks existed, which no longer parses.
        await s.execute(
            text("UPDATE schedules SET rrule = 'FREQ=HOURLY' WHERE id = :id"), {"id": broken["id"]}
        )
    assert await run_once(database, ctx.settings, now=at_noon(today)) == 1
    assert len(await scheduled_tickets(database, good["id"])) == 1


# --- a scheduled inspection ---------------------------------------------------------------------


async def test_an_inspection_started_from_a_scheduled_ticket_closes_it_with_its_pdf(
    client, world, portal, database, ctx
):
    admin = world.admin
    template = await published(
        client,
        admin,
        template_body(
            [
                {"key": "befund", "type": "text", "label": "Befund"},
                {"key": "sauber", "type": "yes_no", "label": "Treppenhaus sauber"},
            ],
            name="Objektbegehung Treppenhaus",
        ),
    )
    today = berlin_today()
    schedule = await create(
        client,
        admin,
        body(world, rrule="FREQ=DAILY", starts_on=str(today), form_template_id=template["id"]),
    )
    assert await run_once(database, ctx.settings, now=at_noon(today)) == 1
    ((_, due),) = await scheduled_tickets(database, schedule["id"])
    occurrences = await client.get(
        f"{API}/schedules/{schedule['id']}/occurrences",
        headers=admin.headers,
        params={"from": str(today), "to": str(today)},
    )
    ticket_id = occurrences.json()["items"][0]["ticket_id"]

    r = await client.post(
        f"{API}/form-submissions",
        headers=world.employee_a.headers,
        json={
            "template_id": template["id"],
            "ticket_id": ticket_id,
            "answers": {"befund": "Geländer im 2. OG locker", "sauber": True},
            "complete": True,
        },
    )
    assert r.status_code == 201, r.text
    submission = r.json()
    assert submission["site_id"] == str(world.site_a1.id) and submission["ticket_id"] == ticket_id

    ticket = (await client.get(f"{API}/tickets/{ticket_id}", headers=world.employee_a.headers)).json()
    assert ticket["status"] == "closed"
    history = (await client.get(f"{API}/tickets/{ticket_id}/history", headers=admin.headers)).json()["items"]
    by_form = [e for e in history if e["event"] == "form_completed"]
    assert by_form and by_form[0]["new_value"] == {"id": submission["id"]}
    assert by_form[0]["actor"]["id"] == str(world.employee_a.id)
    assert any(e["field"] == "status" and e["new_value"] == "closed" for e in history)

    # The customer sees the ticket, reads its PDF and finds the date done in its site's plan.
    cux = world.customer_user_x.headers
    assert (await client.get(f"{API}/tickets/{ticket_id}", headers=cux)).json()["status"] == "closed"
    seen = (await client.get(f"{API}/tickets/{ticket_id}/history", headers=cux)).json()["items"]
    assert [e["new_value"] for e in seen if e["event"] == "form_completed"] == [{"id": submission["id"]}]
    assert not [e for e in seen if e["event"] == "scheduled"]  # the schedule is the company's business
    attachments = (await client.get(f"{API}/tickets/{ticket_id}/attachments", headers=cux)).json()["items"]
    (pdf,) = [a for a in attachments if a["content_type"] == "application/pdf"]
    content = await client.get(f"{API}/attachments/{pdf['id']}/content", headers=cux)
    assert content.status_code == 200
    document = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content.content)).pages)
    assert "Objektbegehung Treppenhaus" in document and "Geländer im 2. OG locker" in document
    plan = await client.get(
        f"{API}/sites/{world.site_a1.id}/plan", headers=cux, params={"from": str(due), "to": str(due)}
    )
    assert plan.json()["items"] == [
        {
            "schedule_name": "Objektbegehung wöchentlich",
            "date": str(due),
            "ticket_id": ticket_id,
            "status": "done",
        }
    ]


async def test_a_submission_from_a_ticket_is_checked(client, world, ctx, portal):
    fields = [{"key": "befund", "type": "text", "label": "Befund"}]
    template = await published(client, world.admin, template_body(fields))
    about_nobody = await published(client, world.admin, template_body(fields, subject="none"))
    ticket = (
        await client.post(
            f"{API}/tickets",
            headers=world.employee_a.headers,
            json={
                "site_id": str(world.site_a1.id),
                "ticket_type_id": str(world.type_a.id),
                "title": "Begehung",
            },
        )
    ).json()

    async def submit(actor, **fields_: Any):
        return await client.post(
            f"{API}/form-submissions",
            headers=actor.headers,
            json={"template_id": template["id"], "answers": {"befund": "ok"}, **fields_},
        )

    # Another tenant's employee does not see the ticket.
    assert_problem(await submit(world.employee_b, ticket_id=ticket["id"]), 404)
    assert_problem(await submit(world.employee_a, ticket_id=str(uuid.uuid4())), 404)
    assert_problem(
        await submit(world.employee_a, ticket_id=ticket["id"], site_id=str(world.site_a1.id)),
        422,
        ["body", "site_id"],
    )
    r = await client.post(
        f"{API}/form-submissions",
        headers=world.employee_a.headers,
        json={"template_id": about_nobody["id"], "ticket_id": ticket["id"], "answers": {"befund": "x"}},
    )
    assert_problem(r, 422, ["body", "ticket_id"])
    # A draft started from the ticket keeps to the ticket's site.
    draft = (await submit(world.employee_a, ticket_id=ticket["id"])).json()
    r = await client.patch(
        f"{API}/form-submissions/{draft['id']}",
        headers=world.employee_a.headers,
        json={"site_id": str(world.site_a2.id)},
    )
    assert_problem(r, 422, ["body", "site_id"])
    assert (await client.get(f"{API}/tickets/{ticket['id']}", headers=world.employee_a.headers)).json()[
        "status"
    ] == "open"
    # Completing the draft closes the ticket; a closed ticket takes no new inspection.
    r = await client.post(f"{API}/form-submissions/{draft['id']}/complete", headers=world.employee_a.headers)
    assert r.status_code == 200, r.text
    assert (await client.get(f"{API}/tickets/{ticket['id']}", headers=world.employee_a.headers)).json()[
        "status"
    ] == "closed"
    assert_problem(await submit(world.employee_a, ticket_id=ticket["id"]), 422, ["body", "ticket_id"])


async def test_deleting_a_schedule_keeps_its_tickets(client, world, database, ctx):
    today = berlin_today()
    schedule = await create(client, world.admin, body(world, rrule="FREQ=DAILY", starts_on=str(today)))
    await run_once(database, ctx.settings, now=at_noon(today))
    assert (
        await client.delete(f"{API}/schedules/{schedule['id']}", headers=world.admin.headers)
    ).status_code == 204
    async with database.sessionmaker() as s:
        rows = (
            await s.execute(text("SELECT schedule_id FROM tickets WHERE due_date = :d"), {"d": today})
        ).all()
    assert rows == [(None,)]


async def test_the_ticket_takes_the_schedules_priority(client, world, database, ctx):
    today = berlin_today()
    schedule = await create(
        client, world.admin, body(world, rrule="FREQ=DAILY", starts_on=str(today), priority="urgent")
    )
    await run_once(database, ctx.settings, now=at_noon(today))
    async with database.sessionmaker() as s:
        priorities = (
            await s.execute(
                text("SELECT priority FROM tickets WHERE schedule_id = :id"), {"id": schedule["id"]}
            )
        ).all()
    assert priorities == [("urgent",)]
