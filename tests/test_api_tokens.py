"""API tokens: made and revoked by their owners, acting as the owner and never beyond, narrowed to scopes."""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from blink_api.app import api_routes
from blink_api.identity.dependencies import public, token_scopes_of
from blink_api.identity.repository import LAST_USED_GRANULARITY
from blink_api.identity.scopes import SCOPES, satisfying
from tests.factories import Actor, World
from tests.kit import API, assert_problem, new_ticket, statements_sent

TOKENS = f"{API}/api-tokens"
TOKEN_SHAPE = re.compile(r"blk_[A-Za-z0-9_-]{43}")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def make_token(
    client: httpx.AsyncClient, owner: Actor, scopes: list[str], **fields: Any
) -> tuple[dict[str, Any], dict[str, str]]:
    """A token `owner` makes for itself (with its password log-in), and the headers that use it."""
    r = await client.post(
        TOKENS, headers=owner.headers, json={"name": "CAFM Anbindung", "scopes": scopes, **fields}
    )
    assert r.status_code == 201, r.text
    return r.json(), bearer(r.json()["token"])


def assert_unauthorized(r: httpx.Response) -> None:
    assert_problem(r, 401)
    assert r.headers["www-authenticate"] == "Bearer"


async def enable_portal(client: httpx.AsyncClient, world: World) -> None:
    r = await client.put(
        f"{API}/customers/{world.customer_x.id}/ticket-settings",
        headers=world.admin.headers,
        json={"enabled_ticket_type_ids": [str(world.type_a.id)]},
    )
    assert r.status_code == 200, r.text


# -- making, listing and revoking --------------------------------------------------------------------


async def test_the_secret_is_shown_once_and_stored_only_as_its_hash(client, world, database):
    created, _ = await make_token(client, world.employee_a, ["tickets:write", "tickets:read"])
    assert set(created) == {
        "id",
        "name",
        "prefix",
        "scopes",
        "expires_at",
        "created_at",
        "last_used_at",
        "token",
    }
    secret = created["token"]
    assert TOKEN_SHAPE.fullmatch(secret)
    assert created["prefix"] == secret[:12] and len(created["prefix"]) < len(secret) // 3
    assert created["scopes"] == ["tickets:read", "tickets:write"]
    assert created["expires_at"] is None and created["last_used_at"] is None

    listed = await client.get(TOKENS, headers=world.employee_a.headers)
    assert listed.status_code == 200, listed.text
    assert [t["id"] for t in listed.json()["items"]] == [created["id"]]
    assert "token" not in listed.json()["items"][0]
    assert secret not in listed.text and secret[12:20] not in listed.text

    async with database.engine.connect() as conn:
        row = (await conn.execute(text("SELECT t::text AS whole, token_hash FROM api_tokens AS t"))).one()
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in row.whole and secret[12:] not in row.whole

    # Two tokens never share a secret.
    other, _ = await make_token(client, world.employee_a, ["tickets:read"])
    assert other["token"] != secret and other["prefix"] != created["prefix"]


async def test_the_answer_with_the_secret_is_kept_by_no_cache(client, world):
    r = await client.post(
        TOKENS, headers=world.employee_a.headers, json={"name": "BI", "scopes": ["tickets:read"]}
    )
    assert r.status_code == 201, r.text
    assert r.headers["cache-control"] == "no-store" and r.headers["pragma"] == "no-cache"
    created = r.json()
    assert r.headers["location"] == f"{TOKENS}/{created['id']}"
    read = await client.get(r.headers["location"], headers=world.employee_a.headers)
    assert read.status_code == 200, read.text
    assert read.json() == {key: value for key, value in created.items() if key != "token"}


async def test_a_token_acts_as_its_owner(client, world):
    _, headers = await make_token(client, world.employee_a, ["tickets:read"])
    with_token = await client.get(f"{API}/me", headers=headers)
    with_password = await client.get(f"{API}/me", headers=world.employee_a.headers)
    assert with_token.status_code == 200, with_token.text
    assert with_token.content == with_password.content


async def test_a_customer_tickets_read_token_sees_exactly_what_its_user_sees(client, world):
    await enable_portal(client, world)
    cux = world.customer_user_x
    for title in ("Heizung defekt", "Fenster klemmt"):
        await new_ticket(client, cux, world.site_a1, world.type_a, title)
    # Tickets it must not see: another customer's, and an employee's internal note on its own.
    await new_ticket(client, world.admin, world.site_b1, world.type_b, "Fremder Kunde")
    ticket = await new_ticket(client, world.employee_a, world.site_a1, world.type_a, "Vom Team")
    note = {"body": "Kunde zahlt spät", "internal": True}
    r = await client.post(
        f"{API}/tickets/{ticket['id']}/comments", headers=world.employee_a.headers, json=note
    )
    assert r.status_code == 201, r.text

    _, headers = await make_token(client, cux, ["tickets:read"])
    for path, params in (
        ("/tickets", {}),
        ("/tickets", {"limit": "1"}),
        ("/tickets", {"q": "Heizung"}),
        (f"/tickets/{ticket['id']}", {}),
        (f"/tickets/{ticket['id']}/comments", {}),
        (f"/tickets/{ticket['id']}/history", {}),
        ("/sites", {}),
        (f"/sites/{world.site_a1.id}/ticket-types", {}),
        (f"/sites/{world.site_a1.id}/documents", {}),
    ):
        as_user = await client.get(f"{API}{path}", headers=cux.headers, params=params)
        as_token = await client.get(f"{API}{path}", headers=headers, params=params)
        assert as_user.status_code == 200, (path, as_user.text)
        assert as_token.status_code == 200, (path, as_token.text)
        assert as_token.content == as_user.content, path
    listed = (await client.get(f"{API}/tickets", headers=headers)).json()["items"]
    assert {t["title"] for t in listed} == {"Heizung defekt", "Fenster klemmt", "Vom Team"}
    # Outside the user's scope, the token gets what the user gets: 404.
    other = await client.get(f"{API}/sites/{world.site_b1.id}", headers=headers)
    assert_problem(other, 404)


async def test_a_customer_token_with_tickets_write_raises_a_ticket_as_its_user(client, world):
    await enable_portal(client, world)
    _, headers = await make_token(client, world.customer_user_x, ["tickets:write", "tickets:read"])
    created = await new_ticket(client, headers, world.site_a1, world.type_a, "Aus dem CAFM")
    assert created["created_by"]["id"] == str(world.customer_user_x.id)
    # Still a customer user: never the status, even with the write scope.
    r = await client.patch(f"{API}/tickets/{created['id']}", headers=headers, json={"status": "closed"})
    assert "status" in assert_problem(r, 403)["detail"]


async def test_listing_is_keyset_paginated_newest_first(client, world):
    made = [(await make_token(client, world.employee_a, ["forms:read"]))[0]["id"] for _ in range(5)]
    seen, cursor = [], None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        r = await client.get(TOKENS, headers=world.employee_a.headers, params=params)
        assert r.status_code == 200, r.text
        seen += [t["id"] for t in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(made))


async def test_others_tokens_are_listed_to_administrators_only(client, world):
    mine, _ = await make_token(client, world.employee_a, ["tickets:read"])
    theirs, _ = await make_token(client, world.customer_user_x, ["tickets:read"])
    # Without `account_id`, everyone, administrators too, lists its own.
    r = await client.get(TOKENS, headers=world.admin.headers)
    assert r.json()["items"] == []
    r = await client.get(TOKENS, headers=world.admin.headers, params={"account_id": str(world.employee_a.id)})
    assert [t["id"] for t in r.json()["items"]] == [mine["id"]]
    # Anyone else naming another account gets nothing of it.
    for caller, account in (
        (world.employee_a, world.customer_user_x),
        (world.customer_user_x, world.employee_a),
    ):
        r = await client.get(TOKENS, headers=caller.headers, params={"account_id": str(account.id)})
        assert r.status_code == 200 and r.json() == {"items": [], "next_cursor": None}, r.text
    r = await client.get(
        TOKENS, headers=world.employee_a.headers, params={"account_id": str(world.employee_a.id)}
    )
    assert [t["id"] for t in r.json()["items"]] == [mine["id"]]
    assert theirs["id"] not in r.text


async def test_someone_elses_token_cannot_be_revoked_and_keeps_working(client, world):
    theirs, headers = await make_token(client, world.customer_user_x, ["tickets:read"])
    for caller in (world.employee_a, world.employee_b, world.customer_user_x2, world.customer_user_y):
        assert_problem(await client.get(f"{TOKENS}/{theirs['id']}", headers=caller.headers), 404)
        r = await client.delete(f"{TOKENS}/{theirs['id']}", headers=caller.headers)
        assert_problem(r, 404)
    assert_problem(
        await client.delete(f"{TOKENS}/{uuid.uuid4()}", headers=world.customer_user_x.headers), 404
    )
    assert (await client.get(f"{API}/me", headers=headers)).status_code == 200


async def test_an_administrator_revokes_anyones_token(client, world):
    theirs, headers = await make_token(client, world.customer_user_x, ["tickets:read"])
    r = await client.get(f"{TOKENS}/{theirs['id']}", headers=world.admin.headers)
    assert r.status_code == 200 and r.json()["name"] == theirs["name"] and "token" not in r.json()
    r = await client.delete(f"{TOKENS}/{theirs['id']}", headers=world.admin.headers)
    assert r.status_code == 204, r.text
    assert_unauthorized(await client.get(f"{API}/me", headers=headers))


# -- refused: revoked, expired, deactivated, malformed -----------------------------------------------


async def test_a_revoked_token_ends_on_the_very_next_request(client, world):
    created, headers = await make_token(client, world.employee_a, ["tickets:read"])
    assert (await client.get(f"{API}/tickets", headers=headers)).status_code == 200
    r = await client.delete(f"{TOKENS}/{created['id']}", headers=world.employee_a.headers)
    assert r.status_code == 204 and r.content == b""
    assert_unauthorized(await client.get(f"{API}/tickets", headers=headers))
    assert_unauthorized(await client.get(f"{API}/me", headers=headers))
    # Gone from the list, and revoking it again finds nothing.
    assert (await client.get(TOKENS, headers=world.employee_a.headers)).json()["items"] == []
    assert_problem(await client.delete(f"{TOKENS}/{created['id']}", headers=world.employee_a.headers), 404)


async def test_an_expired_token_is_refused(client, world, database):
    soon = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    created, headers = await make_token(client, world.employee_a, ["tickets:read"], expires_at=soon)
    assert datetime.fromisoformat(created["expires_at"]) == datetime.fromisoformat(soon)
    assert (await client.get(f"{API}/tickets", headers=headers)).status_code == 200
    async with database.engine.begin() as conn:
        await conn.execute(
            text("UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = :id"),
            {"id": created["id"]},
        )
    assert_unauthorized(await client.get(f"{API}/tickets", headers=headers))
    # Still listed, so its owner sees that it expired.
    listed = (await client.get(TOKENS, headers=world.employee_a.headers)).json()["items"]
    assert [t["id"] for t in listed] == [created["id"]]


@pytest.mark.parametrize("expires_at", ["2020-01-01T00:00:00Z", "now"])
async def test_an_expiry_in_the_past_is_refused(client, world, expires_at):
    if expires_at == "now":
        expires_at = datetime.now(UTC).isoformat()
    r = await client.post(
        TOKENS,
        headers=world.employee_a.headers,
        json={"name": "x", "scopes": ["forms:read"], "expires_at": expires_at},
    )
    assert_problem(r, 422, ["body", "expires_at"])


async def test_deactivating_the_employee_ends_its_tokens_for_good(client, world):
    _, headers = await make_token(client, world.employee_a, ["tickets:read"])
    url = f"{API}/employees/{world.employee_a.id}"
    r = await client.patch(url, headers=world.admin.headers, json={"is_active": False})
    assert r.status_code == 200, r.text
    assert_unauthorized(await client.get(f"{API}/tickets", headers=headers))
    # Reactivated, the account makes new tokens: the old ones do not come back.
    r = await client.patch(url, headers=world.admin.headers, json={"is_active": True})
    assert r.status_code == 200, r.text
    assert_unauthorized(await client.get(f"{API}/tickets", headers=headers))


async def test_deactivating_the_customer_user_ends_its_tokens(client, world):
    _, headers = await make_token(client, world.customer_user_x, ["tickets:read"])
    url = f"{API}/customer-users/{world.customer_user_x.id}"
    r = await client.patch(url, headers=world.admin.headers, json={"is_active": False})
    assert r.status_code == 200, r.text
    assert_unauthorized(await client.get(f"{API}/tickets", headers=headers))


async def test_an_inactive_owner_is_refused_even_with_its_token_row_in_place(client, world, database):
    # However an account comes to be inactive, its tokens answer 401 (read on every request).
    _, headers = await make_token(client, world.customer_user_x, ["tickets:read"])
    async with database.engine.begin() as conn:
        await conn.execute(
            text("UPDATE accounts SET is_active = false WHERE id = :id"), {"id": world.customer_user_x.id}
        )
    assert_unauthorized(await client.get(f"{API}/me", headers=headers))


async def test_a_deleted_owner_takes_its_tokens_along(client, world):
    _, headers = await make_token(client, world.customer_user_x2, ["tickets:read"])
    r = await client.delete(f"{API}/customer-users/{world.customer_user_x2.id}", headers=world.admin.headers)
    assert r.status_code == 204, r.text
    assert_unauthorized(await client.get(f"{API}/me", headers=headers))


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer blk_",
        "Bearer blk_abc",
        # The right shape, but no such token.
        "Bearer blk_" + "A" * 43,
        "Bearer blk_" + "A" * 42 + "!",
        "Bearer blk_" + "A" * 44,
        "Bearer blk_" + "A" * 43 + " extra",
        "Bearer BLK_" + "A" * 43,
        "Basic " + "blk_" + "A" * 43,
        "blk_" + "A" * 43,
        "Bearer ",
    ],
)
async def test_malformed_or_unknown_tokens_are_refused(client, world, authorization):
    r = await client.get(f"{API}/tickets", headers={"Authorization": authorization})
    assert_unauthorized(r)


async def test_a_token_with_one_character_changed_is_refused(client, world):
    created, headers = await make_token(client, world.employee_a, ["tickets:read"])
    secret = created["token"]
    tampered = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    assert_unauthorized(await client.get(f"{API}/me", headers=bearer(tampered)))
    assert (await client.get(f"{API}/me", headers=headers)).status_code == 200


# -- refused: scopes ---------------------------------------------------------------------------------


async def test_a_request_outside_the_tokens_scopes_is_refused_naming_the_scope(client, world):
    await enable_portal(client, world)
    _, headers = await make_token(client, world.employee_a, ["tickets:read"])
    body = {"site_id": str(world.site_a1.id), "ticket_type_id": str(world.type_a.id), "title": "Nein"}
    r = await client.post(f"{API}/tickets", headers=headers, json=body)
    assert "'tickets:write'" in assert_problem(r, 403)["detail"]
    # The owner itself may.
    assert (
        await client.post(f"{API}/tickets", headers=world.employee_a.headers, json=body)
    ).status_code == 201
    r = await client.get(f"{API}/form-templates", headers=headers)
    assert "'forms:read'" in assert_problem(r, 403)["detail"]
    # Refused before anything is looked up: the same answer for an id that exists and one that does not.
    ticket = (await client.get(f"{API}/tickets", headers=headers)).json()["items"][0]
    for ticket_id in (ticket["id"], str(uuid.uuid4())):
        r = await client.patch(f"{API}/tickets/{ticket_id}", headers=headers, json={"title": "x"})
        assert "'tickets:write'" in assert_problem(r, 403)["detail"]


async def test_write_includes_read_and_read_does_not_include_write(client, world):
    _, writer = await make_token(client, world.employee_a, ["tickets:write"])
    r = await client.get(f"{API}/tickets", headers=writer)
    assert r.status_code == 200, r.text
    _, reader = await make_token(client, world.employee_a, ["tickets:read"])
    r = await client.post(f"{API}/tickets", headers=reader, json={"title": "x"})
    assert "'tickets:write'" in assert_problem(r, 403)["detail"]
    # A family's write covers only its own reads.
    _, forms_writer = await make_token(client, world.admin, ["forms:write"])
    r = await client.get(f"{API}/tenants", headers=forms_writer)
    assert "'master-data:read'" in assert_problem(r, 403)["detail"]


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", "/tenants", "master-data:read"),
        ("GET", "/ticket-types", "master-data:read"),
        ("GET", "/employees", "master-data:read"),
        ("POST", "/sites", "master-data:write"),
        ("GET", "/customers", "portal:read"),
        ("GET", "/form-submissions", "forms:read"),
        ("GET", "/admin/outbox", "webhooks:manage"),
    ],
)
async def test_a_customer_token_on_routes_beyond_tickets_is_refused(client, world, method, path, scope):
    _, headers = await make_token(client, world.customer_user_x, ["tickets:read", "tickets:write"])
    r = await client.request(method, f"{API}{path}", headers=headers, json={} if method == "POST" else None)
    assert f"'{scope}'" in assert_problem(r, 403)["detail"]


@pytest.mark.parametrize(
    "scopes", [["master-data:read"], ["tickets:read", "portal:write"], ["webhooks:manage"]]
)
async def test_a_customer_user_cannot_hold_scopes_beyond_tickets(client, world, scopes):
    r = await client.post(
        TOKENS, headers=world.customer_user_x.headers, json={"name": "ERP", "scopes": scopes}
    )
    body = assert_problem(r, 422, ["body", "scopes"])
    assert "tickets:read" in body["detail"] and scopes[-1] in body["detail"]
    assert (await client.get(TOKENS, headers=world.customer_user_x.headers)).json()["items"] == []


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"name": "x", "scopes": ["admin"]}, ["body", "scopes", 0]),
        ({"name": "x", "scopes": []}, ["body", "scopes"]),
        ({"name": "x"}, ["body", "scopes"]),
        ({"name": "  ", "scopes": ["tickets:read"]}, ["body", "name"]),
        ({"scopes": ["tickets:read"]}, ["body", "name"]),
        ({"name": "x", "scopes": ["tickets:read"], "expires_at": "2031-01-01"}, ["body", "expires_at"]),
        ({"name": "x", "scopes": ["tickets:read"], "token": "blk_mine"}, ["body", "token"]),
        ({"name": "x", "scopes": ["tickets:read"], "account_id": "0" * 8}, ["body", "account_id"]),
    ],
)
async def test_invalid_token_requests_name_the_field(client, world, body, loc):
    r = await client.post(TOKENS, headers=world.employee_a.headers, json=body)
    assert_problem(r, 422, loc)


async def test_an_employee_may_ask_for_any_scope_but_never_gets_beyond_itself(client, world):
    # A plain employee holding `master-data:write` is still not an administrator.
    created, headers = await make_token(client, world.employee_a, list(SCOPES))
    assert created["scopes"] == list(SCOPES)
    r = await client.post(f"{API}/tenants", headers=headers, json={"name": "Ost", "code": "OST"})
    assert "administrators" in assert_problem(r, 403)["detail"].lower()
    r = await client.get(f"{API}/admin/outbox", headers=headers)
    assert_problem(r, 403)


async def test_tokens_are_managed_with_a_password_log_in_only(client, world):
    created, headers = await make_token(client, world.admin, list(SCOPES))
    one = f"{TOKENS}/{created['id']}"
    for method, path in (("POST", TOKENS), ("GET", TOKENS), ("GET", one), ("DELETE", one)):
        body = {"name": "Nachschub", "scopes": list(SCOPES)} if method == "POST" else None
        r = await client.request(method, path, headers=headers, json=body)
        assert "password" in assert_problem(r, 403)["detail"]
    listed = (await client.get(TOKENS, headers=world.admin.headers)).json()["items"]
    assert [t["id"] for t in listed] == [created["id"]]


async def test_an_account_holds_a_bounded_number_of_tokens(client, world):
    from blink_api.identity.api_tokens import MAX_API_TOKENS_PER_ACCOUNT

    for _ in range(MAX_API_TOKENS_PER_ACCOUNT):
        await make_token(client, world.customer_user_y, ["tickets:read"])
    r = await client.post(
        TOKENS,
        headers=world.customer_user_y.headers,
        json={"name": "eins zu viel", "scopes": ["tickets:read"]},
    )
    assert_problem(r, 409)
    # Other accounts are not affected.
    await make_token(client, world.customer_user_x, ["tickets:read"])


# -- last used ---------------------------------------------------------------------------------------


async def _last_used(client: httpx.AsyncClient, owner: Actor) -> str | None:
    return (await client.get(TOKENS, headers=owner.headers)).json()["items"][0]["last_used_at"]


async def test_last_used_at_is_kept_to_the_minute(client, world, database):
    created, headers = await make_token(client, world.employee_a, ["tickets:read"])
    assert await _last_used(client, world.employee_a) is None
    assert (await client.get(f"{API}/tickets", headers=headers)).status_code == 200
    first = await _last_used(client, world.employee_a)
    assert first is not None
    assert abs(datetime.fromisoformat(first) - datetime.now(UTC)) < timedelta(minutes=1)
    # Within the minute, using it again writes nothing.
    assert (await client.get(f"{API}/tickets", headers=headers)).status_code == 200
    assert await _last_used(client, world.employee_a) == first
    # Once it lies further back, the next use sets it again.
    async with database.engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE api_tokens SET last_used_at = last_used_at - make_interval(secs => :back)"
                " WHERE id = :id"
            ),
            {"back": (LAST_USED_GRANULARITY + timedelta(seconds=1)).total_seconds(), "id": created["id"]},
        )
    older = await _last_used(client, world.employee_a)
    assert (await client.get(f"{API}/me", headers=headers)).status_code == 200
    newer = await _last_used(client, world.employee_a)
    assert newer is not None and older is not None and newer > older


async def test_a_token_in_use_elsewhere_is_not_waited_for(client, world, database):
    # Another request holding the token's row (setting `last_used_at` in its transaction) does not
    # stall this one: the row is skipped, not waited on.
    created, headers = await make_token(client, world.employee_a, ["tickets:read"])
    async with database.engine.connect() as holder:
        await holder.execute(
            text("SELECT 1 FROM api_tokens WHERE id = :id FOR UPDATE"), {"id": created["id"]}
        )
        # Waiting on the row would hang until the holder lets go: bounded, so that fails instead.
        async with asyncio.timeout(10):
            r = await client.get(f"{API}/tickets", headers=headers)
        assert r.status_code == 200, r.text
        await holder.rollback()
    assert await _last_used(client, world.employee_a) is None


# -- the hot path -------------------------------------------------------------------------------------


async def _statements(database, send) -> list[str]:
    """The statements a request sends to PostgreSQL."""
    async with statements_sent(database) as statements:
        r = await send()
    assert r.status_code == 200, r.text
    return statements


async def test_a_token_costs_no_more_statements_than_a_password_log_in(client, world, database):
    _, headers = await make_token(client, world.employee_a, ["tickets:read"])
    await client.get(f"{API}/tickets", headers=headers)  # sets last_used_at
    with_password = await _statements(
        database, lambda: client.get(f"{API}/tickets", headers=world.employee_a.headers)
    )
    with_token = await _statements(database, lambda: client.get(f"{API}/tickets", headers=headers))
    assert len(with_token) == len(with_password), (with_token, with_password)
    assert not any("api_tokens" in s for s in with_password)
    assert not any(s.lstrip().upper().startswith("UPDATE") for s in with_token)


# -- the route table ------------------------------------------------------------------------------------

# Which scope each section of the API belongs to (`<family>`: `:read` for GET, `:write` otherwise). A new
# section must be placed here, and where the application includes its router.
EXPECTED_SCOPES: dict[str, tuple[str | None, str | None]] = {
    "tickets": ("tickets:read", "tickets:write"),
    "attachments": ("tickets:read", "tickets:write"),
    "documents": ("tickets:read", "tickets:write"),
    "evaluations": ("tickets:read", "tickets:write"),
    "reports": ("tickets:read", "tickets:write"),
    "sites": ("tickets:read", "master-data:write"),
    "uploads": ("forms:read", "forms:write"),
    "form-templates": ("forms:read", "forms:write"),
    "form-submissions": ("forms:read", "forms:write"),
    "tenants": ("master-data:read", "master-data:write"),
    "ticket-types": ("master-data:read", "master-data:write"),
    "sla-policies": ("master-data:read", "master-data:write"),
    "employees": ("master-data:read", "master-data:write"),
    "permission-groups": ("master-data:read", "master-data:write"),
    # Planning recurring work is master data of the tenant (like its ticket types), not ticket work.
    "schedules": ("master-data:read", "master-data:write"),
    "customers": ("portal:read", "portal:write"),
    "customer-users": ("portal:read", "portal:write"),
    "outbox": ("webhooks:manage", "webhooks:manage"),
    "webhooks": ("webhooks:manage", "webhooks:manage"),
    # Any token: the caller's own identity.
    "me": (None, None),
}
# No token at all: managed with a password log-in.
PASSWORD_ONLY_SECTIONS = {"api-tokens"}


def test_every_route_belongs_to_exactly_one_scope(app):
    wrong = []
    for rc in api_routes(app):
        rules = token_scopes_of(rc.dependant)
        is_public = any(d.call is public for d in _all(rc.dependant))
        (tag,) = rc.tags
        if is_public:
            if rules:
                wrong.append(f"{rc.name}: public, yet with a token rule")
            continue
        if len(rules) != 1:
            wrong.append(f"{rc.name}: {len(rules)} token rules")
            continue
        (rule,) = rules
        if tag in PASSWORD_ONLY_SECTIONS:
            if rule.tokens:
                wrong.append(f"{rc.name}: open to API tokens")
        elif tag not in EXPECTED_SCOPES:
            wrong.append(f"{rc.name}: section '{tag}' has no scope decided in this test")
        elif (rule.read, rule.write) != EXPECTED_SCOPES[tag] or not rule.tokens:
            wrong.append(f"{rc.name}: {rule}, expected {EXPECTED_SCOPES[tag]}")
    assert not wrong, "\n".join(wrong)


def _all(dependant):
    yield dependant
    for sub in dependant.dependencies:
        yield from _all(sub)


def _url(path: str) -> str:
    return re.sub(r"{\w+}", lambda _: str(uuid.uuid4()), path)


async def test_a_token_without_a_routes_scope_is_refused_on_every_route(client, app, world):
    # The owner is the administrator holding every permission: it could make every request, so a
    # refusal here comes from the token alone. Ids are random: the scope is checked before any lookup.
    without: dict[str, dict[str, str]] = {}
    only: dict[str, dict[str, str]] = {}
    for scope in SCOPES:
        held = [s for s in SCOPES if s not in satisfying(scope)]
        without[scope] = (await make_token(client, world.admin, held))[1]
        only[scope] = (await make_token(client, world.admin, [scope]))[1]
    everything = (await make_token(client, world.admin, list(SCOPES)))[1]
    checked, wrong = 0, []
    for rc in api_routes(app):
        rules = token_scopes_of(rc.dependant)
        if not rules:
            continue
        (rule,) = rules
        for method in sorted(rc.methods - {"HEAD", "OPTIONS"}):
            url, needed = _url(rc.path), rule.needed(method)
            where = f"{method} {rc.path} [{rc.name}]"
            if not rule.tokens:
                r = await client.request(method, url, headers=everything)
                if r.status_code != 403 or "password" not in r.json()["detail"]:
                    wrong.append(f"{where}: a token was let in: {r.status_code} {r.text[:200]}")
                continue
            if needed is None:
                r = await client.request(method, url, headers=only["webhooks:manage"])
                if r.status_code in (401, 403):
                    wrong.append(f"{where}: any token may call it, got {r.status_code}")
                continue
            checked += 1
            r = await client.request(method, url, headers=without[needed])
            if r.status_code != 403 or f"'{needed}'" not in r.json().get("detail", ""):
                wrong.append(f"{where}: without '{needed}': {r.status_code} {r.text[:200]}")
            r = await client.request(method, url, headers=only[needed])
            if r.status_code == 401 or (r.status_code == 403 and "scope" in r.json().get("detail", "")):
                wrong.append(f"{where}: with '{needed}' alone: {r.status_code} {r.text[:200]}")
    assert not wrong, "\n".join(wrong)
    assert checked > 70


def test_openapi_documents_the_token_scheme_and_each_operations_scope(app):
    document = app.openapi()
    schemes = document["components"]["securitySchemes"]
    assert schemes["APIToken"]["type"] == "http" and schemes["APIToken"]["scheme"] == "bearer"
    assert any(s.get("flows", {}).get("password") for s in schemes.values())
    operations = {op["operationId"]: op for item in document["paths"].values() for op in item.values()}
    for name, scope in [
        ("tickets_list", "tickets:read"),
        ("tickets_create", "tickets:write"),
        ("sites_create", "master-data:write"),
    ]:
        assert {"APIToken": []} in operations[name]["security"]
        assert operations[name]["x-token-scope"] == scope
        assert f"API tokens need the scope `{scope}`." in operations[name]["description"]
    assert {"APIToken": []} in operations["me_read"]["security"] and "x-token-scope" not in operations[
        "me_read"
    ]
    assert operations["api_tokens_create"]["security"] == [{"OAuth2PasswordBearer": []}]
    assert "API tokens are refused" in operations["api_tokens_create"]["description"]
    assert "403" in operations["sites_list"]["responses"]
    assert operations["auth_token"]["security"] == []
