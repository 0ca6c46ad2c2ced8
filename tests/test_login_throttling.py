"""Log-in throttling and the bound on password hashing, tried from the attacker's side.

Callers come from distinct client addresses (the ASGI client host) as they would over the network.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import text

from blink_api.app import create_app
from tests.conftest import make_settings
from tests.kit import API, PROBLEM, assert_problem

TOKEN_URL = f"{API}/auth/token"
ME_URL = f"{API}/me"

OWNER_HOME = "198.51.100.10"
OWNER_TRAVELLING = "192.0.2.44"
ATTACKER = "203.0.113.66"


@asynccontextmanager
async def client_from(app: Any, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 50123))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@asynccontextmanager
async def app_with(tmp_path, database_url, database, **overrides: object) -> AsyncIterator[Any]:
    """Another API process on the same database, with its own settings."""
    app = create_app(make_settings(tmp_path, database_url, **overrides), database)
    async with app.router.lifespan_context(app):
        yield app


async def login(c: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await c.post(TOKEN_URL, data={"username": email, "password": password})


def assert_refused(r: httpx.Response) -> None:
    assert r.status_code == 401, r.text


def retry_after(r: httpx.Response, status: int = 429) -> int:
    """The `Retry-After` seconds of a refusal for being too many (a problem document)."""
    assert_problem(r, status)
    value = r.headers["retry-after"]
    assert value.isdigit(), value
    assert int(value) >= 1
    return int(value)


@pytest.fixture
def argon2_runs(monkeypatch) -> list[int]:
    """Counts real Argon2 verifications, whichever path calls them."""
    runs: list[int] = []
    original = PasswordHasher.verify

    def counting(self, hash, password):
        runs.append(1)
        return original(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    return runs


# -- one attacker, one victim ----------------------------------------------------------------------


async def test_a_third_party_failing_elsewhere_does_not_lock_the_owner_out(app, world, ctx):
    owner = world.employee_a
    async with client_from(app, ATTACKER) as attacker:
        for attempt in range(ctx.settings.login_max_failures):
            assert_refused(await login(attacker, owner.email, f"guess {attempt}"))
        # From here on the attacker only hears "wait", even when it finally guesses right.
        for attempt in range(25):
            assert retry_after(await login(attacker, owner.email, f"more guessing {attempt}")) <= 60
        assert retry_after(await login(attacker, owner.email, owner.password)) <= 60

    # The owner, from an address it never used before, is not affected at all.
    async with client_from(app, OWNER_TRAVELLING) as home:
        r = await login(home, owner.email, owner.password)
    assert r.status_code == 200, r.text


async def test_locked_attempts_are_answered_without_running_argon2(app, world, ctx, argon2_runs):
    limit = ctx.settings.login_max_failures
    emails = [world.employee_b.email, "nobody@example.test"]
    async with client_from(app, ATTACKER) as attacker:
        for email in emails:
            for attempt in range(limit):
                assert_refused(await login(attacker, email, f"guess {attempt}"))
        # An unknown address is hashed like a known one until it is locked like one.
        assert len(argon2_runs) == 2 * limit

        started = time.monotonic()
        for attempt in range(20):
            for email in emails:
                retry_after(await login(attacker, email, f"guess again {attempt}"))
        elapsed = time.monotonic() - started
    assert len(argon2_runs) == 2 * limit
    assert elapsed < 10, elapsed


async def test_the_lock_doubles_for_a_persisting_attacker_and_stays_within_an_hour(app, world, ctx, database):
    owner = world.employee_a
    async with client_from(app, ATTACKER) as attacker:
        for attempt in range(ctx.settings.login_max_failures):
            assert_refused(await login(attacker, owner.email, f"guess {attempt}"))
        first = retry_after(await login(attacker, owner.email, "again"))
        assert first <= ctx.settings.login_lockout_seconds
        waits = []
        for attempt in range(8):
            # The lock runs out (moved into the past rather than waited for), the attacker fails again.
            async with database.sessionmaker.begin() as s:
                await s.execute(
                    text("UPDATE login_throttle SET locked_until = now() WHERE locked_until > now()")
                )
            assert_refused(await login(attacker, owner.email, f"after the lock {attempt}"))
            waits.append(retry_after(await login(attacker, owner.email, "again")))
    assert waits[0] > first and waits[1] > waits[0]
    assert max(waits) <= 3600
    assert waits[-1] > 3000


@pytest.mark.parametrize(
    "username",
    [lambda n: " " * (n % 3 + 1), lambda n: f"{n}" + "a" * 300 + "@" + "b" * 300 + ".test"],
    ids=["blank", "overlong"],
)
async def test_usernames_no_account_can_have_are_refused_and_counted_for_the_address(
    app, world, ctx, username
):
    async with client_from(app, ATTACKER) as attacker:
        for attempt in range(ctx.settings.login_address_max_failures):
            assert_refused(await login(attacker, username(attempt), "guess"))
        retry_after(await login(attacker, world.employee_b.email, world.employee_b.password))


async def test_one_client_logging_in_over_and_over_is_limited_even_with_the_right_password(
    app, world, ctx, argon2_runs
):
    # A customer user who knows its own password still must not keep the hashing busy.
    user = world.customer_user_x
    per_minute = ctx.settings.login_attempts_per_minute
    async with client_from(app, "203.0.113.150") as hammer:
        started, served = time.monotonic(), 0
        while (r := await login(hammer, user.email, user.password)).status_code == 200:
            served += 1
            # At once `per_minute`, then one more every 60 / `per_minute` seconds.
            refills = (time.monotonic() - started) * per_minute / 60
            assert served <= per_minute + math.ceil(refills), "never limited"
        assert served >= per_minute
        assert retry_after(r) <= 60 / per_minute + 1
        hashed = len(argon2_runs)
        for _ in range(20):
            retry_after(await login(hammer, user.email, user.password))
        assert len(argon2_runs) == hashed

    async with client_from(app, OWNER_HOME) as other:
        r = await login(other, world.employee_a.email, world.employee_a.password)
    assert r.status_code == 200, r.text


# -- many attackers, one victim --------------------------------------------------------------------


async def test_failures_from_many_addresses_only_slow_the_account_briefly_and_never_where_it_logs_in(
    tmp_path, database_url, database, world
):
    owner = world.employee_a
    delay = 2
    async with app_with(tmp_path, database_url, database, login_account_delay_seconds=delay) as app:
        max_failures = app.state.settings.login_account_max_failures
        async with client_from(app, OWNER_HOME) as home:
            assert (await login(home, owner.email, owner.password)).status_code == 200

        # A botnet: every address stays below its own limits.
        for n in range(max_failures):
            async with client_from(app, f"203.0.113.{100 + n}") as bot:
                assert_refused(await login(bot, owner.email, f"guess {n}"))
        async with client_from(app, "203.0.113.200") as bot:
            assert retry_after(await login(bot, owner.email, "one more guess")) <= delay

        # Where the owner logged in before, the owner is let in at once.
        async with client_from(app, OWNER_HOME) as home:
            r = await login(home, owner.email, owner.password)
            assert r.status_code == 200, r.text
        # From a new address the owner waits at most the account delay, then gets in.
        async with client_from(app, OWNER_TRAVELLING) as travelling:
            wait = retry_after(await login(travelling, owner.email, owner.password))
            assert wait <= delay
            await asyncio.sleep(wait + 0.2)
            r = await login(travelling, owner.email, owner.password)
            assert r.status_code == 200, r.text


# -- one attacker, many victims --------------------------------------------------------------------


async def test_one_address_trying_many_accounts_is_throttled_and_others_are_not(app, world, ctx):
    limit = ctx.settings.login_address_max_failures
    async with client_from(app, ATTACKER) as sprayer:
        for n in range(limit):
            assert_refused(await login(sprayer, f"user{n}@example.test", "Sommer2026!"))
        # Even a right password of an account it never tried is refused now: the address is locked.
        wait = retry_after(await login(sprayer, world.employee_b.email, world.employee_b.password))
        assert wait <= ctx.settings.login_lockout_seconds
        assert retry_after(await login(sprayer, "user999@example.test", "Sommer2026!")) <= wait

    async with client_from(app, OWNER_TRAVELLING) as other:
        r = await login(other, world.employee_b.email, world.employee_b.password)
    assert r.status_code == 200, r.text


async def test_a_neighbour_spraying_from_the_owners_address_does_not_lock_the_owner_out(app, world, ctx):
    shared = "198.51.100.77"  # one office behind one address
    owner = world.customer_user_x
    async with client_from(app, shared) as office:
        assert (await login(office, owner.email, owner.password)).status_code == 200
        for n in range(ctx.settings.login_address_max_failures):
            assert_refused(await login(office, f"user{n}@example.test", "Sommer2026!"))
        retry_after(await login(office, world.employee_b.email, world.employee_b.password))

        r = await login(office, owner.email, owner.password)
        assert r.status_code == 200, r.text


async def test_ipv6_addresses_of_one_network_count_as_one_client(app, world, ctx):
    for n in range(ctx.settings.login_address_max_failures):
        async with client_from(app, f"2001:db8:1:2::{n + 1:x}") as rotating:
            assert_refused(await login(rotating, f"user{n}@example.test", "Sommer2026!"))
    async with client_from(app, "2001:db8:1:2:ffff::1") as rotating:
        retry_after(await login(rotating, "user999@example.test", "Sommer2026!"))
    async with client_from(app, "2001:db8:1:3::1") as neighbour_network:
        r = await login(neighbour_network, world.employee_b.email, world.employee_b.password)
    assert r.status_code == 200, r.text


# -- several processes -----------------------------------------------------------------------------


async def test_every_api_process_sees_the_same_failures(app, world, ctx, tmp_path, database_url, database):
    owner = world.employee_a
    async with app_with(tmp_path, database_url, database) as second_process:
        for attempt in range(ctx.settings.login_max_failures):
            process = app if attempt % 2 else second_process
            async with client_from(process, ATTACKER) as attacker:
                assert_refused(await login(attacker, owner.email, f"guess {attempt}"))
        for process in (app, second_process):
            async with client_from(process, ATTACKER) as attacker:
                retry_after(await login(attacker, owner.email, owner.password))


# -- the bound on hashing --------------------------------------------------------------------------


# Long enough that "answered before a hash could finish" holds on a loaded machine too.
SLOW_HASH_SECONDS = 3.0


@pytest.fixture
def slow_argon2(monkeypatch) -> Callable[[], int]:
    """Every Argon2 verification takes 3 s (in its thread); returns the most that ever ran at once."""
    lock = threading.Lock()
    running = [0, 0]  # now, most
    original = PasswordHasher.verify

    def slow(self, hash, password):
        with lock:
            running[0] += 1
            running[1] = max(running[1], running[0])
        try:
            time.sleep(SLOW_HASH_SECONDS)
            return original(self, hash, password)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(PasswordHasher, "verify", slow)
    return lambda: running[1]


async def test_logins_beyond_the_hashing_bound_answer_503_at_once_instead_of_queueing(
    tmp_path, database_url, database, world, slow_argon2
):
    bound = 2
    async with app_with(
        tmp_path, database_url, database, password_hash_concurrency=bound, password_hash_wait_seconds=0.1
    ) as app:

        async def attempt(n: int) -> tuple[httpx.Response, float]:
            async with client_from(app, f"203.0.113.{n + 1}") as c:
                started = time.monotonic()
                r = await login(c, f"user{n}@example.test", "guess")
                return r, time.monotonic() - started

        async def meanwhile() -> tuple[httpx.Response, float]:
            await asyncio.sleep(0.3)
            async with client_from(app, OWNER_HOME) as c:
                started = time.monotonic()
                r = await c.get(ME_URL, headers=world.employee_a.headers)
                return r, time.monotonic() - started

        *logins, (me, me_took) = await asyncio.gather(*(attempt(n) for n in range(10)), meanwhile())

    assert slow_argon2() == bound
    statuses = [r.status_code for r, _ in logins]
    assert set(statuses) == {401, 503}, statuses
    refused = [(r, took) for r, took in logins if r.status_code == 503]
    # Two rounds of hashing at the very most: nobody queued for a slot.
    assert len(refused) >= 10 - 2 * bound, statuses
    for r, took in refused:
        assert retry_after(r, 503) >= 1
        # Answered long before a single hash could have finished: nobody waited for a slot.
        assert took < SLOW_HASH_SECONDS / 2, took
    # Hashing runs in threads: everything else is served meanwhile.
    assert me.status_code == 200, me.text
    assert me_took < SLOW_HASH_SECONDS / 2, me_took


async def test_a_refusal_for_capacity_does_not_count_as_a_failed_login(
    tmp_path, database_url, database, world, slow_argon2
):
    owner = world.employee_a
    async with app_with(
        tmp_path, database_url, database, password_hash_concurrency=1, password_hash_wait_seconds=0
    ) as app:
        async with client_from(app, ATTACKER) as c:
            results = await asyncio.gather(*(login(c, owner.email, "guess") for _ in range(8)))
            statuses = [r.status_code for r in results]
            assert set(statuses) == {401, 503} and statuses.count(503) >= 4, statuses
        async with client_from(app, ATTACKER) as c:
            r = await login(c, owner.email, owner.password)
    # Only the checked guesses count, fewer than the five failures that lock the pair.
    assert r.status_code == 200, r.text


# -- the contract ----------------------------------------------------------------------------------


def test_the_token_route_documents_retry_after_on_429_and_503(app):
    responses = app.openapi()["paths"]["/api/v1/auth/token"]["post"]["responses"]
    for status in ("429", "503"):
        assert "Retry-After" in responses[status]["headers"], status
        assert PROBLEM in responses[status]["content"]
