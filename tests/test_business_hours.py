"""Business hours and business days of tenants: who reads and sets them, what is refused, what is listed."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from blink_api.kit.business_time import Calendar
from blink_api.tenants import business_hours
from tests.kit import API, assert_problem

DEFAULT = {
    "timezone": "Europe/Berlin",
    "weekly": {
        "mon": [["08:00", "17:00"]],
        "tue": [["08:00", "17:00"]],
        "wed": [["08:00", "17:00"]],
        "thu": [["08:00", "17:00"]],
        "fri": [["08:00", "17:00"]],
        "sat": [],
        "sun": [],
    },
    "holidays_region": None,
    "closed_dates": [],
}
BAVARIA = {
    "timezone": "Europe/Berlin",
    "weekly": {
        "mon": [["07:00", "12:00"], ["13:00", "18:00"]],
        "tue": [["07:00", "18:00"]],
        "wed": [["07:00", "18:00"]],
        "thu": [["07:00", "18:00"]],
        "fri": [["07:00", "18:00"]],
        "sat": [["00:00", "24:00"]],
    },
    "holidays_region": "de-by",
    "closed_dates": ["2026-12-31", "2026-12-28", "2026-12-31"],
}


def hours_url(tenant_id: object) -> str:
    return f"{API}/tenants/{tenant_id}/business-hours"


def days_url(tenant_id: object) -> str:
    return f"{API}/tenants/{tenant_id}/business-days"


async def put_bavaria(client, world, tenant=None) -> dict:
    r = await client.put(hours_url((tenant or world.tenant_a).id), headers=world.admin.headers, json=BAVARIA)
    assert r.status_code == 200, r.text
    return r.json()


# -- reading and setting ------------------------------------------------------------------------------


async def test_a_tenant_without_a_calendar_has_the_default(client, world):
    r = await client.get(hours_url(world.tenant_a.id), headers=world.employee_a.headers)
    assert r.status_code == 200, r.text
    assert r.json() == {**DEFAULT, "updated_at": None}


async def test_an_administrator_sets_the_calendar_and_the_tenants_employees_read_it(client, world):
    saved = await put_bavaria(client, world)
    # Left-out Sunday is closed, the region is kept in upper case, closed dates once each, in order.
    assert saved["weekly"]["sun"] == [] and saved["weekly"]["sat"] == [["00:00", "24:00"]]
    assert saved["holidays_region"] == "DE-BY"
    assert saved["closed_dates"] == ["2026-12-28", "2026-12-31"]
    assert saved["updated_at"] is not None
    r = await client.get(hours_url(world.tenant_a.id), headers=world.employee_a.headers)
    assert r.json() == saved
    # The other tenant keeps its own (the default).
    r = await client.get(hours_url(world.tenant_b.id), headers=world.employee_b.headers)
    assert r.json()["holidays_region"] is None and r.json()["updated_at"] is None


async def test_a_second_put_replaces_the_whole_calendar(client, world):
    await put_bavaria(client, world)
    r = await client.put(
        hours_url(world.tenant_a.id),
        headers=world.admin.headers,
        json={"timezone": "America/New_York", "weekly": {"wed": [["09:00", "10:00"]]}},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["timezone"] == "America/New_York"
    assert body["holidays_region"] is None and body["closed_dates"] == []
    assert [day for day, hours in body["weekly"].items() if hours] == ["wed"]


async def test_calendar_for_reads_what_was_saved_without_remembering_it(client, world, database):
    async with database.sessionmaker() as s:
        assert await business_hours.calendar_for(s, world.tenant_a.id) == business_hours.DEFAULT_CALENDAR
    await put_bavaria(client, world)
    async with database.sessionmaker() as s:
        calendar = await business_hours.calendar_for(s, world.tenant_a.id)
    assert calendar == Calendar(
        "Europe/Berlin",
        {
            "mon": [("07:00", "12:00"), ("13:00", "18:00")],
            **{day: [("07:00", "18:00")] for day in ("tue", "wed", "thu", "fri")},
            "sat": [("00:00", "24:00")],
        },
        "DE-BY",
        frozenset({dt.date(2026, 12, 28), dt.date(2026, 12, 31)}),
    )


async def test_a_change_is_announced_once_in_its_transaction_and_a_repeat_is_not(client, world):
    heard: list[uuid.UUID] = []

    async def listener(session, tenant_id):
        heard.append(tenant_id)

    business_hours.on_change.append(listener)
    try:
        # The default, saved explicitly, changes nothing that was computed from it.
        r = await client.put(hours_url(world.tenant_a.id), headers=world.admin.headers, json=DEFAULT)
        assert r.status_code == 200 and heard == []
        await put_bavaria(client, world)
        assert heard == [world.tenant_a.id]
        await put_bavaria(client, world)
        assert heard == [world.tenant_a.id]
        # Refused changes are not announced.
        r = await client.put(hours_url(world.tenant_a.id), headers=world.employee_a.headers, json=DEFAULT)
        assert r.status_code == 403 and heard == [world.tenant_a.id]
    finally:
        business_hours.on_change.remove(listener)


async def test_a_tenant_with_a_calendar_can_still_be_deleted(client, world):
    r = await client.post(f"{API}/tenants", headers=world.admin.headers, json={"name": "Ost", "code": "OST"})
    tenant_id = r.json()["id"]
    r = await client.put(hours_url(tenant_id), headers=world.admin.headers, json=BAVARIA)
    assert r.status_code == 200
    r = await client.delete(f"{API}/tenants/{tenant_id}", headers=world.admin.headers)
    assert r.status_code == 204, r.text
    assert_problem(await client.get(hours_url(tenant_id), headers=world.admin.headers), 404)


# -- who is refused -----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [hours_url, days_url])
async def test_employees_of_another_tenant_are_told_it_does_not_exist(client, world, url):
    await put_bavaria(client, world)
    r = await client.get(
        url(world.tenant_a.id),
        headers=world.employee_b.headers,
        params={"from": "2026-12-24", "to": "2026-12-26"},
    )
    body = assert_problem(r, 404)
    assert "DE-BY" not in r.text and "Weihnacht" not in r.text, body


@pytest.mark.parametrize("url", [hours_url, days_url])
async def test_customer_users_are_refused_even_for_the_tenant_serving_them(client, world, url):
    r = await client.get(
        url(world.tenant_a.id),
        headers=world.customer_user_x.headers,
        params={"from": "2026-12-24", "to": "2026-12-26"},
    )
    assert_problem(r, 403)


@pytest.mark.parametrize("url", [hours_url, days_url])
async def test_an_unknown_tenant_is_not_found_and_anonymous_callers_are_unauthorised(client, world, url):
    params = {"from": "2026-12-24", "to": "2026-12-26"}
    assert_problem(await client.get(url(uuid.uuid4()), headers=world.admin.headers, params=params), 404)
    assert_problem(await client.get(url(world.tenant_a.id), params=params), 401)


@pytest.mark.parametrize("caller", ["employee_a", "employee_b", "insight_no_admin", "customer_user_x"])
async def test_only_administrators_set_business_hours(client, world, caller):
    headers = getattr(world, caller).headers
    body = assert_problem(await client.put(hours_url(world.tenant_a.id), headers=headers, json=BAVARIA), 403)
    assert body["detail"]
    r = await client.get(hours_url(world.tenant_a.id), headers=world.admin.headers)
    assert r.json()["updated_at"] is None
    # The same answer for a tenant that does not exist: nothing is told about which ones do.
    assert_problem(await client.put(hours_url(uuid.uuid4()), headers=headers, json=BAVARIA), 403)


async def test_an_administrator_setting_an_unknown_tenant_is_told_it_does_not_exist(client, world):
    assert_problem(await client.put(hours_url(uuid.uuid4()), headers=world.admin.headers, json=BAVARIA), 404)


async def test_api_tokens_need_master_data_scopes(client, world):
    r = await client.post(
        f"{API}/api-tokens",
        headers=world.admin.headers,
        json={"name": "Leitstand", "scopes": ["master-data:read"]},
    )
    token = {"Authorization": f"Bearer {r.json()['token']}"}
    assert (await client.get(hours_url(world.tenant_a.id), headers=token)).status_code == 200
    r = await client.get(
        days_url(world.tenant_a.id), headers=token, params={"from": "2026-12-24", "to": "2026-12-24"}
    )
    assert r.status_code == 200
    body = assert_problem(await client.put(hours_url(world.tenant_a.id), headers=token, json=BAVARIA), 403)
    assert "master-data:write" in body["detail"]


# -- hostile input ------------------------------------------------------------------------------------


def with_(**changes: object) -> dict:
    return {**BAVARIA, **changes}


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (with_(timezone="Mars/Olympus_Mons"), ["body", "timezone"]),
        # In the time-zone database, but no place's time: the host's setting, and "not set yet".
        (with_(timezone="localtime"), ["body", "timezone"]),
        (with_(timezone="Factory"), ["body", "timezone"]),
        (with_(timezone="../../../etc/passwd"), ["body", "timezone"]),
        (with_(timezone="Europe/Berlin\u0000"), ["body", "timezone"]),
        (with_(timezone=""), ["body", "timezone"]),
        (with_(timezone="x" * 10_000), ["body", "timezone"]),
        (with_(holidays_region="DE-XX"), ["body", "holidays_region"]),
        (with_(holidays_region="Bayern"), ["body", "holidays_region"]),
        (with_(weekly={"mon": [["08:00", "25:00"]]}), ["body", "weekly", "mon", 0, 1]),
        (with_(weekly={"mon": [["24:01", "24:30"]]}), ["body", "weekly", "mon", 0, 0]),
        (with_(weekly={"mon": [["8:00", "17:00"]]}), ["body", "weekly", "mon", 0, 0]),
        (with_(weekly={"mon": [["08:60", "17:00"]]}), ["body", "weekly", "mon", 0, 0]),
        (with_(weekly={"mon": [["17:00", "08:00"]]}), ["body", "weekly", "mon", 0]),
        (with_(weekly={"mon": [["08:00", "08:00"]]}), ["body", "weekly", "mon", 0]),
        (with_(weekly={"mon": [["08:00", "12:00"], ["11:00", "17:00"]]}), ["body", "weekly", "mon"]),
        (with_(weekly={"mon": [["13:00", "17:00"], ["08:00", "12:00"]]}), ["body", "weekly", "mon"]),
        (with_(weekly={"mon": [["08:00", "12:00", "17:00"]]}), ["body", "weekly", "mon", 0]),
        (with_(weekly={"mon": [[8, 17]]}), ["body", "weekly", "mon", 0, 0]),
        (with_(weekly={"monday": [["08:00", "17:00"]]}), ["body", "weekly", "monday"]),
        (
            with_(weekly={day: [] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}),
            ["body", "weekly"],
        ),
        (with_(weekly={}), ["body", "weekly"]),
        (
            with_(weekly={"mon": [[f"{h:02d}:00", f"{h:02d}:30"] for h in range(11)]}),
            ["body", "weekly", "mon"],
        ),
        (with_(closed_dates=["2026-02-30"]), ["body", "closed_dates", 0]),
        (with_(closed_dates=["31.12.2026"]), ["body", "closed_dates", 0]),
        (
            with_(
                closed_dates=[(dt.date(2026, 1, 1) + dt.timedelta(days=k)).isoformat() for k in range(10_000)]
            ),
            ["body", "closed_dates"],
        ),
        ({"weekly": BAVARIA["weekly"]}, ["body", "timezone"]),
        (with_(opening="always"), ["body", "opening"]),
    ],
)
async def test_invalid_calendars_are_refused_naming_the_field(client, world, body, loc):
    r = await client.put(hours_url(world.tenant_a.id), headers=world.admin.headers, json=body)
    assert_problem(r, 422, loc)
    r = await client.get(hours_url(world.tenant_a.id), headers=world.admin.headers)
    assert r.json()["updated_at"] is None


async def test_limits_are_inclusive(client, world):
    body = with_(
        weekly={"mon": [[f"{h:02d}:00", f"{h:02d}:30"] for h in range(10)]},
        closed_dates=[(dt.date(2026, 1, 1) + dt.timedelta(days=k)).isoformat() for k in range(500)],
    )
    r = await client.put(hours_url(world.tenant_a.id), headers=world.admin.headers, json=body)
    assert r.status_code == 200, r.text
    assert len(r.json()["weekly"]["mon"]) == 10 and len(r.json()["closed_dates"]) == 500


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"from": "2026-01-01", "to": "2027-01-02"}, ["query", "to"]),  # 367 dates
        ({"from": "2026-12-26", "to": "2026-12-24"}, ["query", "to"]),
        ({"from": "2026-12-24"}, ["query", "to"]),
        ({"to": "2026-12-24"}, ["query", "from"]),
        ({"from": "24.12.2026", "to": "2026-12-26"}, ["query", "from"]),
        ({"from": "2026-02-30", "to": "2026-03-02"}, ["query", "from"]),
        ({"from": "2026-12-24", "to": "2026-12-24T00:00:00Z"}, ["query", "to"]),
        ({"from": "0001-01-01", "to": "0001-01-02"}, ["query", "from"]),
        ({"from": "9999-12-31", "to": "9999-12-31"}, ["query", "from"]),
    ],
)
async def test_invalid_ranges_are_refused_naming_the_parameter(client, world, params, loc):
    r = await client.get(days_url(world.tenant_a.id), headers=world.employee_a.headers, params=params)
    assert_problem(r, 422, loc)


# -- business days ------------------------------------------------------------------------------------


async def test_christmas_lists_the_public_holidays_by_their_german_names(client, world):
    await put_bavaria(client, world)
    r = await client.get(
        days_url(world.tenant_a.id),
        headers=world.employee_a.headers,
        params={"from": "2026-12-23", "to": "2027-01-06"},
    )
    assert r.status_code == 200, r.text
    days = {item["date"]: item for item in r.json()["items"]}
    assert list(days) == [(dt.date(2026, 12, 23) + dt.timedelta(days=k)).isoformat() for k in range(15)]
    assert days["2026-12-24"] == {"date": "2026-12-24", "hours": [["07:00", "18:00"]], "holiday": None}
    assert days["2026-12-25"] == {"date": "2026-12-25", "hours": [], "holiday": "1. Weihnachtstag"}
    # A Saturday, open around the clock, closed by the holiday.
    assert days["2026-12-26"] == {"date": "2026-12-26", "hours": [], "holiday": "2. Weihnachtstag"}
    assert days["2026-12-27"]["hours"] == []  # Sunday, left out
    assert days["2026-12-28"] == {"date": "2026-12-28", "hours": [], "holiday": None}  # a closed date
    assert days["2026-12-29"]["hours"] == [["07:00", "18:00"]]
    assert days["2027-01-01"] == {"date": "2027-01-01", "hours": [], "holiday": "Neujahr"}
    assert days["2027-01-04"]["hours"] == [["07:00", "12:00"], ["13:00", "18:00"]]
    assert days["2027-01-06"] == {"date": "2027-01-06", "hours": [], "holiday": "Heilige Drei Könige"}


async def test_epiphany_and_reformation_day_follow_the_state(client, world):
    for tenant, region in ((world.tenant_a, "DE-NW"), (world.tenant_b, "DE-SN")):
        r = await client.put(
            hours_url(tenant.id), headers=world.admin.headers, json=with_(holidays_region=region)
        )
        assert r.status_code == 200, r.text
    params = {"from": "2026-01-06", "to": "2026-10-31"}
    nrw = (await client.get(days_url(world.tenant_a.id), headers=world.admin.headers, params=params)).json()
    saxony = (
        await client.get(days_url(world.tenant_b.id), headers=world.admin.headers, params=params)
    ).json()
    assert nrw["items"][0] == {"date": "2026-01-06", "hours": [["07:00", "18:00"]], "holiday": None}
    assert saxony["items"][0]["holiday"] is None
    assert nrw["items"][-1] == {"date": "2026-10-31", "hours": [["00:00", "24:00"]], "holiday": None}
    assert saxony["items"][-1] == {"date": "2026-10-31", "hours": [], "holiday": "Reformationstag"}


async def test_the_week_the_clocks_go_back_lists_its_hours_as_set(client, world, database):
    r = await client.put(
        hours_url(world.tenant_a.id),
        headers=world.admin.headers,
        json={
            "timezone": "Europe/Berlin",
            "weekly": {"sun": [["01:00", "04:00"]], "mon": [["08:00", "17:00"]]},
        },
    )
    assert r.status_code == 200
    r = await client.get(
        days_url(world.tenant_a.id),
        headers=world.employee_a.headers,
        params={"from": "2026-10-19", "to": "2026-10-26"},
    )
    items = r.json()["items"]
    assert items[0]["date"] == "2026-10-19" and len(items) == 8
    assert items[6] == {"date": "2026-10-25", "hours": [["01:00", "04:00"]], "holiday": None}
    assert items[7]["hours"] == [["08:00", "17:00"]]
    # The same wall-clock hours are four real hours that night, three the week before.
    async with database.sessionmaker() as s:
        calendar = await business_hours.calendar_for(s, world.tenant_a.id)
    midnight = dt.datetime(2026, 10, 24, 22, tzinfo=dt.UTC)  # 25 October, 00:00 in Berlin
    assert calendar.between(midnight, midnight + dt.timedelta(days=1)) == dt.timedelta(hours=4)
    week_before = midnight - dt.timedelta(weeks=1)
    assert calendar.between(week_before, week_before + dt.timedelta(days=1)) == dt.timedelta(hours=3)


async def test_a_range_of_366_dates_is_answered_whole(client, world):
    await put_bavaria(client, world)
    r = await client.get(
        days_url(world.tenant_a.id),
        headers=world.employee_a.headers,
        params={"from": "2027-07-01", "to": "2028-06-30"},
    )
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert len(items) == 366 and items[0]["date"] == "2027-07-01" and items[-1]["date"] == "2028-06-30"
    assert set(r.json()) == {"items"}
