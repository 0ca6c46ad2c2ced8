"""Master data as an admin uses it: CRUD, pagination, validation and the conflicts that protect data."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import text

from blink_api.tenants.models import Tenant
from tests.factories import (
    World,
    make_customer,
    make_employee,
    make_group,
    make_site,
    make_tenant,
    make_ticket_type,
)
from tests.kit import API, assert_problem

PASSWORD = "a long enough password"


def locs(problem: dict[str, Any]) -> list[list[str | int]]:
    return [e["loc"] for e in problem.get("errors") or []]


async def all_items(client, world: World, path: str, **params: Any) -> list[dict[str, Any]]:
    r = await client.get(path, params={"limit": 200, **params}, headers=world.admin.headers)
    assert r.status_code == 200, r.text
    assert r.json()["next_cursor"] is None  # every test here stays well below one full page
    return r.json()["items"]


async def login(client, username: str, password: str):
    return await client.post(f"{API}/auth/token", data={"username": username, "password": password})


# path, a create body, a change for PATCH
CRUD: dict[str, tuple[str, Callable[[World], dict[str, Any]], dict[str, Any]]] = {
    "tenants": (f"{API}/tenants", lambda w: {"name": "Ost", "code": "OST"}, {"name": "Ost-Niederlassung"}),
    "sites": (
        f"{API}/sites",
        lambda w: {
            "tenant_id": str(w.tenant_a.id),
            "customer_id": str(w.customer_x.id),
            "name": "Elbphilharmonie",
            "address": "Platz der Deutschen Einheit 4, Hamburg",
        },
        {"address": "Platz der Deutschen Einheit 1, Hamburg"},
    ),
    "ticket-types": (
        f"{API}/ticket-types",
        lambda w: {"tenant_id": str(w.tenant_b.id), "name": "Glasreinigung", "category": "standard"},
        {"name": "Fensterreinigung"},
    ),
    "customers": (f"{API}/customers", lambda w: {"name": "Elbe Wohnen"}, {"name": "Elbe Wohnen GmbH"}),
    "employees": (
        f"{API}/employees",
        lambda w: {
            "email": "nina@example.com",
            "name": "Nina Neu",
            "password": PASSWORD,
            "is_admin": False,
            "tenant_ids": [str(w.tenant_a.id)],
            "permission_group_ids": [],
        },
        {"name": "Nina Neumann", "tenant_ids": []},
    ),
    "permission-groups": (
        f"{API}/permission-groups",
        lambda w: {"name": "Portalpflege", "permissions": ["insight:manage"]},
        {"permissions": ["check:templates:manage", "insight:manage"]},
    ),
}


# -- create, read, update, delete ---------------------------------------------------------------


@pytest.mark.parametrize("resource", list(CRUD))
async def test_admin_creates_reads_updates_and_deletes(client, world, resource):
    path, make_body, change = CRUD[resource]
    admin = world.admin.headers
    body = make_body(world)

    r = await client.post(path, json=body, headers=admin)
    assert r.status_code == 201, r.text
    created = r.json()
    for field, value in body.items():
        if field != "password":
            assert created[field] == value, field
    assert "password" not in created and "password_hash" not in created
    # Timestamps are RFC 3339 with a time zone.
    assert datetime.fromisoformat(created["created_at"]).tzinfo is not None
    item = f"{path}/{created['id']}"

    r = await client.get(item, headers=admin)
    assert r.status_code == 200 and r.json() == created
    assert created["id"] in {i["id"] for i in await all_items(client, world, path)}

    r = await client.patch(item, json=change, headers=admin)
    assert r.status_code == 200, r.text
    for field, value in change.items():
        assert r.json()[field] == value
    # Fields not in the PATCH keep their value.
    untouched = {k: v for k, v in created.items() if k not in change and k not in ("updated_at",)}
    assert {k: r.json()[k] for k in untouched} == untouched
    assert (await client.get(item, headers=admin)).json() == r.json()

    r = await client.delete(item, headers=admin)
    assert r.status_code == 204, r.text
    assert_problem(await client.get(item, headers=admin), 404)
    assert created["id"] not in {i["id"] for i in await all_items(client, world, path)}
    # A second delete finds nothing.
    assert_problem(await client.delete(item, headers=admin), 404)


@pytest.mark.parametrize("resource", list(CRUD))
async def test_unknown_item_is_404(client, world, resource):
    path = CRUD[resource][0]
    for method, body in [("GET", None), ("PATCH", {"name": "X"}), ("DELETE", None)]:
        r = await client.request(method, f"{path}/{uuid.uuid4()}", json=body, headers=world.admin.headers)
        assert_problem(r, 404)


# -- pagination ----------------------------------------------------------------------------------


async def seed(database, ctx, resource: str, count: int) -> set[str]:
    """`count` new rows of `resource`, created in ONE transaction so they share one `created_at`:
    the cursor must then tell them apart by id alone."""
    ids: set[str] = set()
    async with database.sessionmaker.begin() as s:
        # Owners for the rows that need them; they only count when they are of `resource` themselves.
        tenant = await make_tenant(s) if resource != "tenants" else None
        customer = await make_customer(s) if resource == "sites" else None
        for _ in range(count):
            if resource == "tenants":
                row: Any = await make_tenant(s)
            elif resource == "sites":
                row = await make_site(s, tenant=tenant, customer=customer)
            elif resource == "ticket-types":
                row = await make_ticket_type(s, tenant=tenant)
            elif resource == "customers":
                row = await make_customer(s)
            elif resource == "employees":
                row = await make_employee(s, ctx, tenants=[tenant])
            else:
                row = await make_group(s, ["insight:manage"])
            ids.add(str(row.id))
    return ids


async def walk(client, headers, path: str, limit: int, between: Callable[[], Any] | None = None):
    """Follow next_cursor to the end; returns every page's ids."""
    pages: list[list[str]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        r = await client.get(path, params=params, headers=headers)
        assert r.status_code == 200, r.text
        page = r.json()
        assert set(page) == {"items", "next_cursor"}
        pages.append([i["id"] for i in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 100, "the cursor never ends"
        if between is not None:
            await between()


@pytest.mark.parametrize("resource", list(CRUD))
async def test_following_next_cursor_yields_every_item_exactly_once(client, world, database, ctx, resource):
    path = CRUD[resource][0]
    seeded = await seed(database, ctx, resource, 5)
    everything = {i["id"] for i in await all_items(client, world, path)}
    assert seeded <= everything

    pages = await walk(client, world.admin.headers, path, limit=2)
    walked = [i for page in pages for i in page]
    assert len(walked) == len(set(walked)), "an item came twice"
    assert set(walked) == everything
    # Full pages until the last one.
    assert all(len(p) == 2 for p in pages[:-1]) and 1 <= len(pages[-1]) <= 2


async def test_five_items_in_pages_of_two(client, world, database, ctx):
    # World has 2 customers; 3 more make exactly 5.
    await seed(database, ctx, "customers", 3)
    pages = await walk(client, world.admin.headers, f"{API}/customers", limit=2)
    assert [len(p) for p in pages] == [2, 2, 1]
    assert len({i for p in pages for i in p}) == 5


async def test_items_created_between_page_fetches_do_not_disturb_the_walk(client, world, database, ctx):
    path = f"{API}/customers"
    await seed(database, ctx, "customers", 5)
    before = {i["id"] for i in await all_items(client, world, path)}
    created: list[str] = []

    async def add_customer() -> None:
        r = await client.post(path, json={"name": f"Neu {len(created)}"}, headers=world.admin.headers)
        assert r.status_code == 201
        created.append(r.json()["id"])

    pages = await walk(client, world.admin.headers, path, limit=2, between=add_customer)
    walked = [i for page in pages for i in page]
    assert len(created) >= 3
    assert len(walked) == len(set(walked)), "an item came twice"
    # Everything that existed when the walk began comes exactly once; new ones at most once.
    assert before <= set(walked) <= before | set(created)


async def test_default_limit_is_50_and_200_is_the_most(client, world, database, ctx):
    path = f"{API}/customers"
    await seed(database, ctx, "customers", 58)  # 60 with the world's two
    admin = world.admin.headers

    r = await client.get(path, headers=admin)
    assert r.status_code == 200
    assert len(r.json()["items"]) == 50 and r.json()["next_cursor"]
    rest = await client.get(path, params={"cursor": r.json()["next_cursor"]}, headers=admin)
    assert len(rest.json()["items"]) == 10 and rest.json()["next_cursor"] is None

    r = await client.get(path, params={"limit": 200}, headers=admin)
    assert len(r.json()["items"]) == 60 and r.json()["next_cursor"] is None

    for limit in (201, 0, -1):
        problem = assert_problem(await client.get(path, params={"limit": limit}, headers=admin), 422)
        assert ["query", "limit"] in locs(problem)


def _b64(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor",
        "bm9wZQ",  # base64 of "nope"
        _b64(["2025-01-01T00:00:00", str(uuid.uuid4())]),  # timestamp without a time zone
        _b64(["yesterday", "someone"]),
        _b64({"created_at": "2025-01-01T00:00:00+00:00"}),
        "x" * 500,
    ],
)
@pytest.mark.parametrize("resource", ["tenants", "employees"])
async def test_bogus_cursor_is_422(client, world, resource, cursor):
    r = await client.get(CRUD[resource][0], params={"cursor": cursor}, headers=world.admin.headers)
    assert ["query", "cursor"] in locs(assert_problem(r, 422))


# -- unknown fields ------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["create", "update"])
@pytest.mark.parametrize("resource", list(CRUD))
async def test_unknown_fields_are_refused_with_their_path(client, world, resource, action):
    path, make_body, change = CRUD[resource]
    before = await all_items(client, world, path)
    if action == "create":
        r = await client.post(path, json={**make_body(world), "colour": "red"}, headers=world.admin.headers)
    else:
        item = before[0]["id"]
        r = await client.patch(
            f"{path}/{item}", json={**change, "colour": "red"}, headers=world.admin.headers
        )
    assert ["body", "colour"] in locs(assert_problem(r, 422))
    # Refused as a whole: the valid part of the body was not applied either.
    assert await all_items(client, world, path) == before


# -- tenants -------------------------------------------------------------------------------------


async def test_tenant_code_is_upper_cased(client, world):
    admin = world.admin.headers
    r = await client.post(f"{API}/tenants", json={"name": "Ost", "code": "ost1"}, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["code"] == "OST1"
    r = await client.patch(f"{API}/tenants/{r.json()['id']}", json={"code": "west"}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["code"] == "WEST"
    # Upper-cased before the uniqueness check: "aaa" is tenant A's code "AAA".
    assert_problem(
        await client.post(f"{API}/tenants", json={"name": "Doppelt", "code": "aaa"}, headers=admin), 409
    )


@pytest.mark.parametrize("code", ["AAA", " AAA "])  # tenant A's code, also with stray blanks
async def test_duplicate_tenant_code_is_409(client, world, code):
    before = await all_items(client, world, f"{API}/tenants")
    r = await client.post(
        f"{API}/tenants", json={"name": "Doppelt", "code": code}, headers=world.admin.headers
    )
    assert_problem(r, 409)
    assert await all_items(client, world, f"{API}/tenants") == before
    # Changing tenant B's code onto tenant A's is the same conflict.
    r = await client.patch(
        f"{API}/tenants/{world.tenant_b.id}", json={"code": code}, headers=world.admin.headers
    )
    assert_problem(r, 409)
    r = await client.get(f"{API}/tenants/{world.tenant_b.id}", headers=world.admin.headers)
    assert r.json()["code"] == "BBB"


@pytest.mark.parametrize("code", ["A", "ABCDEFGHIJK", "NO-RD", "ÄÖÜ", ""])
async def test_malformed_tenant_code_is_422(client, world, code):
    r = await client.post(
        f"{API}/tenants", json={"name": "Falsch", "code": code}, headers=world.admin.headers
    )
    assert ["body", "code"] in locs(assert_problem(r, 422))


async def test_tenant_with_sites_cannot_be_deleted(client, world, database):
    admin = world.admin.headers
    async with database.sessionmaker.begin() as s:
        tenant = await make_tenant(s)
        site = await make_site(s, tenant=tenant, customer=world.customer_x)

    assert_problem(await client.delete(f"{API}/tenants/{tenant.id}", headers=admin), 409)
    assert (await client.get(f"{API}/tenants/{tenant.id}", headers=admin)).status_code == 200
    assert (await client.get(f"{API}/sites/{site.id}", headers=admin)).status_code == 200

    # The site was the only thing in the way.
    assert (await client.delete(f"{API}/sites/{site.id}", headers=admin)).status_code == 204
    assert (await client.delete(f"{API}/tenants/{tenant.id}", headers=admin)).status_code == 204


async def test_tenant_in_use_cannot_be_deleted(client, world):
    # Tenant A has sites, ticket types and employees.
    assert_problem(
        await client.delete(f"{API}/tenants/{world.tenant_a.id}", headers=world.admin.headers), 409
    )
    r = await client.get(f"{API}/tenants/{world.tenant_a.id}", headers=world.admin.headers)
    assert r.status_code == 200 and r.json()["code"] == "AAA"


# -- customers -----------------------------------------------------------------------------------


async def test_customer_with_sites_cannot_be_deleted(client, world, database):
    admin = world.admin.headers
    async with database.sessionmaker.begin() as s:
        customer = await make_customer(s)
        site = await make_site(s, tenant=await s.get(Tenant, world.tenant_a.id), customer=customer)

    assert_problem(await client.delete(f"{API}/customers/{customer.id}", headers=admin), 409)
    assert (await client.get(f"{API}/customers/{customer.id}", headers=admin)).status_code == 200
    assert (await client.get(f"{API}/sites/{site.id}", headers=admin)).status_code == 200

    assert (await client.delete(f"{API}/sites/{site.id}", headers=admin)).status_code == 204
    assert (await client.delete(f"{API}/customers/{customer.id}", headers=admin)).status_code == 204


# -- references to other rows --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "make_body", "loc"),
    [
        (
            "sites",
            lambda w: {"tenant_id": str(uuid.uuid4()), "customer_id": str(w.customer_x.id), "name": "S"},
            ["body", "tenant_id"],
        ),
        (
            "sites",
            lambda w: {"tenant_id": str(w.tenant_a.id), "customer_id": str(uuid.uuid4()), "name": "S"},
            ["body", "customer_id"],
        ),
        ("ticket-types", lambda w: {"tenant_id": str(uuid.uuid4()), "name": "T"}, ["body", "tenant_id"]),
        (
            "employees",
            lambda w: {
                "email": "e@example.com",
                "name": "E",
                "tenant_ids": [str(w.tenant_a.id), str(uuid.uuid4())],
            },
            ["body", "tenant_ids", 1],
        ),
        (
            "employees",
            lambda w: {"email": "e@example.com", "name": "E", "permission_group_ids": [str(uuid.uuid4())]},
            ["body", "permission_group_ids", 0],
        ),
    ],
    ids=["site-tenant", "site-customer", "type-tenant", "employee-tenant", "employee-group"],
)
async def test_reference_to_a_missing_row_is_422_at_its_field(client, world, path, make_body, loc):
    url = f"{API}/{path}"
    before = await all_items(client, world, url)
    problem = assert_problem(await client.post(url, json=make_body(world), headers=world.admin.headers), 422)
    assert loc in locs(problem)
    assert await all_items(client, world, url) == before


async def test_site_list_filters_by_tenant_and_customer(client, world):
    async def ids(**params: Any) -> set[str]:
        return {i["id"] for i in await all_items(client, world, f"{API}/sites", **params)}

    assert await ids(tenant_id=str(world.tenant_a.id)) == {str(world.site_a1.id), str(world.site_a2.id)}
    assert await ids(customer_id=str(world.customer_y.id)) == {str(world.site_b1.id)}
    assert await ids(tenant_id=str(world.tenant_a.id), customer_id=str(world.customer_y.id)) == set()


# -- ticket types --------------------------------------------------------------------------------


async def test_ticket_type_category(client, world):
    admin = world.admin.headers
    r = await client.post(
        f"{API}/ticket-types",
        json={"tenant_id": str(world.tenant_a.id), "name": "Krankmeldung", "category": "absence"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    sick_note = r.json()
    assert sick_note["category"] == "absence"
    assert (await client.get(f"{API}/ticket-types/{sick_note['id']}", headers=admin)).json()[
        "category"
    ] == "absence"

    # Without a category a type is a standard one.
    r = await client.post(
        f"{API}/ticket-types", json={"tenant_id": str(world.tenant_a.id), "name": "Mängel"}, headers=admin
    )
    assert r.status_code == 201 and r.json()["category"] == "standard"

    absences = await all_items(client, world, f"{API}/ticket-types", category="absence")
    assert {t["id"] for t in absences} == {sick_note["id"], str(world.absence_a.id)}

    r = await client.post(
        f"{API}/ticket-types",
        json={"tenant_id": str(world.tenant_a.id), "name": "Urlaub 2", "category": "holiday"},
        headers=admin,
    )
    assert ["body", "category"] in locs(assert_problem(r, 422))


async def test_duplicate_ticket_type_name_in_one_tenant_is_409(client, world):
    admin = world.admin.headers
    before = await all_items(client, world, f"{API}/ticket-types")
    # "Reklamation" is tenant A's type already.
    r = await client.post(
        f"{API}/ticket-types",
        json={"tenant_id": str(world.tenant_a.id), "name": "Reklamation"},
        headers=admin,
    )
    assert_problem(r, 409)
    assert await all_items(client, world, f"{API}/ticket-types") == before

    # Renaming another type of tenant A onto it is the same conflict; the type keeps its name.
    r = await client.patch(
        f"{API}/ticket-types/{world.absence_a.id}", json={"name": "Reklamation"}, headers=admin
    )
    assert_problem(r, 409)
    r = await client.get(f"{API}/ticket-types/{world.absence_a.id}", headers=admin)
    assert r.json()["name"] == "Urlaub"

    # Another tenant may use the name.
    r = await client.post(
        f"{API}/ticket-types",
        json={"tenant_id": str(world.tenant_b.id), "name": "Reklamation"},
        headers=admin,
    )
    assert r.status_code == 201, r.text


# -- employees -----------------------------------------------------------------------------------


async def test_employee_created_with_password_can_log_in(client, world):
    r = await client.post(
        f"{API}/employees",
        json={
            "email": "Nina.Neu@Example.com",
            "name": "Nina Neu",
            "password": PASSWORD,
            "tenant_ids": [str(world.tenant_a.id)],
        },
        headers=world.admin.headers,
    )
    assert r.status_code == 201, r.text
    employee = r.json()
    assert employee["email"] == "nina.neu@example.com"  # stored in lower case

    r = await login(client, "NINA.NEU@example.com", PASSWORD)  # the address logs in in any case
    assert r.status_code == 200, r.text
    assert r.json()["token_type"] == "bearer"
    me = await client.get(f"{API}/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"})
    assert me.status_code == 200
    assert me.json()["id"] == employee["id"] and me.json()["kind"] == "employee"
    assert me.json()["tenant_ids"] == [str(world.tenant_a.id)]

    assert_problem(await login(client, "nina.neu@example.com", "a wrong password"), 401)


async def test_employee_email_must_be_unique_ignoring_case(client, world):
    admin = world.admin.headers
    body = {"email": "nina@example.com", "name": "Nina", "password": PASSWORD}
    assert (await client.post(f"{API}/employees", json=body, headers=admin)).status_code == 201
    before = await all_items(client, world, f"{API}/employees")

    r = await client.post(f"{API}/employees", json={**body, "email": "NINA@Example.COM"}, headers=admin)
    assert_problem(r, 409)
    assert await all_items(client, world, f"{API}/employees") == before

    # Changing another employee's address onto it is refused too.
    r = await client.patch(
        f"{API}/employees/{world.employee_a.id}", json={"email": "Nina@example.com"}, headers=admin
    )
    assert_problem(r, 409)
    assert (await client.get(f"{API}/employees/{world.employee_a.id}", headers=admin)).json()[
        "email"
    ] == world.employee_a.email


async def test_parallel_changes_of_an_employees_tenants_each_succeed(client, world):
    """Each change waits for the one before (the tenants are link rows, replaced as a whole): none
    fails, least of all with a conflict about an e-mail address nobody sent."""
    url = f"{API}/employees/{world.employee_a.id}"
    both = [str(world.tenant_a.id), str(world.tenant_b.id)]
    for round_ in range(8):
        wanted = both if round_ % 2 == 0 else both[:1]
        answers = await asyncio.gather(
            *(client.patch(url, headers=world.admin.headers, json={"tenant_ids": wanted}) for _ in range(4))
        )
        assert [r.status_code for r in answers] == [200] * 4, [r.text for r in answers]
        assert sorted((await client.get(url, headers=world.admin.headers)).json()["tenant_ids"]) == sorted(
            wanted
        )


@pytest.mark.parametrize(
    "change",
    [{"is_admin": True}, {"notify_unassigned": True}, {"tenant_ids": []}, {"permission_group_ids": []}],
)
async def test_every_change_of_an_employee_moves_its_updated_at(client, world, change):
    url = f"{API}/employees/{world.employee_a.id}"
    before = (await client.get(url, headers=world.admin.headers)).json()
    if "permission_group_ids" in change:
        group = await client.post(
            f"{API}/permission-groups", headers=world.admin.headers, json={"name": "G", "permissions": []}
        )
        change = {"permission_group_ids": [group.json()["id"]]}
    r = await client.patch(url, headers=world.admin.headers, json=change)
    assert r.status_code == 200, r.text
    assert r.json()["updated_at"] > before["updated_at"]
    assert (await client.get(url, headers=world.admin.headers)).json()["updated_at"] == r.json()["updated_at"]
    # Sending what is there already changes nothing.
    again = await client.patch(url, headers=world.admin.headers, json=change)
    assert again.json()["updated_at"] == r.json()["updated_at"]


async def test_deactivated_employee_loses_its_session(client, world):
    admin, anna = world.admin.headers, world.employee_a
    assert (await client.get(f"{API}/me", headers=anna.headers)).status_code == 200

    r = await client.patch(f"{API}/employees/{anna.id}", json={"is_active": False}, headers=admin)
    assert r.status_code == 200 and r.json()["is_active"] is False

    assert_problem(await client.get(f"{API}/me", headers=anna.headers), 401)
    assert_problem(await client.get(f"{API}/sites", headers=anna.headers), 401)
    assert_problem(await login(client, anna.email, anna.password), 401)

    # Reactivated, she logs in afresh; the token from before stays dead.
    r = await client.patch(f"{API}/employees/{anna.id}", json={"is_active": True}, headers=admin)
    assert r.status_code == 200
    r = await login(client, anna.email, anna.password)
    assert r.status_code == 200, r.text
    assert_problem(await client.get(f"{API}/me", headers=anna.headers), 401)


@pytest.mark.parametrize("change", [{"is_active": False}, {"is_admin": False}])
async def test_admin_cannot_lock_itself_out(client, world, change):
    url = f"{API}/employees/{world.admin.id}"
    before = (await client.get(url, headers=world.admin.headers)).json()

    assert_problem(await client.patch(url, json=change, headers=world.admin.headers), 409)

    assert (await client.get(url, headers=world.admin.headers)).json() == before
    # Still an admin with a working session.
    assert (await client.get(f"{API}/permission-groups", headers=world.admin.headers)).status_code == 200


async def test_admin_cannot_delete_itself(client, world):
    url = f"{API}/employees/{world.admin.id}"
    assert_problem(await client.delete(url, headers=world.admin.headers), 409)
    assert (await client.get(url, headers=world.admin.headers)).status_code == 200


async def test_another_admin_can_deactivate_an_admin(client, world):
    """The self-protection is about oneself only."""
    r = await client.patch(
        f"{API}/employees/{world.admin_no_insight.id}", json={"is_active": False}, headers=world.admin.headers
    )
    assert r.status_code == 200 and r.json()["is_active"] is False
    assert_problem(await client.get(f"{API}/me", headers=world.admin_no_insight.headers), 401)


async def outbox(database) -> list[dict[str, Any]]:
    async with database.engine.connect() as conn:
        rows = await conn.execute(text("SELECT kind, recipient, subject, body_text FROM outbox"))
        return [dict(r._mapping) for r in rows]


async def test_employee_without_password_is_invited_by_mail(client, world, database):
    r = await client.post(
        f"{API}/employees",
        json={"email": "Otto@Example.com", "name": "Otto Ohnepass", "tenant_ids": [str(world.tenant_a.id)]},
        headers=world.admin.headers,
    )
    assert r.status_code == 201, r.text

    mails = await outbox(database)
    assert len(mails) == 1
    assert mails[0]["recipient"] == "otto@example.com"
    assert mails[0]["kind"] == "invitation"
    assert "Otto Ohnepass" in mails[0]["body_text"]

    # No password yet: nothing logs in.
    assert_problem(await login(client, "otto@example.com", PASSWORD), 401)

    # The mailed link sets the password once.
    match = re.search(r"[?&]token=([A-Za-z0-9_-]+)", mails[0]["body_text"])
    assert match, mails[0]["body_text"]
    body = {"token": match.group(1), "password": PASSWORD}
    assert (await client.post(f"{API}/auth/password", json=body)).status_code == 204
    assert (await login(client, "otto@example.com", PASSWORD)).status_code == 200
    again = await client.post(f"{API}/auth/password", json={**body, "password": "another long password"})
    assert_problem(again, 422)


async def test_employee_with_password_gets_no_invitation(client, world, database):
    body = {"email": "paula@example.com", "name": "Paula", "password": PASSWORD}
    assert (await client.post(f"{API}/employees", json=body, headers=world.admin.headers)).status_code == 201
    assert await outbox(database) == []


async def test_refused_employee_creation_sends_no_mail(client, world, database):
    # A duplicate address is refused, and the refused request must not have mailed an invitation.
    body = {"email": "otto@example.com", "name": "Otto"}
    assert (await client.post(f"{API}/employees", json=body, headers=world.admin.headers)).status_code == 201
    assert_problem(await client.post(f"{API}/employees", json=body, headers=world.admin.headers), 409)
    assert [m["recipient"] for m in await outbox(database)] == ["otto@example.com"]


# -- permission groups ---------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["create", "update"])
async def test_unknown_permission_is_422(client, world, action):
    admin = world.admin.headers
    permissions = ["insight:manage", "tickets:delete_everything"]
    if action == "create":
        r = await client.post(
            f"{API}/permission-groups", json={"name": "Allmacht", "permissions": permissions}, headers=admin
        )
    else:
        group = (await all_items(client, world, f"{API}/permission-groups"))[0]
        r = await client.patch(
            f"{API}/permission-groups/{group['id']}", json={"permissions": permissions}, headers=admin
        )
    assert ["body", "permissions", 1] in locs(assert_problem(r, 422))


async def test_permission_group_held_by_an_employee_cannot_be_deleted(client, world):
    admin = world.admin.headers
    r = await client.post(
        f"{API}/permission-groups",
        json={"name": "Vorlagen", "permissions": ["check:templates:manage"]},
        headers=admin,
    )
    group = r.json()
    r = await client.post(
        f"{API}/employees",
        json={
            "email": "vera@example.com",
            "name": "Vera",
            "password": PASSWORD,
            "permission_group_ids": [group["id"]],
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    employee = r.json()

    assert_problem(await client.delete(f"{API}/permission-groups/{group['id']}", headers=admin), 409)
    assert (await client.get(f"{API}/permission-groups/{group['id']}", headers=admin)).json() == group
    r = await client.get(f"{API}/employees/{employee['id']}", headers=admin)
    assert r.json()["permission_group_ids"] == [group["id"]]

    # Once nobody holds it, it can go.
    r = await client.patch(
        f"{API}/employees/{employee['id']}", json={"permission_group_ids": []}, headers=admin
    )
    assert r.status_code == 200
    assert (await client.delete(f"{API}/permission-groups/{group['id']}", headers=admin)).status_code == 204


async def test_permissions_of_a_group_reach_its_members(client, world):
    """Granting `check:templates:manage` through a group shows up in the member's /me at once."""
    admin = world.admin.headers
    r = await client.post(
        f"{API}/permission-groups",
        json={"name": "Vorlagen", "permissions": ["check:templates:manage"]},
        headers=admin,
    )
    group_id = r.json()["id"]
    r = await client.patch(
        f"{API}/employees/{world.employee_a.id}", json={"permission_group_ids": [group_id]}, headers=admin
    )
    assert r.status_code == 200, r.text
    me = await client.get(f"{API}/me", headers=world.employee_a.headers)
    assert me.json()["permissions"] == ["check:templates:manage"]


@pytest.mark.parametrize("email", ["hausmeister@firma.local", "test.user@blink.test"])
async def test_internal_and_test_domains_are_valid_addresses(client, world, email):
    r = await client.post(
        f"{API}/employees",
        headers=world.admin.headers,
        json={"email": email, "name": "Intern", "password": "lang-genug-1"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["email"] == email


async def test_malformed_address_is_refused(client, world):
    r = await client.post(
        f"{API}/employees", headers=world.admin.headers, json={"email": "kein-at.example.com", "name": "X"}
    )
    assert_problem(r, 422)
