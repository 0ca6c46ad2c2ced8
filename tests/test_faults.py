"""Faults from outside: the database stops or stalls, its pool runs dry, clients send slowly or leave.

The tests run the application on a PostgreSQL reached through a proxy the test controls
(`tests.faults.PgProxy`: cut, refuse or freeze connections), and once on a PostgreSQL server of the
test's own that it really stops and starts again; with small timeouts, so every fault is answered
within seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from blink_api.app import create_app
from blink_api.kit.db import to_asyncpg_url
from blink_api.notifications.models import OutboxMessage
from blink_api.notifications.service import enqueue
from blink_api.notifications.templates import Mail
from tests.conftest import make_settings
from tests.database import migrate
from tests.factories import World
from tests.faults import PgProxy, RawClient, free_port, request_head, serve
from tests.kit import API, PROBLEM
from tests.smtp import SENDER, SmtpServer, eventually

# Small bounds, so that each fault is answered quickly; the defaults are larger.
FAST = {
    "db_pool_size": 2,
    "db_max_overflow": 0,
    "db_pool_timeout_seconds": 0.5,
    "db_connect_timeout_seconds": 1.0,
    "db_command_timeout_seconds": 1.0,
    "ready_timeout_seconds": 1.0,
}


@pytest.fixture
async def proxy(database_url: str) -> AsyncIterator[PgProxy]:
    p = await PgProxy(database_url).start()
    yield p
    await p.stop()


@dataclass
class Served:
    app: Any
    client: httpx.AsyncClient


@pytest.fixture
async def behind_proxy(proxy: PgProxy, tmp_path) -> AsyncIterator[Served]:
    """The app with its own engine on the proxy, called in-process."""
    app = create_app(make_settings(tmp_path, proxy.url, **FAST))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield Served(app, c)


def requests_of_every_kind(world: World) -> list[tuple[str, str, dict[str, str], dict | None]]:
    """Reads on the driver path (the caller, the list), on the ORM path, a write, the readiness probe."""
    ticket = {"site_id": str(world.site_a1.id), "ticket_type_id": str(world.type_a.id), "title": "Leck"}
    return [
        ("GET", f"{API}/tickets", world.employee_a.headers, None),
        ("GET", f"{API}/sites", world.employee_a.headers, None),
        ("GET", f"{API}/me", world.customer_user_x.headers, None),
        ("POST", f"{API}/tickets", world.employee_a.headers, ticket),
        ("GET", "/health/ready", {}, None),
    ]


async def answers(client: httpx.AsyncClient, world: World) -> list[tuple[str, int, float, httpx.Response]]:
    out = []
    for method, path, headers, body in requests_of_every_kind(world):
        began = time.monotonic()
        r = await client.request(method, path, headers=headers, json=body)
        out.append((f"{method} {path}", r.status_code, time.monotonic() - began, r))
    return out


def assert_unavailable(results: list[tuple[str, int, float, httpx.Response]], within: float) -> None:
    for name, status, seconds, r in results:
        assert status == 503, (name, r.text)
        assert r.headers["content-type"].startswith(PROBLEM), name
        assert int(r.headers["retry-after"]) >= 1, name
        assert r.json()["status"] == 503 and r.json()["instance"], name
        assert "Traceback" not in r.text
        assert seconds < within, (name, seconds)


def assert_served(results: list[tuple[str, int, float, httpx.Response]]) -> None:
    assert [(name, status) for name, status, _, _ in results] == [
        (name, 201 if name.startswith("POST") else 200) for name, _, _, _ in results
    ], [r.text for *_, r in results]


# --- The database stops, then comes back ------------------------------------------------------------


async def test_stopped_database_answers_503_and_the_service_heals_without_a_failed_request(
    behind_proxy: Served, proxy: PgProxy, world: World
):
    client = behind_proxy.client
    assert_served(await answers(client, world))

    await proxy.stop()
    assert_unavailable(await answers(client, world), within=2.0)
    assert_unavailable(await answers(client, world), within=2.0)

    await proxy.start()
    for _ in range(3):  # from the very first request on, nothing fails
        assert_served(await answers(client, world))


async def test_restart_between_requests_costs_no_request(behind_proxy: Served, proxy: PgProxy, world: World):
    """The pool still holds connections to the old server; none of them may reach a client."""
    client = behind_proxy.client
    assert_served(await answers(client, world))
    await asyncio.gather(*(client.get(f"{API}/tickets", headers=world.employee_a.headers) for _ in range(4)))
    await proxy.stop()
    await proxy.start()
    await asyncio.sleep(0.05)
    for _ in range(3):
        assert_served(await answers(client, world))


# --- The database stalls ------------------------------------------------------------------------------


async def test_stalled_database_answers_503_within_bounds_then_heals(
    behind_proxy: Served, proxy: PgProxy, world: World
):
    client = behind_proxy.client
    assert_served(await answers(client, world))

    proxy.stall()
    began = time.monotonic()
    results = await answers(client, world)
    # Each request waits at most for the statement timeout (pooled connection) or the connect
    # timeout (new connection), never for the stall.
    assert_unavailable(results, within=2.5)
    ready = results[-1]
    assert ready[0] == "GET /health/ready" and ready[2] < 1.5
    assert time.monotonic() - began < 8

    proxy.resume()
    statuses = []
    for _ in range(3):
        statuses += [status for _, status, _, _ in await answers(client, world)]
    assert set(statuses) <= {200, 201}, statuses


# --- The request pool runs dry ------------------------------------------------------------------------


async def test_exhausted_pool_answers_503_quickly_and_mail_still_goes_out(
    proxy: PgProxy, world: World, database, tmp_path
):
    smtp = SmtpServer().start()
    settings = make_settings(
        tmp_path,
        proxy.url,
        **FAST,
        embedded_worker=True,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_from=SENDER,
    )
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                engine = app.state.context.database.engine
                # Everything the request pool has, taken (as long-running requests would).
                held = [await engine.connect() for _ in range(FAST["db_pool_size"])]
                try:
                    began = time.monotonic()
                    r = await client.get(f"{API}/tickets", headers=world.employee_a.headers)
                    assert r.status_code == 503, r.text
                    assert r.headers["retry-after"] and r.headers["content-type"].startswith(PROBLEM)
                    assert time.monotonic() - began < 1.5
                    # The mail worker has connections of its own: a mail queued now goes out.
                    async with database.sessionmaker.begin() as s:
                        mail = Mail(subject="Willkommen", text="Hallo\n", html="<p>Hallo</p>")
                        await enqueue(s, "test", "neu@example.com", mail)
                    assert await eventually(lambda: smtp.recorder.to("neu@example.com"), seconds=5)
                finally:
                    for conn in held:
                        await conn.close()
                r = await client.get(f"{API}/tickets", headers=world.employee_a.headers)
                assert r.status_code == 200, r.text
    finally:
        smtp.stop()


# --- Slow clients over real sockets ------------------------------------------------------------------


async def test_slow_bodies_hold_no_database_connection_and_are_cut_with_408(
    proxy: PgProxy, world: World, tmp_path
):
    """Twice as many clients as pooled connections dribble POST /tickets bodies; others are served."""
    settings = make_settings(
        tmp_path, proxy.url, **FAST, body_timeout_seconds=2.0, body_min_bytes_per_second=1000
    )
    app = create_app(settings)
    async with serve(app) as base:
        body = b'{"site_id": "%s", "ticket_type_id": "%s", "title": "Langsam"}' % (
            str(world.site_a1.id).encode(),
            str(world.type_a.id).encode(),
        )
        head = request_head(
            "POST",
            f"{API}/tickets",
            {
                **world.customer_user_x.headers,
                "Content-Type": "application/json",
                "Content-Length": str(len(body)),
            },
        )
        slow = [await RawClient(base).open() for _ in range(2 * FAST["db_pool_size"])]
        for c in slow:
            await c.send(head + body[:1])

        async def dribble(c: RawClient) -> tuple[int, dict[str, str], bytes]:
            answer = asyncio.create_task(c.response())
            for i in range(1, len(body)):
                if answer.done():
                    break
                with contextlib.suppress(ConnectionError):
                    await c.send(body[i : i + 1])
                await asyncio.wait([answer], timeout=0.25)
            return await answer

        dribbling = [asyncio.create_task(dribble(c)) for c in slow]
        began = time.monotonic()
        async with httpx.AsyncClient(base_url=base, timeout=5) as others:
            served = 0
            while time.monotonic() - began < 1.5:
                r = await others.get(f"{API}/tickets", headers=world.employee_a.headers)
                # Served, not refused for want of a connection (the pool would answer 503 in 0.5 s).
                assert r.status_code == 200, r.text
                assert r.elapsed.total_seconds() < 2
                served += 1
        assert served >= 5
        results = await asyncio.wait_for(asyncio.gather(*dribbling), 10)
        for status, headers, raw in results:
            assert status == 408, raw
            assert headers["content-type"].startswith(PROBLEM) and headers["connection"] == "close"
            assert b'"instance":"/api/v1/tickets"' in raw
        assert time.monotonic() - began < 4
        for c in slow:
            c.close()


@pytest.mark.parametrize("kind", ["httptools", "h11"])
async def test_slow_head_and_silent_connections_are_closed(proxy: PgProxy, tmp_path, kind: str):
    app = create_app(make_settings(tmp_path, proxy.url, **FAST))
    async with serve(app, head_timeout=2.0, kind=kind) as base:
        silent = await RawClient(base).open()
        slow = await RawClient(base).open()
        began = time.monotonic()

        async def trickle() -> None:
            with_headers = request_head("GET", "/health/live", {"X-Padding": "a" * 50})
            for i in range(len(with_headers)):
                await slow.send(with_headers[i : i + 1])
                await asyncio.sleep(0.1)

        trickling = asyncio.create_task(trickle())
        assert await silent.closed_by_server(within=4)
        status, headers, body = await slow.response()
        assert status == 408 and headers["connection"] == "close"
        assert headers["content-type"] == "application/problem+json"
        assert json.loads(body)["type"] == "/problems/request-timeout" and json.loads(body)["status"] == 408
        assert await slow.closed_by_server(within=1)
        assert time.monotonic() - began < 4
        trickling.cancel()
        # An ordinary client on a keep-alive connection is unaffected.
        client = await RawClient(base).open()
        for _ in range(3):
            await client.send(request_head("GET", "/health/live", {}))
            assert (await client.response())[0] == 200
            await asyncio.sleep(0.8)  # the deadline runs from each response, not from the connection
        client.close()
        # A head larger than any client sends is refused, not buffered without end.
        big = await RawClient(base).open()
        await big.send(request_head("GET", "/health/live", {"X-Big": "b" * 100_000}))
        status, headers, body = await big.response()
        assert status == 431 and headers["content-type"] == "application/problem+json"
        problem = json.loads(body)
        assert problem["type"] == "/problems/request-header-fields-too-large" and problem["status"] == 431
        assert {"title", "detail"} <= problem.keys()
        big.close()
        for c in (silent, slow):
            c.close()


async def test_500_keeps_the_connection_and_a_client_leaving_mid_body_is_no_server_error(
    proxy: PgProxy, world: World, tmp_path, caplog
):
    app = create_app(make_settings(tmp_path, proxy.url, **FAST))

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("unexpected")

    async with serve(app) as base:
        client = await RawClient(base).open()
        await client.send(request_head("GET", "/boom", {}))
        status, headers, _ = await client.response()
        assert status == 500 and headers["content-type"].startswith(PROBLEM)
        assert headers.get("connection") != "close"
        await client.send(request_head("GET", "/health/live", {}))
        assert (await client.response())[0] == 200  # the same connection serves on
        client.close()

        caplog.clear()
        caplog.set_level(logging.INFO)
        leaving = await RawClient(base).open()
        await leaving.send(
            request_head(
                "POST",
                f"{API}/tickets",
                {**world.employee_a.headers, "Content-Type": "application/json", "Content-Length": "500"},
            )
            + b'{"title": "halb'
        )
        await asyncio.sleep(0.2)
        leaving.close()
        await asyncio.sleep(0.3)
        async with httpx.AsyncClient(base_url=base) as c:
            metrics = (await c.get("/metrics")).text
    counted = [line for line in metrics.splitlines() if line.startswith("blink_http_requests_total{")]
    assert any('method="POST"' in line and 'status="499"' in line for line in counted), counted
    # The only server error counted is the deliberate one.
    assert [line for line in counted if 'status="5' in line] == [
        line for line in counted if 'route="/boom"' in line
    ], counted
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    assert any("disconnected" in r.getMessage() for r in caplog.records)


# --- Mail: SMTP down, then the database too -----------------------------------------------------------


async def test_embedded_worker_keeps_mail_through_smtp_and_database_outages(
    proxy: PgProxy, world: World, database, tmp_path
):
    """The API answers at once while SMTP is down; the mail waits through a database outage as well
    and goes out exactly once when both are back."""
    smtp = SmtpServer(port=free_port())  # nothing listens there yet
    settings = make_settings(
        tmp_path,
        proxy.url,
        **FAST,
        embedded_worker=True,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_from=SENDER,
    )
    app = create_app(settings)

    async def outbox() -> list[OutboxMessage]:
        async with database.sessionmaker() as s:
            return list(await s.scalars(select(OutboxMessage)))

    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                began = time.monotonic()
                r = await client.post(
                    f"{API}/employees",
                    headers=world.admin.headers,
                    json={"email": "eingeladen@example.com", "name": "Ida Invite"},
                )
                assert r.status_code == 201, r.text
                assert time.monotonic() - began < 1

                async def tried_and_waiting() -> bool:
                    rows = await outbox()
                    return len(rows) == 1 and rows[0].state == "pending" and rows[0].attempts >= 1

                assert await eventually(tried_and_waiting, seconds=5)
                assert (await outbox())[0].last_error

                await proxy.stop()
                async with database.engine.begin() as conn:  # due again at once, not after the back-off
                    await conn.execute(text("UPDATE outbox SET next_attempt_at = now()"))
                smtp.start()
                await asyncio.sleep(1.5)  # worker rounds fail on the database, not on the mail
                assert smtp.recorder.received == []
                assert (await outbox())[0].state == "pending"

                await proxy.start()
                assert await eventually(lambda: smtp.recorder.to("eingeladen@example.com"), seconds=5)

                async def sent() -> bool:
                    return [m.state for m in await outbox()] == ["sent"]

                assert await eventually(sent, seconds=5)
        assert len(smtp.recorder.received) == 1
    finally:
        smtp.stop()


async def test_only_an_unavailable_database_is_503_a_wrong_statement_stays_500(behind_proxy: Served):
    """503 tells a client to try again; for a bug that would only repeat the failure."""
    app = behind_proxy.app

    @app.get("/wrong-statement")
    async def wrong_statement() -> None:
        async with app.state.context.database.engine.connect() as conn:
            await conn.execute(text("SELECT * FROM no_such_table"))

    @app.get("/timeout-elsewhere")
    async def timeout_elsewhere() -> None:
        raise TimeoutError("a call to some other service timed out")

    for path in ("/wrong-statement", "/timeout-elsewhere"):
        r = await behind_proxy.client.get(path)
        assert r.status_code == 500, (path, r.text)
        assert r.headers["content-type"].startswith(PROBLEM) and "retry-after" not in r.headers
        assert "no_such_table" not in r.text


# --- A real PostgreSQL server of the test's own, stopped and started again ----------------------------


@pytest.fixture
async def own_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    """An embedded PostgreSQL of this test alone (whatever server the suite runs on), migrated."""
    import pgserver

    server = await asyncio.to_thread(pgserver.get_server, tmp_path_factory.mktemp("own-pg") / "pgdata")
    try:
        await migrate(to_asyncpg_url(server.get_uri()))
        yield server
    finally:
        await asyncio.to_thread(server.cleanup)


def _pg_ctl(server: Any, *args: str) -> None:
    from pgserver._commands import pg_ctl

    pg_ctl(["-w", *args], pgdata=server.pgdata, user=server.system_user, timeout=30)


async def test_a_real_server_stopped_answers_503_and_started_again_serves_at_once(own_server: Any, tmp_path):
    app = create_app(make_settings(tmp_path, to_asyncpg_url(own_server.get_uri()), **FAST))
    login = {"username": "nobody@example.test", "password": "not-the-password-123"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:

            async def both() -> list[httpx.Response]:
                return [await client.get("/health/ready"), await client.post(f"{API}/auth/token", data=login)]

            assert [r.status_code for r in await both()] == [200, 401]

            await asyncio.to_thread(_pg_ctl, own_server, "-m", "fast", "stop")
            for _ in range(2):
                began = time.monotonic()
                for r in await both():
                    assert r.status_code == 503, r.text
                    assert r.headers["content-type"].startswith(PROBLEM)
                    assert int(r.headers["retry-after"]) >= 1
                assert time.monotonic() - began < 4

            await asyncio.to_thread(own_server.ensure_postgres_running)
            for _ in range(3):  # from the first request on, as before the stop
                assert [r.status_code for r in await both()] == [200, 401]
