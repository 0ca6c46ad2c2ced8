"""Log-in, tokens, throttling, set-password links and the first administrator, on the real database."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select, text

from blink_api.app import create_app
from blink_api.identity.models import Employee
from blink_api.kit import tokens as token_module
from blink_api.kit.tokens import Tokens
from blink_api.notifications.models import OutboxMessage
from tests.conftest import make_settings
from tests.factories import make_employee
from tests.kit import API, assert_problem

TOKEN_URL = f"{API}/auth/token"
ME_URL = f"{API}/me"
ALL_PERMISSIONS = ["check:templates:manage", "insight:manage", "schedules:manage"]


async def login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post(TOKEN_URL, data={"username": email, "password": password})


async def token_for(client: httpx.AsyncClient, email: str, password: str) -> str:
    r = await login(client, email, password)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_unauthorized(r: httpx.Response) -> dict:
    body = assert_problem(r, 401)
    # OAuth2 clients (Swagger UI among them) rely on the challenge to know how to authenticate.
    assert r.headers["www-authenticate"] == "Bearer"
    return body


def field_locs(r: httpx.Response) -> list[list]:
    return [e["loc"] for e in r.json().get("errors") or []]


# -- logging in ----------------------------------------------------------------------------------


async def test_employee_logs_in_and_me_describes_the_employee(client, world, ctx):
    r = await login(client, world.employee_a.email, world.employee_a.password)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["access_token"]
    assert body["expires_in"] == ctx.settings.access_token_ttl_minutes * 60

    me = await client.get(ME_URL, headers=bearer(body["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json() == {
        "id": str(world.employee_a.id),
        "kind": "employee",
        "email": "anna@example.test",
        "name": "Erika Employee",
        "is_admin": False,
        "permissions": [],
        "tenant_ids": [str(world.tenant_a.id)],
        "customer_id": None,
    }


async def test_admin_me_lists_admin_flag_and_permissions(client, world):
    token = await token_for(client, world.admin.email, world.admin.password)
    me = (await client.get(ME_URL, headers=bearer(token))).json()
    assert me["kind"] == "employee"
    assert me["is_admin"] is True
    assert me["permissions"] == ALL_PERMISSIONS


async def test_customer_user_logs_in_at_the_same_endpoint_and_me_names_its_customer(client, world):
    r = await login(client, world.customer_user_x.email, world.customer_user_x.password)
    assert r.status_code == 200, r.text
    assert r.json()["token_type"] == "bearer"

    me = await client.get(ME_URL, headers=bearer(r.json()["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json() == {
        "id": str(world.customer_user_x.id),
        "kind": "customer_user",
        "email": "x@hansa.test",
        "name": "Kim Customer",
        "is_admin": False,
        "permissions": [],
        "tenant_ids": [],
        "customer_id": str(world.customer_x.id),
    }


@pytest.mark.parametrize("spelling", ["ANNA@EXAMPLE.TEST", "Anna@Example.Test", "  anna@example.test "])
async def test_email_is_case_insensitive(client, world, spelling):
    token = await token_for(client, spelling, world.employee_a.password)
    me = (await client.get(ME_URL, headers=bearer(token))).json()
    assert me["id"] == str(world.employee_a.id)


async def test_password_is_case_sensitive(client, world):
    assert_unauthorized(await login(client, world.employee_a.email, world.employee_a.password.upper()))


# -- refusals ------------------------------------------------------------------------------------


async def test_wrong_password_and_unknown_email_get_the_same_answer(client, world):
    wrong = await login(client, world.employee_a.email, "not the password")
    unknown = await login(client, "nobody@example.test", world.employee_a.password)
    assert_unauthorized(wrong)
    assert_unauthorized(unknown)
    # Anything that differs would tell an attacker which addresses have accounts.
    assert wrong.json() == unknown.json()
    assert wrong.headers["content-type"] == unknown.headers["content-type"]
    assert wrong.headers["www-authenticate"] == unknown.headers["www-authenticate"]


async def test_wrong_password_of_customer_user_gets_the_same_answer(client, world):
    wrong = await login(client, world.customer_user_x.email, "not the password")
    unknown = await login(client, "nobody@hansa.test", "not the password")
    assert_unauthorized(wrong)
    assert wrong.json() == unknown.json()


async def test_disabled_employee_with_right_password_gets_the_same_answer(client, database, ctx):
    async with database.sessionmaker.begin() as s:
        disabled = await make_employee(s, ctx, email="gone@example.test", is_active=False)

    refused = await login(client, disabled.email, disabled.password)
    unknown = await login(client, "nobody@example.test", disabled.password)
    assert_unauthorized(refused)
    assert refused.json() == unknown.json()
    assert refused.headers["content-type"] == unknown.headers["content-type"]
    # A token minted before the deactivation must not let the account in either.
    assert_unauthorized(await client.get(ME_URL, headers=disabled.headers))


async def test_disabled_customer_user_with_right_password_gets_the_same_answer(client, world, database):
    async with database.sessionmaker.begin() as s:
        await s.execute(
            text("UPDATE accounts SET is_active = false WHERE id = :id"), {"id": world.customer_user_x.id}
        )

    refused = await login(client, world.customer_user_x.email, world.customer_user_x.password)
    unknown = await login(client, "nobody@hansa.test", world.customer_user_x.password)
    assert_unauthorized(refused)
    assert refused.json() == unknown.json()
    assert_unauthorized(await client.get(ME_URL, headers=world.customer_user_x.headers))


async def test_unknown_email_costs_a_password_verification_like_a_wrong_password(
    client, world, ctx, monkeypatch
):
    # Counting instead of timing: a login that skipped the hash for unknown addresses would answer
    # measurably faster and reveal which addresses exist.
    verified: list[str | None] = []
    original_verify = ctx.passwords.verify

    async def counting_verify(password_hash: str | None, password: str) -> bool:
        verified.append(password_hash)
        return await original_verify(password_hash, password)

    monkeypatch.setattr(ctx.passwords, "verify", counting_verify)
    argon2_runs: list[int] = []
    original_argon2 = PasswordHasher.verify

    def counting_argon2(self, hash, password):
        argon2_runs.append(1)
        return original_argon2(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting_argon2)

    assert_unauthorized(await login(client, world.employee_a.email, "not the password"))
    assert len(verified) == 1 and len(argon2_runs) == 1

    assert_unauthorized(await login(client, "nobody@example.test", "not the password"))
    assert len(verified) == 2, "an unknown e-mail must be verified like a known one"
    assert len(argon2_runs) == 2, "an unknown e-mail must run a real Argon2 verification"


# -- throttling ----------------------------------------------------------------------------------


async def fail_until_locked(client: httpx.AsyncClient, email: str, limit: int) -> None:
    for attempt in range(1, limit + 1):
        r = await login(client, email, f"wrong password {attempt}")
        # Every failure up to and including the limit is still an ordinary refusal.
        assert_unauthorized(r)


def assert_throttled(r: httpx.Response, ctx) -> None:
    assert_problem(r, 429)
    retry_after = r.headers["retry-after"]
    assert retry_after.isdigit(), retry_after
    assert 1 <= int(retry_after) <= ctx.settings.login_lockout_seconds


async def test_repeated_failures_lock_the_address_even_for_the_right_password(client, world, ctx):
    limit = ctx.settings.login_max_failures
    assert limit == 5
    await fail_until_locked(client, world.employee_a.email, limit)

    assert_throttled(await login(client, world.employee_a.email, world.employee_a.password), ctx)
    # Spelling the address differently must not get around the lock.
    assert_throttled(await login(client, "ANNA@example.test", world.employee_a.password), ctx)


async def test_a_locked_address_does_not_lock_others(client, world, ctx):
    await fail_until_locked(client, world.employee_a.email, ctx.settings.login_max_failures)

    assert (await login(client, world.employee_b.email, world.employee_b.password)).status_code == 200
    ok = await login(client, world.customer_user_x.email, world.customer_user_x.password)
    assert ok.status_code == 200, ok.text


async def test_failures_in_mixed_spellings_count_for_one_address(client, world, ctx):
    limit = ctx.settings.login_max_failures
    spellings = ["anna@example.test", "ANNA@EXAMPLE.TEST", " Anna@Example.Test"]
    for attempt in range(limit):
        assert_unauthorized(await login(client, spellings[attempt % 3], "wrong"))

    assert_throttled(await login(client, world.employee_a.email, world.employee_a.password), ctx)


async def test_a_success_before_the_limit_resets_the_count(client, world, ctx):
    limit = ctx.settings.login_max_failures
    for _ in range(limit - 1):
        assert_unauthorized(await login(client, world.employee_a.email, "wrong"))
    assert (await login(client, world.employee_a.email, world.employee_a.password)).status_code == 200

    # Had the count survived, the next failure would reach the limit and lock the address.
    for _ in range(limit - 1):
        assert_unauthorized(await login(client, world.employee_a.email, "wrong"))
    r = await login(client, world.employee_a.email, world.employee_a.password)
    assert r.status_code == 200, r.text


async def test_an_unknown_address_is_throttled_like_a_known_one(client, world, ctx):
    limit = ctx.settings.login_max_failures
    await fail_until_locked(client, "nobody@example.test", limit)
    await fail_until_locked(client, world.employee_b.email, limit)

    unknown = await login(client, "nobody@example.test", "whatever password")
    known = await login(client, world.employee_b.email, "whatever password")
    assert_throttled(unknown, ctx)
    assert_throttled(known, ctx)
    # The lock must not reveal either whether the address exists.
    assert unknown.json()["title"] == known.json()["title"]
    assert unknown.json()["type"] == known.json()["type"]


# -- access tokens -------------------------------------------------------------------------------


async def test_missing_authorization_is_refused(client, world):
    assert_unauthorized(await client.get(ME_URL))


async def test_expired_token_is_refused(client, world, ctx):
    issued = datetime.now(UTC) - timedelta(hours=10)
    assert ctx.tokens.ttl < timedelta(hours=10)
    expired = ctx.tokens.issue(world.employee_a.id, 0, now=issued)

    assert_unauthorized(await client.get(ME_URL, headers=bearer(expired)))
    # The same account with a fresh token still gets in: it is the age that was refused.
    assert (await client.get(ME_URL, headers=world.employee_a.headers)).status_code == 200


async def test_a_token_that_worked_is_refused_once_it_expires(client, world, ctx, monkeypatch):
    # Issued so that it expires a minute from now; verified tokens are remembered, but not past that.
    issued = datetime.now(UTC) - ctx.tokens.ttl + timedelta(minutes=1)
    token = ctx.tokens.issue(world.employee_a.id, 0, now=issued)
    assert (await client.get(ME_URL, headers=bearer(token))).status_code == 200
    assert (await client.get(ME_URL, headers=bearer(token))).status_code == 200

    later = time.time() + 61
    monkeypatch.setattr(token_module.time, "time", lambda: later)
    assert_unauthorized(await client.get(ME_URL, headers=bearer(token)))
    # A changed signature is another token: never taken for the remembered one.
    head, body, signature = token.split(".")
    monkeypatch.undo()
    forged = f"{head}.{body}.{signature[:-2]}{'AA' if not signature.endswith('AA') else 'BB'}"
    assert_unauthorized(await client.get(ME_URL, headers=bearer(forged)))


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Authorization": "Bearer not-a-token"}, id="garbage"),
        pytest.param({"Authorization": "Bearer "}, id="empty"),
        pytest.param({"Authorization": "Basic YWRtaW46YWRtaW4="}, id="basic-scheme"),
    ],
)
async def test_malformed_credentials_are_refused(client, world, headers):
    assert_unauthorized(await client.get(ME_URL, headers=headers))


async def test_token_signed_with_another_key_is_refused(client, world, ctx):
    forged = Tokens("some-other-signing-key-also-long-enough-for-hs256", ctx.tokens.ttl).issue(
        world.admin.id, 0
    )
    assert_unauthorized(await client.get(ME_URL, headers=bearer(forged)))


async def test_token_of_a_deleted_or_never_existing_account_is_refused(client, world, ctx):
    assert_unauthorized(await client.get(ME_URL, headers=bearer(ctx.tokens.issue(uuid.uuid4(), 0))))


async def test_password_change_logs_out_earlier_tokens_and_the_new_password_works(client, world):
    employee = world.employee_a
    logged_in_before = await token_for(client, employee.email, employee.password)

    r = await client.patch(
        f"{API}/employees/{employee.id}",
        json={"password": "a brand new secret"},
        headers=world.admin.headers,
    )
    assert r.status_code == 200, r.text

    assert_unauthorized(await client.get(ME_URL, headers=employee.headers))
    assert_unauthorized(await client.get(ME_URL, headers=bearer(logged_in_before)))
    assert_unauthorized(await login(client, employee.email, employee.password))
    fresh = await token_for(client, employee.email, "a brand new secret")
    me = await client.get(ME_URL, headers=bearer(fresh))
    assert me.status_code == 200 and me.json()["id"] == str(employee.id)
    # Another account's session is not touched by this change.
    assert (await client.get(ME_URL, headers=world.admin.headers)).status_code == 200


# -- invitations ---------------------------------------------------------------------------------


async def invite(client: httpx.AsyncClient, world, database, email: str) -> str:
    """Create an employee without password and return the token from its invitation mail."""
    r = await client.post(
        f"{API}/employees",
        json={"email": email, "name": "Nina Neu", "tenant_ids": [str(world.tenant_a.id)]},
        headers=world.admin.headers,
    )
    assert r.status_code == 201, r.text
    async with database.sessionmaker() as s:
        mails = (await s.scalars(select(OutboxMessage).where(OutboxMessage.recipient == email.lower()))).all()
    assert len(mails) == 1, mails
    match = re.search(r"token=([A-Za-z0-9_\-]+)", mails[0].body_text)
    assert match, mails[0].body_text
    return match.group(1)


async def set_password(client: httpx.AsyncClient, body: dict) -> httpx.Response:
    return await client.post(f"{API}/auth/password", json=body)


async def test_invitation_link_sets_the_password_once(client, world, database):
    token = await invite(client, world, database, "Neu@Example.com")
    # Before the link is used the account has no password at all.
    assert_unauthorized(await login(client, "neu@example.com", "any password at all"))

    r = await set_password(client, {"token": token, "password": "my own secret"})
    assert r.status_code == 204, r.text
    assert r.content == b""

    logged_in = await token_for(client, "neu@example.com", "my own secret")
    me = (await client.get(ME_URL, headers=bearer(logged_in))).json()
    assert me["kind"] == "employee" and me["email"] == "neu@example.com"
    assert me["tenant_ids"] == [str(world.tenant_a.id)]

    reused = await set_password(client, {"token": token, "password": "an attackers secret"})
    assert_problem(reused, 422)
    assert field_locs(reused) == [["body", "token"]]
    # The refused reuse changed nothing.
    assert (await login(client, "neu@example.com", "my own secret")).status_code == 200
    assert_unauthorized(await login(client, "neu@example.com", "an attackers secret"))


async def test_made_up_link_token_is_refused(client, world):
    r = await set_password(client, {"token": "x" * 43, "password": "my own secret"})
    assert_problem(r, 422)
    assert field_locs(r) == [["body", "token"]]


async def test_too_short_password_is_refused_and_keeps_the_link_usable(client, world, database):
    token = await invite(client, world, database, "kurz@example.com")

    r = await set_password(client, {"token": token, "password": "short"})
    assert_problem(r, 422)
    assert ["body", "password"] in field_locs(r)

    assert (await set_password(client, {"token": token, "password": "long enough now"})).status_code == 204
    assert (await login(client, "kurz@example.com", "long enough now")).status_code == 200


async def test_unknown_field_in_set_password_body_is_refused(client, world, database):
    token = await invite(client, world, database, "extra@example.com")

    r = await set_password(
        client, {"token": token, "password": "my own secret", "email": "other@example.com"}
    )
    assert_problem(r, 422)
    assert ["body", "email"] in field_locs(r)
    # Nothing was set: the invited account still cannot log in with that password.
    assert_unauthorized(await login(client, "extra@example.com", "my own secret"))


# -- first administrator -------------------------------------------------------------------------


async def employee_count(database) -> int:
    async with database.sessionmaker() as s:
        return await s.scalar(select(func.count()).select_from(Employee))


async def start_app_once(tmp_path, database_url, database, email: str, password: str) -> None:
    settings = make_settings(
        tmp_path, database_url, bootstrap_admin_email=email, bootstrap_admin_password=password
    )
    app = create_app(settings, database)
    async with app.router.lifespan_context(app):
        pass


async def test_bootstrap_admin_is_created_on_a_start_with_no_employee(tmp_path, database_url, database):
    assert await employee_count(database) == 0
    settings = make_settings(
        tmp_path,
        database_url,
        bootstrap_admin_email="Chefin@Example.test",
        bootstrap_admin_password="first admin secret",
    )
    app = create_app(settings, database)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            token = await token_for(c, "chefin@example.test", "first admin secret")
            me = await c.get(ME_URL, headers=bearer(token))
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["kind"] == "employee"
    assert body["email"] == "chefin@example.test"
    assert body["is_admin"] is True
    assert body["permissions"] == ALL_PERMISSIONS
    assert await employee_count(database) == 1


async def test_bootstrap_admin_is_not_created_again_on_later_starts(client, tmp_path, database_url, database):
    await start_app_once(tmp_path, database_url, database, "chefin@example.test", "first admin secret")
    await start_app_once(tmp_path, database_url, database, "chefin@example.test", "first admin secret")
    # A changed configuration on a later start must not add a second administrator either.
    await start_app_once(tmp_path, database_url, database, "zweiter@example.test", "second admin secret")

    assert await employee_count(database) == 1
    assert (await login(client, "chefin@example.test", "first admin secret")).status_code == 200
    assert_unauthorized(await login(client, "zweiter@example.test", "second admin secret"))


async def test_bootstrap_admin_is_not_created_when_employees_exist(
    client, world, tmp_path, database_url, database
):
    before = await employee_count(database)
    await start_app_once(tmp_path, database_url, database, "chefin@example.test", "first admin secret")

    assert await employee_count(database) == before
    assert_unauthorized(await login(client, "chefin@example.test", "first admin secret"))


# -- create-admin command ------------------------------------------------------------------------


async def run_cli(database_url: str, cwd, *args: str) -> tuple[int, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        # Cheap hashing: the command is run several times and the defaults cost 64 MiB each.
        "BLINK_ARGON2_MEMORY_KIB": "64",
        "BLINK_ARGON2_TIME_COST": "1",
        "BLINK_ARGON2_PARALLELISM": "1",
        "BLINK_LOG_JSON": "false",
    }
    for name in ("BLINK_BOOTSTRAP_ADMIN_EMAIL", "BLINK_BOOTSTRAP_ADMIN_PASSWORD", "BLINK_DEMO_DATA"):
        env.pop(name, None)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "blink_api",
        *args,
        cwd=cwd,  # away from the checkout, so no stray `.env` file is read
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    return process.returncode, output.decode(errors="replace")


async def test_create_admin_command_creates_an_admin_who_can_log_in(client, tmp_path, database_url):
    code, output = await run_cli(
        database_url, tmp_path, "create-admin", "Ops@Example.test", "--password", "command line secret"
    )
    assert code == 0, output

    token = await token_for(client, "ops@example.test", "command line secret")
    me = (await client.get(ME_URL, headers=bearer(token))).json()
    assert me["kind"] == "employee"
    assert me["email"] == "ops@example.test"
    assert me["is_admin"] is True
    assert me["permissions"] == ALL_PERMISSIONS


async def test_create_admin_command_refuses_an_existing_email(client, world, tmp_path, database_url):
    code, output = await run_cli(
        database_url, tmp_path, "create-admin", "ANNA@example.test", "--password", "taking over anna"
    )
    assert code != 0, output

    # The existing account is untouched: its password still works and the new one does not.
    assert (await login(client, world.employee_a.email, world.employee_a.password)).status_code == 200
    assert_unauthorized(await login(client, world.employee_a.email, "taking over anna"))
    token = await token_for(client, world.employee_a.email, world.employee_a.password)
    assert (await client.get(ME_URL, headers=bearer(token))).json()["is_admin"] is False


async def test_create_admin_command_refuses_a_too_short_password(client, tmp_path, database_url):
    code, output = await run_cli(
        database_url, tmp_path, "create-admin", "ops@example.test", "--password", "short"
    )
    assert code != 0, output
    assert_unauthorized(await login(client, "ops@example.test", "short"))
