"""Passwords nobody should choose are refused wherever a password is set, and nothing changes."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import httpx
import pytest
from sqlalchemy import func, select, text

from blink_api.app import create_app
from blink_api.bootstrap import DEMO_LOGINS, WeakPassword
from blink_api.identity.models import Account, Employee
from blink_api.identity.password_policy import why_not_password
from tests.conftest import make_settings
from tests.factories import World
from tests.kit import API, assert_problem
from tests.test_auth import run_cli

STRONG = "Kranich fliegt über Elbe"
NEW_EMAIL = "nina.neu@example.com"

# A password made from the account's address, and what the refusal must say.
WEAK: dict[str, tuple[Callable[[str], str], str]] = {
    "too short": (lambda email: "kurz", "at least 12 characters"),
    "blank": (lambda email: " " * 16, "must not be blank"),
    "short once trimmed": (lambda email: "    abcdefgh    ", "at least 12 characters"),
    "a very common password": (lambda email: "password1234", "common password"),
    "a keyboard row": (lambda email: "qwertyuiop123", "too easy to guess"),
    "one character repeated": (lambda email: "aaaaaaaaaaaaaaaa", "too easy to guess"),
    "the account's own address": (lambda email: email, "too easy to guess"),
}


async def login(client, email: str, password: str) -> httpx.Response:
    return await client.post(f"{API}/auth/token", data={"username": email, "password": password})


async def invitation_token(client, world: World, database) -> str:
    r = await client.post(
        f"{API}/employees", json={"email": NEW_EMAIL, "name": "Nina Neu"}, headers=world.admin.headers
    )
    assert r.status_code == 201, r.text
    async with database.engine.connect() as conn:
        body = (await conn.execute(text("SELECT body_text FROM outbox"))).scalar_one()
    match = re.search(r"token=([A-Za-z0-9_-]+)", body)
    assert match, body
    return match.group(1)


async def account_count(database) -> int:
    async with database.sessionmaker() as s:
        return await s.scalar(select(func.count()).select_from(Account))


async def employee_create(client, world: World, link: str | None, password: str) -> httpx.Response:
    body = {"email": NEW_EMAIL, "name": "Nina Neu", "password": password}
    return await client.post(f"{API}/employees", json=body, headers=world.admin.headers)


async def employee_update(client, world: World, link: str | None, password: str) -> httpx.Response:
    url = f"{API}/employees/{world.employee_a.id}"
    return await client.patch(url, json={"password": password}, headers=world.admin.headers)


async def customer_user_create(client, world: World, link: str | None, password: str) -> httpx.Response:
    body = {"email": NEW_EMAIL, "name": "Nina Neu", "password": password}
    url = f"{API}/customers/{world.customer_x.id}/users"
    return await client.post(url, json=body, headers=world.admin.headers)


async def customer_user_update(client, world: World, link: str | None, password: str) -> httpx.Response:
    url = f"{API}/customer-users/{world.customer_user_x.id}"
    return await client.patch(url, json={"password": password}, headers=world.admin.headers)


async def set_password_link(client, world: World, link: str | None, password: str) -> httpx.Response:
    return await client.post(f"{API}/auth/password", json={"token": link, "password": password})


# Where a password is set: whose address the password is for, and the request that sets it.
Send = Callable[[httpx.AsyncClient, World, "str | None", str], Awaitable[httpx.Response]]
PATHS: dict[str, tuple[Callable[[World], str], Send]] = {
    "employee create": (lambda w: NEW_EMAIL, employee_create),
    "employee update": (lambda w: w.employee_a.email, employee_update),
    "customer user create": (lambda w: NEW_EMAIL, customer_user_create),
    "customer user update": (lambda w: w.customer_user_x.email, customer_user_update),
    "set-password link": (lambda w: NEW_EMAIL, set_password_link),
}
# SPEC names no success codes here; as the service answers: a create 201, a change 200, the link 204.
ACCEPTED = {
    "employee create": 201,
    "employee update": 200,
    "customer user create": 201,
    "customer user update": 200,
    "set-password link": 204,
}


@pytest.mark.parametrize("weak", WEAK)
@pytest.mark.parametrize("path", PATHS)
async def test_weak_password_is_refused_at_its_field_and_changes_nothing(client, world, database, path, weak):
    whose, send = PATHS[path]
    email = whose(world)
    make_password, says = WEAK[weak]
    password = make_password(email)
    link = await invitation_token(client, world, database) if path == "set-password link" else None
    accounts = await account_count(database)

    r = await send(client, world, link, password)

    assert_problem(r, 422, ["body", "password"])
    errors = [e for e in r.json()["errors"] if e["loc"] == ["body", "password"]]
    assert errors, r.json()
    assert says in errors[0]["msg"], errors[0]["msg"]
    # Nothing changed: no account made, the old passwords still log in, no session ended.
    assert await account_count(database) == accounts
    assert (await login(client, email, password)).status_code == 401
    for actor in (world.employee_a, world.customer_user_x):
        assert (await login(client, actor.email, actor.password)).status_code == 200
        assert (await client.get(f"{API}/me", headers=actor.headers)).status_code == 200
    # The very same request with a good password succeeds (so a refused link stays usable).
    r = await send(client, world, link, STRONG)
    assert r.status_code == ACCEPTED[path], r.text
    assert (await login(client, email, STRONG)).status_code == 200


@pytest.mark.parametrize("path", ["employee create", "customer user create"])
async def test_the_accounts_own_name_is_refused(client, world, path):
    body = {"email": "kai.kranich@example.com", "name": "Kai Kranich", "password": "kai kranich 2024"}
    url = f"{API}/employees" if path == "employee create" else f"{API}/customers/{world.customer_x.id}/users"
    r = await client.post(url, json=body, headers=world.admin.headers)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["body", "password"]
    assert r.json()["errors"][0]["type"] == "password_too_weak"


async def test_longest_password_is_accepted_and_logs_in(client, world):
    """Only the first characters are estimated (the estimate's cost grows steeply with length), and
    the whole password is what logs in."""
    long_password = ("Kraniche ziehen im Herbst über die Elbe nach Süden " * 6)[:256]
    url = f"{API}/employees/{world.employee_a.id}"
    r = await client.patch(url, json={"password": long_password}, headers=world.admin.headers)
    assert r.status_code == 200, r.text
    assert (await login(client, world.employee_a.email, long_password)).status_code == 200
    assert (await login(client, world.employee_a.email, long_password[:64])).status_code == 401
    r = await client.patch(url, json={"password": long_password + "x"}, headers=world.admin.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "password"]


async def test_the_rule_is_in_the_contract(client):
    document = (await client.get("/openapi.json")).json()
    schema = document["components"]["schemas"]["PasswordSet"]["properties"]["password"]
    assert schema["minLength"] == 12
    assert "not easy to guess" in schema["description"]


# -- outside the API -----------------------------------------------------------------------------


async def test_create_admin_refuses_a_weak_password(client, database_url, database, tmp_path):
    code, output = await run_cli(
        database_url, tmp_path, "create-admin", "boss@example.test", "--password", "password1234"
    )
    assert code == 2, output
    assert "common password" in output
    async with database.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Employee)) == 0

    code, output = await run_cli(
        database_url, tmp_path, "create-admin", "boss@example.test", "--password", STRONG
    )
    assert code == 0, output
    assert (await login(client, "boss@example.test", STRONG)).status_code == 200


async def test_weak_bootstrap_password_stops_the_start(tmp_path, database_url, database):
    settings = make_settings(
        tmp_path,
        database_url,
        bootstrap_admin_email="chefin@example.test",
        bootstrap_admin_password="admin1234567",
    )
    app = create_app(settings, database)
    with pytest.raises(WeakPassword, match="BLINK_BOOTSTRAP_ADMIN_PASSWORD"):
        async with app.router.lifespan_context(app):
            pass
    async with database.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Employee)) == 0


async def test_demo_logins_pass_the_rule_and_log_in(tmp_path, database_url, database):
    """`make run` prints these: each must be a password the API itself would accept."""
    app = create_app(make_settings(tmp_path, database_url, demo_data=True), database)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            for demo in DEMO_LOGINS:
                assert why_not_password(demo.password, (demo.email,)) is None
                assert (await login(c, demo.email, demo.password)).status_code == 200
