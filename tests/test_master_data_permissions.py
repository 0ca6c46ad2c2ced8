"""Every caller who must be refused on every master-data endpoint, and proof that nothing changed."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

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


@dataclass(frozen=True)
class Resource:
    path: str
    create: Callable[[World], dict[str, Any]]  # a body an admin may POST
    change: dict[str, Any]  # a body an admin may PATCH


RESOURCES: dict[str, Resource] = {
    "tenants": Resource(f"{API}/tenants", lambda w: {"name": "Ost", "code": "OST"}, {"name": "Umbenannt"}),
    "sites": Resource(
        f"{API}/sites",
        lambda w: {"tenant_id": str(w.tenant_a.id), "customer_id": str(w.customer_x.id), "name": "Neubau"},
        {"name": "Umbenannt"},
    ),
    "ticket-types": Resource(
        f"{API}/ticket-types",
        lambda w: {"tenant_id": str(w.tenant_a.id), "name": "Glasreinigung"},
        {"name": "Umbenannt"},
    ),
    "customers": Resource(f"{API}/customers", lambda w: {"name": "Elbe Wohnen"}, {"name": "Umbenannt"}),
    "employees": Resource(
        f"{API}/employees",
        lambda w: {
            "email": "nina@example.com",
            "name": "Nina Neu",
            "password": "a long enough password",
            "tenant_ids": [str(w.tenant_a.id)],
        },
        {"name": "Umbenannt"},
    ),
    "permission-groups": Resource(
        f"{API}/permission-groups",
        lambda w: {"name": "Vorlagen", "permissions": ["check:templates:manage"]},
        {"name": "Umbenannt"},
    ),
}

NON_ADMINS = ("employee_a", "insight_no_admin", "customer_user_x")


def headers_of(world: World, caller: str) -> dict[str, str]:
    return {} if caller == "anonymous" else getattr(world, caller).headers


async def fresh_item(database, ctx, world: World, resource: str) -> uuid.UUID:
    """An unreferenced item of `resource` (an admin could delete it), in tenant A where that applies."""
    async with database.sessionmaker.begin() as s:
        tenant_a = await s.get(Tenant, world.tenant_a.id)
        if resource == "tenants":
            return (await make_tenant(s)).id
        if resource == "sites":
            return (await make_site(s, tenant=tenant_a, customer=world.customer_x)).id
        if resource == "ticket-types":
            return (await make_ticket_type(s, tenant=tenant_a)).id
        if resource == "customers":
            return (await make_customer(s)).id
        if resource == "employees":
            return (await make_employee(s, ctx, tenants=[tenant_a])).id
        return (await make_group(s, ["check:templates:manage"])).id


def write_request(world: World, resource: str, item_id: uuid.UUID, action: str) -> tuple[str, str, Any, int]:
    """Method, url and body of a valid write, and the status a full admin gets for it."""
    spec = RESOURCES[resource]
    return {
        "create": ("POST", spec.path, spec.create(world), 201),
        "update": ("PATCH", f"{spec.path}/{item_id}", spec.change, 200),
        "delete": ("DELETE", f"{spec.path}/{item_id}", None, 204),
    }[action]


async def admin_view(client, world: World, url: str) -> Any:
    """What an admin holding every permission sees at `url` (a whole list when `url` is a collection)."""
    r = await client.get(url, params={"limit": 200}, headers=world.admin.headers)
    assert r.status_code == 200, r.text
    return r.json()


# -- writes --------------------------------------------------------------------------------------

WRITE_REFUSALS = [
    *[("anonymous", resource, 401) for resource in RESOURCES],
    *[(caller, resource, 403) for caller in NON_ADMINS for resource in RESOURCES],
    # An admin without `insight:manage` manages everything except the customer portal.
    ("admin_no_insight", "customers", 403),
]


@pytest.mark.parametrize("action", ["create", "update", "delete"])
@pytest.mark.parametrize(("caller", "resource", "status"), WRITE_REFUSALS)
async def test_refused_write_changes_nothing(client, world, database, ctx, caller, resource, status, action):
    spec = RESOURCES[resource]
    item_id = await fresh_item(database, ctx, world, resource)
    method, url, body, allowed = write_request(world, resource, item_id, action)
    before = await admin_view(client, world, spec.path)

    assert_problem(await client.request(method, url, json=body, headers=headers_of(world, caller)), status)

    # The admin's view of the whole collection is byte-for-byte the same: nothing added, changed or gone.
    assert await admin_view(client, world, spec.path) == before
    # The very same request succeeds for a full admin, so the refusal was about the caller, not the input.
    r = await client.request(method, url, json=body, headers=world.admin.headers)
    assert r.status_code == allowed, r.text


@pytest.mark.parametrize("action", ["create", "update", "delete"])
@pytest.mark.parametrize("resource", [r for r in RESOURCES if r != "customers"])
async def test_admin_without_insight_manage_still_manages_the_rest(
    client, world, database, ctx, resource, action
):
    """`insight:manage` fences off the customer portal only, not the other master data."""
    item_id = await fresh_item(database, ctx, world, resource)
    method, url, body, allowed = write_request(world, resource, item_id, action)
    if resource == "permission-groups" and action == "create":
        # It holds no permission, so its groups grant none (tests/test_privilege_escalation.py).
        body = {**body, "permissions": []}
    r = await client.request(method, url, json=body, headers=world.admin_no_insight.headers)
    assert r.status_code == allowed, r.text


async def test_customer_user_cannot_change_a_site_it_sees(client, world):
    """A site the customer user is assigned to is visible to it, yet still not its to edit or delete."""
    url = f"{API}/sites/{world.site_a1.id}"
    assert (await client.get(url, headers=world.customer_user_x.headers)).status_code == 200
    before = await admin_view(client, world, url)
    h = world.customer_user_x.headers
    assert_problem(await client.patch(url, json={"name": "Meins"}, headers=h), 403)
    assert_problem(await client.delete(url, headers=h), 403)
    assert await admin_view(client, world, url) == before


@pytest.mark.parametrize(
    ("caller", "resource", "foreign"),
    [
        ("employee_a", "tenants", "tenant_b"),
        ("employee_a", "sites", "site_b1"),
        ("employee_a", "ticket-types", "type_b"),
        ("employee_a", "employees", "employee_b"),
        ("customer_user_x", "sites", "site_b1"),
    ],
)
async def test_refused_write_does_not_reveal_whether_the_item_exists(
    client, world, caller, resource, foreign
):
    """Out-of-scope and non-existent ids get the same answer, so ids cannot be probed."""
    path, h = RESOURCES[resource].path, headers_of(world, caller)
    change = RESOURCES[resource].change
    existing = await client.patch(f"{path}/{getattr(world, foreign).id}", json=change, headers=h)
    missing = await client.patch(f"{path}/{uuid.uuid4()}", json=change, headers=h)
    assert existing.status_code == missing.status_code
    assert_problem(existing, existing.status_code)
    assert existing.json()["detail"] == missing.json()["detail"]


# -- reads ---------------------------------------------------------------------------------------

READ_REFUSALS = [
    *[("anonymous", resource, 401) for resource in RESOURCES],
    *[("customer_user_x", resource, 403) for resource in RESOURCES if resource != "sites"],
    # Customers and permission groups are not tenant data: non-admins see none of them at all.
    *[(c, r, 403) for c in ("employee_a", "insight_no_admin") for r in ("customers", "permission-groups")],
    ("admin_no_insight", "customers", 403),
]


@pytest.mark.parametrize("action", ["list", "read"])
@pytest.mark.parametrize(("caller", "resource", "status"), READ_REFUSALS)
async def test_refused_read(client, world, database, ctx, caller, resource, status, action):
    path = RESOURCES[resource].path
    item_id = await fresh_item(database, ctx, world, resource)
    url = path if action == "list" else f"{path}/{item_id}"

    body = assert_problem(await client.get(url, headers=headers_of(world, caller)), status)
    assert "items" not in body and "name" not in body  # a refusal carries no data

    # The admin does see it, so the refusal hid something real.
    seen = await admin_view(client, world, url)
    ids = {i["id"] for i in seen["items"]} if action == "list" else {seen["id"]}
    assert str(item_id) in ids


@pytest.mark.parametrize("resource", list(RESOURCES))
async def test_invalid_or_tampered_token_is_401(client, world, resource):
    for token in ("not-a-jwt", world.admin.token[:-4] + "AAAA"):  # garbage, and a tampered signature
        r = await client.get(RESOURCES[resource].path, headers={"Authorization": f"Bearer {token}"})
        assert_problem(r, 401)


# Which world rows belong to tenant A and tenant B, per tenant-scoped resource.
TENANT_ROWS = {
    "tenants": {"a": ["tenant_a"], "b": ["tenant_b"]},
    "sites": {"a": ["site_a1", "site_a2"], "b": ["site_b1"]},
    "ticket-types": {"a": ["type_a", "absence_a"], "b": ["type_b"]},
    # The admins belong to no tenant, so colleagues are exactly the employees sharing one.
    "employees": {"a": ["employee_a", "insight_no_admin"], "b": ["employee_b"]},
}


@pytest.mark.parametrize("resource", list(TENANT_ROWS))
@pytest.mark.parametrize(("caller", "own", "other"), [("employee_a", "a", "b"), ("employee_b", "b", "a")])
async def test_employee_sees_only_its_tenants_rows(client, world, resource, caller, own, other):
    path, h = RESOURCES[resource].path, headers_of(world, caller)
    own_ids = {str(getattr(world, n).id) for n in TENANT_ROWS[resource][own]}
    other_ids = {str(getattr(world, n).id) for n in TENANT_ROWS[resource][other]}

    r = await client.get(path, headers=h)
    assert r.status_code == 200, r.text
    assert {i["id"] for i in r.json()["items"]} == own_ids

    for item_id in own_ids:
        assert (await client.get(f"{path}/{item_id}", headers=h)).status_code == 200
    missing = assert_problem(await client.get(f"{path}/{uuid.uuid4()}", headers=h), 404)
    for item_id in other_ids:
        # Exactly like an id that does not exist: nothing tells the caller the row is there.
        body = assert_problem(await client.get(f"{path}/{item_id}", headers=h), 404)
        assert body["detail"] == missing["detail"]

    if resource != "tenants":
        # Filtering for the other tenant does not widen the view.
        other_tenant = getattr(world, f"tenant_{other}").id
        r = await client.get(path, params={"tenant_id": str(other_tenant)}, headers=h)
        assert r.status_code == 200 and r.json()["items"] == []


@pytest.mark.parametrize(
    ("caller", "visible", "hidden", "other_customer", "other_tenant"),
    [
        # Site A2 belongs to customer X too, but is not assigned to this user.
        ("customer_user_x", ["site_a1"], ["site_a2", "site_b1"], "customer_y", "tenant_b"),
        ("customer_user_x2", [], ["site_a1", "site_a2", "site_b1"], "customer_y", "tenant_b"),
        ("customer_user_y", ["site_b1"], ["site_a1", "site_a2"], "customer_x", "tenant_a"),
    ],
)
async def test_customer_user_sees_only_its_assigned_sites(
    client, world, caller, visible, hidden, other_customer, other_tenant
):
    h = headers_of(world, caller)
    visible_ids = {str(getattr(world, n).id) for n in visible}

    r = await client.get(f"{API}/sites", headers=h)
    assert r.status_code == 200, r.text
    assert {i["id"] for i in r.json()["items"]} == visible_ids
    assert r.json()["next_cursor"] is None

    for site_id in visible_ids:
        assert (await client.get(f"{API}/sites/{site_id}", headers=h)).status_code == 200
    missing = assert_problem(await client.get(f"{API}/sites/{uuid.uuid4()}", headers=h), 404)
    for name in hidden:
        body = assert_problem(await client.get(f"{API}/sites/{getattr(world, name).id}", headers=h), 404)
        assert body["detail"] == missing["detail"]

    # Filters naming another customer or tenant do not widen the view.
    for param, value in [("customer_id", other_customer), ("tenant_id", other_tenant)]:
        r = await client.get(f"{API}/sites", params={param: str(getattr(world, value).id)}, headers=h)
        assert r.status_code == 200 and r.json()["items"] == []


# -- the rest of the customer portal configuration ----------------------------------------------

# name -> (method, url, body, url an admin reads to see whether anything changed, admin's status)
PortalRequest = tuple[str, str, Any, str, int]


def portal_request(w: World, name: str) -> PortalRequest:
    customer = f"{API}/customers/{w.customer_x.id}"
    user = f"{API}/customer-users/{w.customer_user_x.id}"
    return {
        "users:list": ("GET", f"{customer}/users", None, f"{customer}/users", 200),
        "users:create": (
            "POST",
            f"{customer}/users",
            {"email": "neu@hansa.de", "name": "Neu", "password": "a long enough password"},
            f"{customer}/users",
            201,
        ),
        "ticket-settings:read": (
            "GET",
            f"{customer}/ticket-settings",
            None,
            f"{customer}/ticket-settings",
            200,
        ),
        "ticket-settings:put": (
            "PUT",
            f"{customer}/ticket-settings",
            {"enabled_ticket_type_ids": [str(w.type_a.id)], "document_sources": []},
            f"{customer}/ticket-settings",
            200,
        ),
        "evaluation-settings:read": (
            "GET",
            f"{customer}/evaluation-settings",
            None,
            f"{customer}/evaluation-settings",
            200,
        ),
        "evaluation-settings:put": (
            "PUT",
            f"{customer}/evaluation-settings",
            {"ticket_evaluation_enabled": True, "group_days": 3},
            f"{customer}/evaluation-settings",
            200,
        ),
        "changes:list": ("GET", f"{customer}/changes", None, f"{customer}/changes", 200),
        "user:read": ("GET", user, None, user, 200),
        "user:update": ("PATCH", user, {"name": "Umbenannt"}, user, 200),
        "user:delete": ("DELETE", user, None, f"{customer}/users", 204),
        "user-sites:read": ("GET", f"{user}/sites", None, f"{user}/sites", 200),
        "user-sites:put": ("PUT", f"{user}/sites", {"site_ids": [str(w.site_a2.id)]}, f"{user}/sites", 200),
    }[name]


PORTAL_NAMES = [
    "users:list",
    "users:create",
    "ticket-settings:read",
    "ticket-settings:put",
    "evaluation-settings:read",
    "evaluation-settings:put",
    "changes:list",
    "user:read",
    "user:update",
    "user:delete",
    "user-sites:read",
    "user-sites:put",
]
PORTAL_REFUSALS = [
    ("anonymous", 401),
    ("admin_no_insight", 403),
    ("insight_no_admin", 403),
    ("employee_a", 403),
    ("customer_user_x", 403),  # even about its own customer and its own login
]


@pytest.mark.parametrize("name", PORTAL_NAMES)
@pytest.mark.parametrize(("caller", "status"), PORTAL_REFUSALS)
async def test_portal_configuration_needs_admin_with_insight_manage(client, world, caller, status, name):
    method, url, body, witness, allowed = portal_request(world, name)
    before = await admin_view(client, world, witness)

    refused = assert_problem(
        await client.request(method, url, json=body, headers=headers_of(world, caller)), status
    )
    assert "site_ids" not in refused and "items" not in refused

    assert await admin_view(client, world, witness) == before
    r = await client.request(method, url, json=body, headers=world.admin.headers)
    assert r.status_code == allowed, r.text
