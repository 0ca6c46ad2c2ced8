"""Customer-portal configuration: customer users, their sites, ticket and evaluation settings, audit trail."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text

from tests.factories import World, make_employee, make_ticket_type
from tests.kit import API, assert_problem

NEW_PASSWORD = "ein sehr langes Passwort"


def headers_of(world: World, caller: str) -> dict[str, str]:
    return {} if caller == "anonymous" else getattr(world, caller).headers


async def login(client, email: str, password: str):
    return await client.post(f"{API}/auth/token", data={"username": email, "password": password})


async def outbox_rows(database) -> list[dict[str, Any]]:
    async with database.sessionmaker() as s:
        rows = await s.execute(text("SELECT recipient, kind, subject, body_text, body_html FROM outbox"))
        return [dict(r._mapping) for r in rows]


async def admin_view(client, world: World) -> dict[str, Any]:
    """Everything an insight admin sees of customer X's configuration, to prove a refusal changed nothing."""
    h = world.admin.headers
    x = world.customer_x.id
    view: dict[str, Any] = {}
    for key, path in {
        "users": f"{API}/customers/{x}/users",
        "ticket_settings": f"{API}/customers/{x}/ticket-settings",
        "evaluation_settings": f"{API}/customers/{x}/evaluation-settings",
        "changes": f"{API}/customers/{x}/changes",
        "sites_x": f"{API}/customer-users/{world.customer_user_x.id}/sites",
        "sites_x2": f"{API}/customer-users/{world.customer_user_x2.id}/sites",
    }.items():
        r = await client.get(path, headers=h)
        assert r.status_code == 200, r.text
        view[key] = r.json()
    return view


async def put_ticket_settings(client, world: World, enabled: list[Any], sources: list[dict] | None = None):
    return await client.put(
        f"{API}/customers/{world.customer_x.id}/ticket-settings",
        headers=world.admin.headers,
        json={
            "enabled_ticket_type_ids": [str(t.id) for t in enabled],
            "document_sources": sources or [],
        },
    )


# -- refusals, from the side of each one refused ---------------------------------------------------


@dataclass(frozen=True)
class Op:
    method: str
    path: str  # formatted with the world
    body: dict[str, Any] | None = None
    done: int = 200  # what an insight admin gets: SPEC names no success codes, these are the service's


def _ops(w: World) -> dict[str, Op]:
    x, cux, cux2 = w.customer_x.id, w.customer_user_x.id, w.customer_user_x2.id
    return {
        "list_users": Op("GET", f"{API}/customers/{x}/users"),
        "create_user": Op(
            "POST",
            f"{API}/customers/{x}/users",
            {"email": "neu@hansa.example.com", "name": "Nora Neu", "password": NEW_PASSWORD},
            201,
        ),
        "create_user_invited": Op(
            "POST",
            f"{API}/customers/{x}/users",
            {"email": "eingeladen@hansa.example.com", "name": "Ina"},
            201,
        ),
        "read_user": Op("GET", f"{API}/customer-users/{cux}"),
        "rename_user": Op("PATCH", f"{API}/customer-users/{cux}", {"name": "Umbenannt"}),
        "deactivate_user": Op("PATCH", f"{API}/customer-users/{cux}", {"is_active": False}),
        "reset_password": Op("PATCH", f"{API}/customer-users/{cux}", {"password": NEW_PASSWORD}),
        "delete_user": Op("DELETE", f"{API}/customer-users/{cux2}", done=204),
        "read_sites": Op("GET", f"{API}/customer-users/{cux}/sites"),
        "assign_sites": Op(
            "PUT",
            f"{API}/customer-users/{cux}/sites",
            {"site_ids": [str(w.site_a1.id), str(w.site_a2.id)]},
        ),
        "read_ticket_settings": Op("GET", f"{API}/customers/{x}/ticket-settings"),
        "put_ticket_settings": Op(
            "PUT",
            f"{API}/customers/{x}/ticket-settings",
            {"enabled_ticket_type_ids": [str(w.type_a.id)], "document_sources": []},
        ),
        "read_evaluation_settings": Op("GET", f"{API}/customers/{x}/evaluation-settings"),
        "put_evaluation_settings": Op(
            "PUT",
            f"{API}/customers/{x}/evaluation-settings",
            {"ticket_evaluation_enabled": True, "group_days": 3},
        ),
        "read_changes": Op("GET", f"{API}/customers/{x}/changes"),
    }


OP_NAMES = [
    "list_users",
    "create_user",
    "create_user_invited",
    "read_user",
    "rename_user",
    "deactivate_user",
    "reset_password",
    "delete_user",
    "read_sites",
    "assign_sites",
    "read_ticket_settings",
    "put_ticket_settings",
    "read_evaluation_settings",
    "put_evaluation_settings",
    "read_changes",
]

# Who must be refused, and how: the seeds allow only "Systemadministratoren"
# holding "Blink Insight verwalten".
REFUSED = [
    ("anonymous", 401),
    ("employee_a", 403),
    ("admin_no_insight", 403),
    ("insight_no_admin", 403),
    ("customer_user_x", 403),  # its own customer: one it can see (SPEC, Errors)
    # Another customer's configuration. SPEC gives 404 outside the caller's scope and 403 for what the
    # caller may not do; it is silent on an action a customer user may never take on any customer.
    # Decided: 403 before anything is looked up, as for every caller without the permission, so the
    # answer is the same for every customer id (see the test below).
    ("customer_user_y", 403),
]


@pytest.mark.parametrize(("caller", "status"), REFUSED, ids=[c for c, _ in REFUSED])
async def test_configuration_refused_and_nothing_changes(client, world, database, caller, status):
    ops = _ops(world)
    mails_before = await outbox_rows(database)
    for name in OP_NAMES:
        op = ops[name]
        before = await admin_view(client, world)

        r = await client.request(op.method, op.path, json=op.body, headers=headers_of(world, caller))

        assert r.status_code == status, (name, r.text)
        body = assert_problem(r, status)
        if status == 401:
            assert r.headers.get("www-authenticate", "").lower().startswith("bearer"), name
        # A refusal tells nothing about the configuration it guards.
        for secret in ("x@hansa.test", "x2@hansa.test", str(world.type_a.id)):
            assert secret not in r.text, (name, body)
        assert await admin_view(client, world) == before, name
    # No invitation went out, and the targeted customer user still works as before.
    assert await outbox_rows(database) == mails_before
    me = await client.get(f"{API}/me", headers=world.customer_user_x.headers)
    assert me.status_code == 200 and me.json()["name"] == "Kim Customer"
    # The very same requests succeed for an insight admin: the refusals were about the caller.
    for name in OP_NAMES:
        op = ops[name]
        ok = await client.request(op.method, op.path, json=op.body, headers=world.admin.headers)
        assert ok.status_code == op.done, (name, ok.text)


async def test_refused_caller_sees_404_for_unknown_customer_no_sooner_than_403(client, world):
    # A caller without the permission learns nothing about which customers exist: same answer either way.
    for caller in ("employee_a", "admin_no_insight", "insight_no_admin", "customer_user_y"):
        h = headers_of(world, caller)
        known = await client.get(f"{API}/customers/{world.customer_x.id}/ticket-settings", headers=h)
        unknown = await client.get(f"{API}/customers/{uuid.uuid4()}/ticket-settings", headers=h)
        assert known.status_code == unknown.status_code, (caller, known.text, unknown.text)
        assert known.json()["detail"] == unknown.json()["detail"]


# -- customer users ---------------------------------------------------------------------------------


async def test_create_customer_user_with_password_logs_in(client, world, database):
    r = await client.post(
        f"{API}/customers/{world.customer_x.id}/users",
        headers=world.admin.headers,
        json={"email": "Lena.Lang@Hansa.example.com", "name": "Lena Lang", "password": NEW_PASSWORD},
    )
    assert r.status_code == 201, r.text
    user = r.json()
    assert user["email"] == "lena.lang@hansa.example.com"
    assert user["customer_id"] == str(world.customer_x.id)
    assert user["is_active"] is True and user["site_ids"] == []
    assert "password" not in user and "password_hash" not in r.text
    # With a password given, nobody is mailed an invitation.
    assert not [m for m in await outbox_rows(database) if m["recipient"] == user["email"]]

    token = await login(client, "lena.lang@hansa.example.com", NEW_PASSWORD)
    assert token.status_code == 200, token.text
    me = await client.get(f"{API}/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"})
    assert me.json()["kind"] == "customer_user"
    assert me.json()["customer_id"] == str(world.customer_x.id)
    assert me.json()["id"] == user["id"]


async def test_invited_customer_user_sets_password_through_the_mailed_link(client, world, database):
    r = await client.post(
        f"{API}/customers/{world.customer_x.id}/users",
        headers=world.admin.headers,
        json={"email": "ina@hansa.example.com", "name": "Ina Invited"},
    )
    assert r.status_code == 201, r.text
    # No password yet: nothing logs in.
    assert (await login(client, "ina@hansa.example.com", NEW_PASSWORD)).status_code == 401

    mails = [m for m in await outbox_rows(database) if m["recipient"] == "ina@hansa.example.com"]
    assert len(mails) == 1, mails
    found = re.search(r"[?&]token=([A-Za-z0-9_\-]+)", mails[0]["body_text"])
    assert found, mails[0]["body_text"]
    assert found.group(1) in mails[0]["body_html"]
    link_token = found.group(1)

    # A password too short is refused without using up the link.
    assert_problem(
        await client.post(f"{API}/auth/password", json={"token": link_token, "password": "kurz"}), 422
    )
    r = await client.post(f"{API}/auth/password", json={"token": link_token, "password": NEW_PASSWORD})
    assert r.status_code == 204, r.text
    r = await login(client, "ina@hansa.example.com", NEW_PASSWORD)
    assert r.status_code == 200, r.text
    # The link works once.
    r = await client.post(
        f"{API}/auth/password", json={"token": link_token, "password": "ein anderes Passwort"}
    )
    assert_problem(r, 422)
    assert (await login(client, "ina@hansa.example.com", "ein anderes Passwort")).status_code == 401


async def test_create_customer_user_with_taken_email_is_refused(client, world):
    first = await client.post(
        f"{API}/customers/{world.customer_x.id}/users",
        headers=world.admin.headers,
        json={"email": "doppelt@hansa.example.com", "name": "Erste", "password": NEW_PASSWORD},
    )
    assert first.status_code == 201, first.text
    before = await admin_view(client, world)
    # Another customer, other capitalisation: still the same address, still one account per address.
    r = await client.post(
        f"{API}/customers/{world.customer_y.id}/users",
        headers=world.admin.headers,
        json={"email": "Doppelt@Hansa.example.com", "name": "Zweite", "password": NEW_PASSWORD},
    )
    assert_problem(r, 409)
    users_y = await client.get(f"{API}/customers/{world.customer_y.id}/users", headers=world.admin.headers)
    assert [u["email"] for u in users_y.json()["items"]] == ["y@isar.test"]
    assert await admin_view(client, world) == before


async def test_create_customer_user_invalid_input(client, world):
    before = await admin_view(client, world)
    for body in (
        {"name": "Ohne Adresse", "password": NEW_PASSWORD},
        {"email": "keine-adresse", "name": "X", "password": NEW_PASSWORD},
        {"email": "kurz@hansa.example.com", "name": "Kurz", "password": "kurz"},
        {"email": "leer@hansa.example.com", "name": "  ", "password": NEW_PASSWORD},
        {"email": "extra@hansa.example.com", "name": "X", "is_admin": True},
    ):
        r = await client.post(
            f"{API}/customers/{world.customer_x.id}/users", headers=world.admin.headers, json=body
        )
        assert_problem(r, 422)
    r = await client.post(
        f"{API}/customers/{uuid.uuid4()}/users",
        headers=world.admin.headers,
        json={"email": "niemand@hansa.example.com", "name": "X", "password": NEW_PASSWORD},
    )
    assert_problem(r, 404)
    assert await admin_view(client, world) == before


async def test_list_and_read_customer_users(client, world):
    r = await client.get(f"{API}/customers/{world.customer_x.id}/users", headers=world.admin.headers)
    assert r.status_code == 200, r.text
    by_email = {u["email"]: u for u in r.json()["items"]}
    # Customer Y's user is not among customer X's.
    assert set(by_email) == {"x@hansa.test", "x2@hansa.test"}
    assert by_email["x@hansa.test"]["site_ids"] == [str(world.site_a1.id)]
    assert by_email["x2@hansa.test"]["site_ids"] == []

    r = await client.get(f"{API}/customer-users/{world.customer_user_x.id}", headers=world.admin.headers)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == str(world.customer_user_x.id)
    assert r.json()["customer_id"] == str(world.customer_x.id)
    assert r.json()["email"] == "x@hansa.test"

    r = await client.get(f"{API}/customer-users/{uuid.uuid4()}", headers=world.admin.headers)
    assert_problem(r, 404)
    # An employee is no customer user, even though both are accounts.
    r = await client.get(f"{API}/customer-users/{world.employee_a.id}", headers=world.admin.headers)
    assert_problem(r, 404)
    r = await client.get(f"{API}/customers/{uuid.uuid4()}/users", headers=world.admin.headers)
    assert_problem(r, 404)


async def test_update_customer_user_name_and_email(client, world):
    uid = world.customer_user_x.id
    r = await client.patch(
        f"{API}/customer-users/{uid}",
        headers=world.admin.headers,
        json={"name": "Kim Neu", "email": "Kim@Hansa.example.com"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Kim Neu" and r.json()["email"] == "kim@hansa.example.com"
    r = await client.get(f"{API}/customer-users/{uid}", headers=world.admin.headers)
    assert r.json()["name"] == "Kim Neu"
    # The new address logs in, the old one no longer does.
    assert (await login(client, "kim@hansa.example.com", world.customer_user_x.password)).status_code == 200
    assert (await login(client, "x@hansa.test", world.customer_user_x.password)).status_code == 401
    me = await client.get(f"{API}/me", headers=world.customer_user_x.headers)
    assert me.json()["name"] == "Kim Neu"


async def test_update_customer_user_to_taken_email_is_refused(client, world):
    before = await admin_view(client, world)
    await client.post(
        f"{API}/customers/{world.customer_y.id}/users",
        headers=world.admin.headers,
        json={"email": "belegt@isar.example.com", "name": "Belegt", "password": NEW_PASSWORD},
    )
    before = await admin_view(client, world)
    r = await client.patch(
        f"{API}/customer-users/{world.customer_user_x.id}",
        headers=world.admin.headers,
        json={"email": "belegt@isar.example.com"},
    )
    assert_problem(r, 409)
    assert await admin_view(client, world) == before


async def test_deactivated_customer_user_is_locked_out_at_once(client, world):
    cux = world.customer_user_x
    assert (await client.get(f"{API}/me", headers=cux.headers)).status_code == 200
    r = await client.patch(
        f"{API}/customer-users/{cux.id}", headers=world.admin.headers, json={"is_active": False}
    )
    assert r.status_code == 200 and r.json()["is_active"] is False, r.text
    # The token issued before is dead on the very next request, and no new one is issued.
    assert_problem(await client.get(f"{API}/me", headers=cux.headers), 401)
    assert_problem(await client.get(f"{API}/sites", headers=cux.headers), 401)
    assert (await login(client, cux.email, cux.password)).status_code == 401
    users = await client.get(f"{API}/customers/{world.customer_x.id}/users", headers=world.admin.headers)
    assert {u["email"]: u["is_active"] for u in users.json()["items"]}["x@hansa.test"] is False

    r = await client.patch(
        f"{API}/customer-users/{cux.id}", headers=world.admin.headers, json={"is_active": True}
    )
    assert r.status_code == 200 and r.json()["is_active"] is True
    token = await login(client, cux.email, cux.password)
    assert token.status_code == 200, token.text


async def test_admin_sets_new_password_for_customer_user(client, world):
    cux = world.customer_user_x
    r = await client.patch(
        f"{API}/customer-users/{cux.id}", headers=world.admin.headers, json={"password": NEW_PASSWORD}
    )
    assert r.status_code == 200, r.text
    assert_problem(await client.get(f"{API}/me", headers=cux.headers), 401)
    assert (await login(client, cux.email, NEW_PASSWORD)).status_code == 200


async def test_delete_customer_user(client, world):
    cux2 = world.customer_user_x2
    r = await client.delete(f"{API}/customer-users/{cux2.id}", headers=world.admin.headers)
    assert r.status_code == 204, r.text
    assert_problem(await client.get(f"{API}/customer-users/{cux2.id}", headers=world.admin.headers), 404)
    assert_problem(await client.get(f"{API}/me", headers=cux2.headers), 401)
    assert (await login(client, cux2.email, cux2.password)).status_code == 401
    users = await client.get(f"{API}/customers/{world.customer_x.id}/users", headers=world.admin.headers)
    assert [u["email"] for u in users.json()["items"]] == ["x@hansa.test"]
    assert_problem(await client.delete(f"{API}/customer-users/{cux2.id}", headers=world.admin.headers), 404)


async def test_customer_user_with_tickets_is_deactivated_not_deleted(client, world):
    cux = world.customer_user_x
    assert (await put_ticket_settings(client, world, [world.type_a])).status_code == 200
    r = await client.post(
        f"{API}/tickets",
        headers=cux.headers,
        json={
            "site_id": str(world.site_a1.id),
            "ticket_type_id": str(world.type_a.id),
            "title": "Tür klemmt",
        },
    )
    assert r.status_code == 201, r.text
    before = await admin_view(client, world)
    r = await client.delete(f"{API}/customer-users/{cux.id}", headers=world.admin.headers)
    assert_problem(r, 409)
    assert await admin_view(client, world) == before
    assert (await client.get(f"{API}/me", headers=cux.headers)).status_code == 200


# -- sites of a customer user -----------------------------------------------------------------------


async def test_assign_sites_of_the_users_customer(client, world):
    cux2 = world.customer_user_x2
    path = f"{API}/customer-users/{cux2.id}/sites"
    r = await client.put(
        path, headers=world.admin.headers, json={"site_ids": [str(world.site_a2.id), str(world.site_a1.id)]}
    )
    assert r.status_code == 200, r.text
    assert sorted(r.json()["site_ids"]) == sorted([str(world.site_a1.id), str(world.site_a2.id)])
    assert sorted((await client.get(path, headers=world.admin.headers)).json()["site_ids"]) == sorted(
        [str(world.site_a1.id), str(world.site_a2.id)]
    )
    mine = await client.get(f"{API}/sites", headers=cux2.headers)
    assert {s["id"] for s in mine.json()["items"]} == {str(world.site_a1.id), str(world.site_a2.id)}

    # Replacing, not adding.
    r = await client.put(path, headers=world.admin.headers, json={"site_ids": [str(world.site_a2.id)]})
    assert r.json()["site_ids"] == [str(world.site_a2.id)]
    mine = await client.get(f"{API}/sites", headers=cux2.headers)
    assert [s["id"] for s in mine.json()["items"]] == [str(world.site_a2.id)]

    r = await client.put(path, headers=world.admin.headers, json={"site_ids": []})
    assert r.status_code == 200 and r.json()["site_ids"] == []
    assert (await client.get(f"{API}/sites", headers=cux2.headers)).json()["items"] == []


@pytest.mark.parametrize("foreign", ["other_customer", "unknown", "mixed"])
async def test_assign_sites_of_another_customer_is_refused(client, world, foreign):
    site_ids = {
        "other_customer": [str(world.site_b1.id)],
        "unknown": [str(uuid.uuid4())],
        # One bad site spoils the whole request: the good one is not assigned either.
        "mixed": [str(world.site_a2.id), str(world.site_b1.id)],
    }[foreign]
    before = await admin_view(client, world)
    r = await client.put(
        f"{API}/customer-users/{world.customer_user_x.id}/sites",
        headers=world.admin.headers,
        json={"site_ids": site_ids},
    )
    body = assert_problem(r, 422)
    assert body["errors"] and body["errors"][0]["loc"][:2] == ["body", "site_ids"], body
    assert await admin_view(client, world) == before
    mine = await client.get(f"{API}/sites", headers=world.customer_user_x.headers)
    assert [s["id"] for s in mine.json()["items"]] == [str(world.site_a1.id)]


async def test_assign_sites_of_unknown_user_is_404(client, world):
    r = await client.put(
        f"{API}/customer-users/{uuid.uuid4()}/sites",
        headers=world.admin.headers,
        json={"site_ids": [str(world.site_a1.id)]},
    )
    assert_problem(r, 404)


# -- ticket settings ----------------------------------------------------------------------------------


async def test_ticket_settings_start_empty(client, world):
    r = await client.get(
        f"{API}/customers/{world.customer_x.id}/ticket-settings", headers=world.admin.headers
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "enabled_ticket_type_ids": [],
        "document_sources": [],
        "report_template_ids": [],
        "warnings": [],
    }


async def test_ticket_settings_roundtrip(client, world, session):
    doc_type = await make_ticket_type(session, tenant=world.tenant_a, name="Prüfbericht")
    other = await make_ticket_type(session, tenant=world.tenant_a, name="Nachreinigung")
    await session.commit()
    r = await put_ticket_settings(
        client,
        world,
        [world.type_a, other],
        [
            {"ticket_type_id": str(doc_type.id), "content_types": ["application/pdf", "image/*"]},
            {"ticket_type_id": str(other.id), "content_types": None},
        ],
    )
    assert r.status_code == 200, r.text
    put = r.json()
    assert sorted(put["enabled_ticket_type_ids"]) == sorted([str(world.type_a.id), str(other.id)])
    sources = {s["ticket_type_id"]: s["content_types"] for s in put["document_sources"]}
    assert sources == {str(doc_type.id): ["application/pdf", "image/*"], str(other.id): None}
    assert put["warnings"] == []
    got = await client.get(
        f"{API}/customers/{world.customer_x.id}/ticket-settings", headers=world.admin.headers
    )
    assert got.json() == put
    # Customer Y's settings are its own.
    y = await client.get(
        f"{API}/customers/{world.customer_y.id}/ticket-settings", headers=world.admin.headers
    )
    assert y.json()["enabled_ticket_type_ids"] == [] and y.json()["document_sources"] == []

    # PUT replaces the whole setting.
    r = await put_ticket_settings(client, world, [other])
    assert r.json()["enabled_ticket_type_ids"] == [str(other.id)] and r.json()["document_sources"] == []


@pytest.mark.parametrize("where", ["enabled", "enabled_among_others"])
async def test_absence_types_are_refused(client, world, where):
    assert (await put_ticket_settings(client, world, [world.type_a])).status_code == 200
    before = await admin_view(client, world)
    enabled = [world.absence_a] if where == "enabled" else [world.type_a, world.absence_a]
    r = await put_ticket_settings(client, world, enabled)
    body = assert_problem(r, 422)
    assert body["errors"][0]["loc"][:2] == ["body", "enabled_ticket_type_ids"], body
    # Nothing changed, and the refused change is not in the audit trail either.
    assert await admin_view(client, world) == before
    types = await client.get(
        f"{API}/sites/{world.site_a1.id}/ticket-types", headers=world.customer_user_x.headers
    )
    assert [t["id"] for t in types.json()["items"]] == [str(world.type_a.id)]


async def test_unknown_ticket_type_is_refused(client, world):
    before = await admin_view(client, world)
    r = await client.put(
        f"{API}/customers/{world.customer_x.id}/ticket-settings",
        headers=world.admin.headers,
        json={"enabled_ticket_type_ids": [str(uuid.uuid4())], "document_sources": []},
    )
    assert_problem(r, 422)
    r = await client.put(
        f"{API}/customers/{world.customer_x.id}/ticket-settings",
        headers=world.admin.headers,
        json={"enabled_ticket_type_ids": [], "document_sources": [{"ticket_type_id": str(uuid.uuid4())}]},
    )
    assert_problem(r, 422)
    assert await admin_view(client, world) == before


@pytest.mark.parametrize("content_types", [["pdf"], ["application/pdf", "*/*x"], [""], "application/pdf"])
async def test_malformed_document_source_content_types_are_refused(client, world, session, content_types):
    doc_type = await make_ticket_type(session, tenant=world.tenant_a, name="Prüfbericht")
    await session.commit()
    before = await admin_view(client, world)
    r = await client.put(
        f"{API}/customers/{world.customer_x.id}/ticket-settings",
        headers=world.admin.headers,
        json={
            "enabled_ticket_type_ids": [],
            "document_sources": [{"ticket_type_id": str(doc_type.id), "content_types": content_types}],
        },
    )
    assert_problem(r, 422)
    assert await admin_view(client, world) == before


async def test_type_of_a_tenant_without_the_customers_sites_is_warned_about(client, world):
    # Customer X's sites all belong to tenant A; tenant B's type will never reach its users.
    r = await put_ticket_settings(client, world, [world.type_a, world.type_b])
    assert r.status_code == 200, r.text
    body = r.json()
    assert sorted(body["enabled_ticket_type_ids"]) == sorted([str(world.type_a.id), str(world.type_b.id)])
    assert len(body["warnings"]) == 1
    assert str(world.type_b.id) in body["warnings"][0]
    assert str(world.type_a.id) not in " ".join(body["warnings"])
    # The warning stays as long as the setting does.
    got = await client.get(
        f"{API}/customers/{world.customer_x.id}/ticket-settings", headers=world.admin.headers
    )
    assert got.json()["warnings"] == body["warnings"]
    # For customer Y (tenant B) the same type is fine, tenant A's is not.
    r = await client.put(
        f"{API}/customers/{world.customer_y.id}/ticket-settings",
        headers=world.admin.headers,
        json={"enabled_ticket_type_ids": [str(world.type_b.id), str(world.type_a.id)]},
    )
    assert r.status_code == 200, r.text
    assert len(r.json()["warnings"]) == 1 and str(world.type_a.id) in r.json()["warnings"][0]


async def test_ticket_settings_of_unknown_customer_is_404(client, world):
    r = await client.get(f"{API}/customers/{uuid.uuid4()}/ticket-settings", headers=world.admin.headers)
    assert_problem(r, 404)
    r = await client.put(
        f"{API}/customers/{uuid.uuid4()}/ticket-settings",
        headers=world.admin.headers,
        json={"enabled_ticket_type_ids": [str(world.type_a.id)]},
    )
    assert_problem(r, 404)


# -- evaluation settings ----------------------------------------------------------------------------


async def test_evaluation_settings_roundtrip(client, world):
    path = f"{API}/customers/{world.customer_x.id}/evaluation-settings"
    r = await client.get(path, headers=world.admin.headers)
    assert r.status_code == 200, r.text
    assert r.json()["ticket_evaluation_enabled"] is False
    assert isinstance(r.json()["group_days"], int) and r.json()["group_days"] >= 1

    for body in (
        {"ticket_evaluation_enabled": True, "group_days": 1},
        {"ticket_evaluation_enabled": True, "group_days": 14},
        {"ticket_evaluation_enabled": False, "group_days": 3},
    ):
        r = await client.put(path, headers=world.admin.headers, json=body)
        assert r.status_code == 200, r.text
        assert r.json() == body
        assert (await client.get(path, headers=world.admin.headers)).json() == body
    y = await client.get(
        f"{API}/customers/{world.customer_y.id}/evaluation-settings", headers=world.admin.headers
    )
    assert y.json()["ticket_evaluation_enabled"] is False


@pytest.mark.parametrize(
    "body",
    [
        {"ticket_evaluation_enabled": True, "group_days": 0},
        {"ticket_evaluation_enabled": True, "group_days": -7},
        {"ticket_evaluation_enabled": True, "group_days": 1.5},
        {"ticket_evaluation_enabled": True},
        {"group_days": 7},
        {"ticket_evaluation_enabled": "vielleicht", "group_days": 7},
    ],
)
async def test_invalid_evaluation_settings_are_refused(client, world, body):
    path = f"{API}/customers/{world.customer_x.id}/evaluation-settings"
    await client.put(
        path, headers=world.admin.headers, json={"ticket_evaluation_enabled": True, "group_days": 5}
    )
    before = await admin_view(client, world)
    assert_problem(await client.put(path, headers=world.admin.headers, json=body), 422)
    assert await admin_view(client, world) == before


# -- the audit trail ---------------------------------------------------------------------------------


async def test_every_configuration_change_is_recorded(client, world, session, ctx):
    second_admin = await make_employee(
        session, ctx, is_admin=True, permissions=["insight:manage"], email="zweiter@example.test"
    )
    await session.commit()
    a, b = world.admin.headers, second_admin.headers
    x = world.customer_x.id
    started = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)

    r = await client.post(
        f"{API}/customers/{x}/users",
        headers=a,
        json={"email": "audit@hansa.example.com", "name": "Audit Alt", "password": NEW_PASSWORD},
    )
    new_id = r.json()["id"]
    await client.patch(f"{API}/customer-users/{new_id}", headers=b, json={"name": "Audit Neu"})
    await client.put(
        f"{API}/customer-users/{new_id}/sites", headers=a, json={"site_ids": [str(world.site_a2.id)]}
    )
    await put_ticket_settings(client, world, [world.type_a])
    await client.put(
        f"{API}/customers/{x}/ticket-settings",
        headers=b,
        json={"enabled_ticket_type_ids": [str(world.type_a.id), str(world.type_b.id)]},
    )
    await client.put(
        f"{API}/customers/{x}/evaluation-settings",
        headers=b,
        json={"ticket_evaluation_enabled": True, "group_days": 3},
    )
    await client.patch(f"{API}/customer-users/{new_id}", headers=a, json={"is_active": False})
    await client.delete(f"{API}/customer-users/{new_id}", headers=a)
    # Refused changes are no changes and leave no trace.
    await put_ticket_settings(client, world, [world.absence_a])
    await client.put(
        f"{API}/customers/{x}/evaluation-settings",
        headers=a,
        json={"ticket_evaluation_enabled": True, "group_days": 0},
    )

    r = await client.get(f"{API}/customers/{x}/changes", headers=a)
    assert r.status_code == 200, r.text
    changes = list(reversed(r.json()["items"]))  # oldest first, to read along with the script above
    assert len(changes) == 8, changes
    created = [dt.datetime.fromisoformat(c["created_at"]) for c in changes]
    assert all(started <= t <= dt.datetime.now(dt.UTC) for t in created)
    assert created == sorted(created), "the list is newest first"
    actors = [c["actor_id"] for c in changes]
    ia, ib = str(world.admin.id), str(second_admin.id)
    assert actors == [ia, ib, ia, ia, ib, ib, ia, ia]

    create, rename, sites, ts1, ts2, ev, deactivate, delete = changes
    assert create["before"] is None and create["after"]["name"] == "Audit Alt"
    assert create["after"]["email"] == "audit@hansa.example.com" and create["entity_id"] == new_id
    assert rename["before"]["name"] == "Audit Alt" and rename["after"]["name"] == "Audit Neu"
    assert sites["before"] in ([], None) or sites["before"] == {"site_ids": []}
    assert str(world.site_a2.id) in str(sites["after"]) and str(world.site_a2.id) not in str(sites["before"])
    assert ts1["before"]["enabled_ticket_type_ids"] == []
    assert ts1["after"]["enabled_ticket_type_ids"] == [str(world.type_a.id)]
    assert ts2["before"]["enabled_ticket_type_ids"] == [str(world.type_a.id)]
    assert sorted(ts2["after"]["enabled_ticket_type_ids"]) == sorted(
        [str(world.type_a.id), str(world.type_b.id)]
    )
    assert ev["before"]["ticket_evaluation_enabled"] is False
    assert ev["after"] == {"ticket_evaluation_enabled": True, "group_days": 3}
    assert deactivate["before"]["is_active"] is True and deactivate["after"]["is_active"] is False
    assert delete["before"]["name"] == "Audit Neu" and delete["after"] is None
    # No password, and no hash of one, ever lands in the trail.
    assert NEW_PASSWORD not in r.text and "argon2" not in r.text

    # Customer Y's trail holds none of it.
    y = await client.get(f"{API}/customers/{world.customer_y.id}/changes", headers=a)
    assert y.status_code == 200 and y.json()["items"] == []
    assert_problem(await client.get(f"{API}/customers/{uuid.uuid4()}/changes", headers=a), 404)


async def test_password_change_is_recorded_without_the_password(client, world):
    r = await client.patch(
        f"{API}/customer-users/{world.customer_user_x.id}",
        headers=world.admin.headers,
        json={"password": NEW_PASSWORD},
    )
    assert r.status_code == 200, r.text
    r = await client.get(f"{API}/customers/{world.customer_x.id}/changes", headers=world.admin.headers)
    items = r.json()["items"]
    assert len(items) == 1 and items[0]["entity_id"] == str(world.customer_user_x.id)
    assert items[0]["actor_id"] == str(world.admin.id)
    assert NEW_PASSWORD not in r.text and "argon2" not in r.text


async def test_saving_unchanged_ticket_settings_records_no_change(client, world):
    url = f"/api/v1/customers/{world.customer_x.id}/ticket-settings"
    body = {"enabled_ticket_type_ids": [str(world.type_a.id)], "document_sources": []}
    for _ in range(3):
        assert (await client.put(url, headers=world.admin.headers, json=body)).status_code == 200
    changes = (
        await client.get(f"/api/v1/customers/{world.customer_x.id}/changes", headers=world.admin.headers)
    ).json()
    assert [c["entity"] for c in changes["items"]] == ["ticket_settings"]


async def test_creating_and_renaming_a_customer_is_in_its_trail(client, world):
    h = world.admin.headers
    created = (await client.post("/api/v1/customers", headers=h, json={"name": "Elbe Facility"})).json()
    r = await client.patch(
        f"/api/v1/customers/{created['id']}", headers=h, json={"name": "Elbe Facility GmbH"}
    )
    assert r.status_code == 200, r.text
    changes = (await client.get(f"/api/v1/customers/{created['id']}/changes", headers=h)).json()["items"]
    assert [(c["entity"], c["action"]) for c in changes] == [("customer", "update"), ("customer", "create")]
    assert changes[0]["before"] == {"name": "Elbe Facility"} and changes[0]["after"] == {
        "name": "Elbe Facility GmbH"
    }
    assert changes[0]["actor_id"] == str(world.admin.id)
