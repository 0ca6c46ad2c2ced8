"""Nobody grants, takes away or takes over a permission they do not hold, by any path.

The hostile caller is an administrator without `insight:manage` (`world.admin_no_insight`): every
way it could come to configure the customer portal, or could take the permission from those who
have it, is refused with 403 naming the permission, and leaves every employee and group as it was.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from tests.factories import Actor, World, make_employee, make_group
from tests.kit import API, assert_problem

INSIGHT = "insight:manage"
TEMPLATES = "check:templates:manage"
NEW_PASSWORD = "Kranich fliegt über Elbe"


def assert_refused(r, permission: str = INSIGHT) -> dict[str, Any]:
    body = assert_problem(r, 403)
    assert body["type"] == "/problems/forbidden"
    assert f"'{permission}'" in body["detail"], body["detail"]
    return body


async def everything(client, world: World) -> dict[str, Any]:
    """Every employee and group as an admin holding every permission sees them."""
    seen: dict[str, Any] = {}
    for path in ("employees", "permission-groups"):
        r = await client.get(f"{API}/{path}", params={"limit": 200}, headers=world.admin.headers)
        assert r.status_code == 200, r.text
        seen[path] = r.json()["items"]
    return seen


async def login(client, email: str, password: str):
    return await client.post(f"{API}/auth/token", data={"username": email, "password": password})


async def me(client, actor: Actor) -> dict[str, Any]:
    r = await client.get(f"{API}/me", headers=actor.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def group_with(database, permissions: list[str]) -> str:
    async with database.sessionmaker.begin() as s:
        return str((await make_group(s, permissions)).id)


async def outbox_count(database) -> int:
    async with database.engine.connect() as conn:
        return (await conn.execute(text("SELECT count(*) FROM outbox"))).scalar_one()


# -- the reported path ---------------------------------------------------------------------------


async def test_admin_cannot_give_itself_insight_manage_through_a_group(client, world, database):
    hostile = world.admin_no_insight
    insight_group = await group_with(database, [INSIGHT])
    before = await everything(client, world)

    r = await client.patch(
        f"{API}/employees/{hostile.id}",
        json={"permission_group_ids": [insight_group]},
        headers=hostile.headers,
    )
    assert_refused(r)

    assert await everything(client, world) == before
    assert (await me(client, hostile))["permissions"] == []
    # Still fenced off from the customer portal.
    assert (await client.get(f"{API}/customers", headers=hostile.headers)).status_code == 403


async def test_admin_cannot_take_over_an_insight_admin_by_setting_its_password(client, world):
    hostile, victim = world.admin_no_insight, world.admin
    before = await everything(client, world)

    r = await client.patch(
        f"{API}/employees/{victim.id}", json={"password": NEW_PASSWORD}, headers=hostile.headers
    )
    body = assert_refused(r)
    assert "password" in body["detail"]

    assert await everything(client, world) == before
    assert (await login(client, victim.email, NEW_PASSWORD)).status_code == 401
    assert (await login(client, victim.email, victim.password)).status_code == 200
    # The victim's session was not ended either.
    assert (await client.get(f"{API}/me", headers=victim.headers)).status_code == 200


# -- granting, by every path ---------------------------------------------------------------------


async def grant_setup(database, ctx, world: World) -> dict[str, str]:
    """Groups to grant through: one holding insight:manage, the caller's own, another employee's, one
    nobody holds; and a second administrator without insight:manage."""
    async with database.sessionmaker.begin() as s:
        ids = {
            "insight": (await make_group(s, [INSIGHT])).id,
            "own": (await make_group(s, [])).id,
            "others": (await make_group(s, [TEMPLATES])).id,
            "empty": (await make_group(s, [])).id,
            "other_admin": (await make_employee(s, ctx, is_admin=True)).id,
        }
        await s.execute(
            text("INSERT INTO employee_permission_groups VALUES (:e, :g), (:e2, :g2)"),
            {"e": world.admin_no_insight.id, "g": ids["own"], "e2": world.employee_b.id, "g2": ids["others"]},
        )
    return {key: str(value) for key, value in ids.items()}


def patch_employee(target: str, change: str):
    async def request(client, caller: Actor, world: World, ids: dict[str, str]):
        target_id = ids[target] if target in ids else str(getattr(world, target).id)
        body = {
            "groups": {"permission_group_ids": [ids["insight"]]},
            "is_admin": {"is_admin": True},
        }[change]
        return await client.patch(f"{API}/employees/{target_id}", json=body, headers=caller.headers)

    return request


def create_employee(*, is_admin: bool, password: bool):
    async def request(client, caller: Actor, world: World, ids: dict[str, str]):
        body: dict[str, Any] = {
            "email": "neu@example.com",
            "name": "Nora Neu",
            "is_admin": is_admin,
            "permission_group_ids": [ids["insight"]],
        }
        if password:
            body["password"] = NEW_PASSWORD
        return await client.post(f"{API}/employees", json=body, headers=caller.headers)

    return request


def create_group():
    async def request(client, caller: Actor, world: World, ids: dict[str, str]):
        body = {"name": "Portal", "permissions": [INSIGHT]}
        return await client.post(f"{API}/permission-groups", json=body, headers=caller.headers)

    return request


def add_to_group(which: str):
    async def request(client, caller: Actor, world: World, ids: dict[str, str]):
        return await client.patch(
            f"{API}/permission-groups/{ids[which]}", json={"permissions": [INSIGHT]}, headers=caller.headers
        )

    return request


GRANTS = {
    "employee PATCH of itself, a group holding it": patch_employee("admin_no_insight", "groups"),
    "employee PATCH of another admin, a group holding it": patch_employee("other_admin", "groups"),
    "employee PATCH of a non-admin, a group holding it (dormant)": patch_employee("employee_a", "groups"),
    "employee PATCH, is_admin puts a dormant grant in force": patch_employee("insight_no_admin", "is_admin"),
    "employee create, an admin in a group holding it": create_employee(is_admin=True, password=True),
    "employee create, a non-admin in a group holding it": create_employee(is_admin=False, password=True),
    "employee create, invited by mail into a group holding it": create_employee(
        is_admin=True, password=False
    ),
    "group create holding it": create_group(),
    "group PATCH adding it to the caller's own group": add_to_group("own"),
    "group PATCH adding it to another employee's group": add_to_group("others"),
    "group PATCH adding it to a group nobody holds yet": add_to_group("empty"),
}


@pytest.mark.parametrize("path", GRANTS)
async def test_admin_cannot_grant_a_permission_it_lacks(client, world, database, ctx, path):
    ids = await grant_setup(database, ctx, world)
    before = await everything(client, world)
    mails = await outbox_count(database)

    assert_refused(await GRANTS[path](client, world.admin_no_insight, world, ids))

    # No employee, membership, is_admin or group changed, no invitation went out.
    assert await everything(client, world) == before
    assert await outbox_count(database) == mails
    assert (await client.get(f"{API}/customers", headers=world.admin_no_insight.headers)).status_code == 403


@pytest.mark.parametrize("path", GRANTS)
async def test_an_admin_holding_every_permission_may_take_each_path(client, world, database, ctx, path):
    ids = await grant_setup(database, ctx, world)
    r = await GRANTS[path](client, world.admin, world, ids)
    # SPEC names no success code here: the service answers 201 to a create (POST), 200 to a change (PATCH).
    assert r.status_code == (201 if r.request.method == "POST" else 200), r.text


# -- taking away ---------------------------------------------------------------------------------


TAKE_AWAY = {
    "its groups emptied": {"permission_group_ids": []},
    "administrator rights taken": {"is_admin": False},
    "deactivated": {"is_active": False},
}


@pytest.mark.parametrize("change", TAKE_AWAY)
async def test_admin_cannot_take_a_permission_it_lacks_from_its_holder(client, world, change):
    hostile, holder = world.admin_no_insight, world.admin
    before = await everything(client, world)

    r = await client.patch(f"{API}/employees/{holder.id}", json=TAKE_AWAY[change], headers=hostile.headers)
    assert_refused(r)

    assert await everything(client, world) == before
    assert (await client.get(f"{API}/customers", headers=holder.headers)).status_code == 200


async def test_admin_cannot_delete_a_holder_of_a_permission_it_lacks(client, world):
    hostile, holder = world.admin_no_insight, world.admin
    before = await everything(client, world)

    assert_refused(await client.delete(f"{API}/employees/{holder.id}", headers=hostile.headers))

    assert await everything(client, world) == before


async def test_admin_cannot_remove_a_permission_it_lacks_from_a_group(client, world, database):
    """Else a non-holder could strip every holder, and nobody could grant it again."""
    hostile = world.admin_no_insight
    group = await group_with(database, [INSIGHT, TEMPLATES])
    before = await everything(client, world)

    r = await client.patch(
        f"{API}/permission-groups/{group}", json={"permissions": [TEMPLATES]}, headers=hostile.headers
    )
    assert_refused(r)

    assert await everything(client, world) == before


async def test_reactivating_a_holder_is_refused_too(client, world):
    """Deactivation and reactivation of a holder belong to those holding what it holds."""
    holder = world.admin
    r = await client.patch(
        f"{API}/employees/{world.insight_no_admin.id}", json={"is_active": False}, headers=holder.headers
    )
    assert r.status_code == 200, r.text
    before = await everything(client, world)

    r = await client.patch(
        f"{API}/employees/{world.insight_no_admin.id}",
        json={"is_active": True},
        headers=world.admin_no_insight.headers,
    )
    assert_refused(r)
    assert await everything(client, world) == before


# -- taking over ---------------------------------------------------------------------------------


TAKE_OVER = {
    "password": {"password": NEW_PASSWORD},
    "e-mail address": {"email": "mine-now@example.com"},
}


@pytest.mark.parametrize("victim", ["admin", "insight_no_admin"])
@pytest.mark.parametrize("field", TAKE_OVER)
async def test_admin_cannot_change_the_credentials_of_a_holder(client, world, field, victim):
    """A holder's password and address decide who logs in as it: a dormant holding counts too."""
    hostile, target = world.admin_no_insight, getattr(world, victim)
    before = await everything(client, world)

    r = await client.patch(f"{API}/employees/{target.id}", json=TAKE_OVER[field], headers=hostile.headers)
    body = assert_refused(r)
    assert field in body["detail"]

    assert await everything(client, world) == before
    assert (await login(client, target.email, target.password)).status_code == 200
    assert (await client.get(f"{API}/me", headers=target.headers)).status_code == 200


async def test_admin_holding_only_templates_cannot_take_over_an_insight_admin(client, world, database, ctx):
    async with database.sessionmaker.begin() as s:
        templates_admin = await make_employee(s, ctx, is_admin=True, permissions=[TEMPLATES])
    before = await everything(client, world)

    r = await client.patch(
        f"{API}/employees/{world.admin.id}", json={"password": NEW_PASSWORD}, headers=templates_admin.headers
    )
    assert_refused(r)
    assert await everything(client, world) == before


async def test_sending_the_current_address_again_is_no_change(client, world):
    """A form that sends every field back unchanged is not refused for the address it did not change."""
    target = world.admin
    r = await client.patch(
        f"{API}/employees/{target.id}",
        json={"email": target.email.upper(), "name": "Anna Admin"},
        headers=world.admin_no_insight.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["email"] == target.email and r.json()["name"] == "Anna Admin"


# -- what stays allowed --------------------------------------------------------------------------


async def test_admin_without_insight_manages_employees_holding_nothing_more(client, world):
    """Tenants, names, passwords, addresses, is_admin: all fine for accounts holding no more than it."""
    hostile, anna = world.admin_no_insight, world.employee_a
    r = await client.patch(
        f"{API}/employees/{anna.id}",
        json={
            "password": NEW_PASSWORD,
            "email": "anna.neu@example.com",
            "is_admin": True,
            "tenant_ids": [str(world.tenant_a.id), str(world.tenant_b.id)],
            "name": "Anna Neu",
        },
        headers=hostile.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["is_admin"] is True
    assert (await login(client, "anna.neu@example.com", NEW_PASSWORD)).status_code == 200
    # Tenants of an insight holder: no permission changes hands.
    r = await client.patch(
        f"{API}/employees/{world.insight_no_admin.id}",
        json={"tenant_ids": [str(world.tenant_b.id)]},
        headers=hostile.headers,
    )
    assert r.status_code == 200, r.text
    # Its own password too (which ends its session).
    r = await client.patch(
        f"{API}/employees/{hostile.id}", json={"password": NEW_PASSWORD}, headers=hostile.headers
    )
    assert r.status_code == 200, r.text
    assert (await login(client, hostile.email, NEW_PASSWORD)).status_code == 200


async def test_admin_grants_what_it_holds(client, world, database, ctx):
    """An admin holding only check:templates:manage hands out exactly that, and renames any group."""
    async with database.sessionmaker.begin() as s:
        templates_admin = await make_employee(s, ctx, is_admin=True, permissions=[TEMPLATES])
    h = templates_admin.headers

    r = await client.post(
        f"{API}/permission-groups", json={"name": "Vorlagen", "permissions": [TEMPLATES]}, headers=h
    )
    assert r.status_code == 201, r.text
    group = r.json()["id"]
    r = await client.patch(
        f"{API}/employees/{world.employee_a.id}", json={"permission_group_ids": [group]}, headers=h
    )
    assert r.status_code == 200, r.text
    assert (await me(client, world.employee_a))["permissions"] == [TEMPLATES]
    # ... and takes it away again.
    r = await client.patch(f"{API}/permission-groups/{group}", json={"permissions": []}, headers=h)
    assert r.status_code == 200, r.text
    assert (await me(client, world.employee_a))["permissions"] == []
    # Renaming a group holding insight:manage changes nobody's permissions.
    insight_group = await group_with(database, [INSIGHT])
    r = await client.patch(f"{API}/permission-groups/{insight_group}", json={"name": "Portal"}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["permissions"] == [INSIGHT]
    # But it cannot be handed on.
    r = await client.patch(
        f"{API}/employees/{world.employee_a.id}", json={"permission_group_ids": [insight_group]}, headers=h
    )
    assert_refused(r)


async def test_holder_gives_insight_manage_to_another_admin_who_then_configures_the_portal(
    client, world, database
):
    insight_group = await group_with(database, [INSIGHT])
    target = world.admin_no_insight
    r = await client.patch(
        f"{API}/employees/{target.id}",
        json={"permission_group_ids": [insight_group]},
        headers=world.admin.headers,
    )
    assert r.status_code == 200, r.text
    assert (await client.get(f"{API}/customers", headers=target.headers)).status_code == 200
    # And the full admin can take it back, reset passwords and addresses of every kind of account.
    r = await client.patch(
        f"{API}/employees/{target.id}",
        json={"permission_group_ids": [], "password": NEW_PASSWORD, "email": "neu@example.test"},
        headers=world.admin.headers,
    )
    assert r.status_code == 200, r.text
    assert (await login(client, "neu@example.test", NEW_PASSWORD)).status_code == 200


async def test_unused_group_holding_a_permission_one_lacks_can_be_deleted(client, world, database):
    """Only a group nobody holds can be deleted, so deleting it takes nothing from anyone."""
    group = await group_with(database, [INSIGHT])
    h = world.admin_no_insight.headers
    assert (await client.delete(f"{API}/permission-groups/{group}", headers=h)).status_code == 204
