"""CORS: browser pages of the origins the operator lists (`BLINK_CORS_ORIGINS`) may call the API and
read every answer, problems included; any other origin, and every origin by default, gets nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from blink_api.app import create_app
from blink_api.kit.config import Settings
from tests.conftest import make_settings
from tests.factories import World
from tests.kit import API, PROBLEM, assert_problem

ORIGIN = "https://portal.example.test"
OTHER_ALLOWED = "http://127.0.0.1:5173"


@pytest.fixture
async def cors_client(tmp_path, database_url, database) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(
        tmp_path,
        database_url,
        cors_origins=f" {ORIGIN}/ ,{OTHER_ALLOWED}",
        max_body_bytes=1024,
        login_attempts_per_minute=1,
    )
    app = create_app(settings, database)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


def cors_headers(r: httpx.Response) -> dict[str, str]:
    return {name: value for name, value in r.headers.items() if name.startswith("access-control-")}


def listed(value: str) -> set[str]:
    return {item.strip().lower() for item in value.split(",")}


def preflight(
    origin: str, method: str = "PATCH", headers: str = "authorization, content-type, if-match"
) -> dict:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers,
    }


@pytest.mark.parametrize("origin", [ORIGIN, OTHER_ALLOWED])
async def test_an_allowed_origin_passes_the_preflight(cors_client, origin):
    r = await cors_client.options(f"{API}/tickets/{uuid.uuid4()}", headers=preflight(origin))
    assert r.status_code == 204 and r.content == b""
    assert r.headers["access-control-allow-origin"] == origin
    assert {"get", "post", "put", "patch", "delete"} <= listed(r.headers["access-control-allow-methods"])
    assert {
        "authorization",
        "content-type",
        "idempotency-key",
        "if-match",
        "if-none-match",
    } <= listed(r.headers["access-control-allow-headers"])
    assert "origin" in listed(r.headers["vary"])
    # Bearer tokens travel in a header; no cookie or other ambient credential is let through.
    assert "access-control-allow-credentials" not in r.headers


async def test_a_preflight_for_what_is_not_allowed_lists_only_what_is(cors_client):
    # The browser compares its request with the lists and refuses; no plain-text 400 here.
    r = await cors_client.options(
        f"{API}/tickets",
        headers={**preflight(ORIGIN, "TRACE", "x-evil"), "Access-Control-Request-Private-Network": "true"},
    )
    assert r.status_code == 204
    assert "trace" not in listed(r.headers["access-control-allow-methods"])
    assert "x-evil" not in listed(r.headers["access-control-allow-headers"])
    assert "access-control-allow-private-network" not in r.headers


async def test_an_allowed_origin_reads_answers_and_their_headers(cors_client, world):
    h = {**world.employee_a.headers, "Origin": ORIGIN}
    body = {
        "site_id": str(world.site_a1.id),
        "ticket_type_id": str(world.type_a.id),
        "title": "Von der Seite",
    }
    r = await cors_client.post(f"{API}/tickets", headers={**h, "Idempotency-Key": "k1"}, json=body)
    assert r.status_code == 201, r.text
    assert r.headers["access-control-allow-origin"] == ORIGIN
    exposed = listed(r.headers["access-control-expose-headers"])
    assert {"etag", "location", "retry-after", "idempotent-replayed", "x-request-id"} <= exposed
    assert "origin" in listed(r.headers["vary"])

    replay = await cors_client.post(f"{API}/tickets", headers={**h, "Idempotency-Key": "k1"}, json=body)
    assert replay.headers["access-control-allow-origin"] == ORIGIN
    assert replay.headers["idempotent-replayed"] == "true"

    read = await cors_client.get(r.headers["location"], headers={**h, "If-None-Match": r.headers["etag"]})
    assert read.status_code == 304 and read.headers["access-control-allow-origin"] == ORIGIN


async def _problems(c: httpx.AsyncClient, world: World, origin: str) -> list[tuple[int, httpx.Response]]:
    """One problem of each kind, asked from `origin`: refused by a dependency, a handler, the body cap
    (before any route runs) and the log-in rate limit."""
    o = {"Origin": origin}
    admin = {**world.admin.headers, **o}
    wrong = {"username": world.employee_a.email, "password": "nicht das Passwort"}
    return [
        (401, await c.get(f"{API}/me", headers=o)),
        (404, await c.get(f"{API}/tickets/{uuid.uuid4()}", headers=admin)),
        (405, await c.put(f"{API}/me", headers=admin)),
        (413, await c.post(f"{API}/tenants", headers=admin, content=b"x" * 4096)),
        (422, await c.post(f"{API}/tenants", headers=admin, json={"name": 1})),
        (401, await c.post(f"{API}/auth/token", headers=o, data=wrong)),
        # One log-in a minute in this configuration.
        (429, await c.post(f"{API}/auth/token", headers=o, data=wrong)),
    ]


async def test_an_allowed_origin_can_read_every_problem(cors_client, world):
    for status, r in await _problems(cors_client, world, ORIGIN):
        assert_problem(r, status)
        assert r.headers["access-control-allow-origin"] == ORIGIN, status
        assert "retry-after" in listed(r.headers["access-control-expose-headers"]), status
        if status == 429:
            assert r.headers["retry-after"].isdigit()


async def test_an_allowed_origin_can_read_an_unexpected_error(tmp_path, database_url):
    app = create_app(make_settings(tmp_path, database_url, cors_origins=ORIGIN))

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("unexpected")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        r = await c.get("/boom", headers={"Origin": ORIGIN})
    assert r.status_code == 500 and r.headers["content-type"].startswith(PROBLEM)
    assert r.headers["access-control-allow-origin"] == ORIGIN


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "https://portal.example.test.evil.example",  # a suffix of the name
        "https://evil-portal.example.test",
        "http://portal.example.test",  # another scheme
        "https://portal.example.test:8443",  # another port
        "https://PORTAL.example.test",  # browsers send lower case; anything else is not theirs
        "null",  # sandboxed frames, files
        f"{ORIGIN}, https://evil.example",
        "",
    ],
)
async def test_an_origin_not_listed_gets_no_cors_headers(cors_client, world, origin):
    preflighted = await cors_client.options(f"{API}/tickets", headers=preflight(origin))
    assert_problem(preflighted, 405)  # a plain OPTIONS, exactly as without CORS
    assert cors_headers(preflighted) == {}
    r = await cors_client.get(f"{API}/me", headers={**world.employee_a.headers, "Origin": origin})
    assert r.status_code == 200
    assert cors_headers(r) == {}
    # An allowed origin's answer differs, so no shared cache may hand this one out for it.
    assert "origin" in listed(r.headers["vary"])
    for status, problem in await _problems(cors_client, world, origin):
        assert problem.status_code == status and cors_headers(problem) == {}, status


async def test_without_configuration_no_origin_gets_cors_headers(client, world):
    preflighted = await client.options(f"{API}/tickets", headers=preflight(ORIGIN))
    assert_problem(preflighted, 405)
    assert preflighted.headers["content-type"].startswith(PROBLEM)
    assert cors_headers(preflighted) == {}
    r = await client.get(f"{API}/me", headers={**world.employee_a.headers, "Origin": ORIGIN})
    assert r.status_code == 200 and cors_headers(r) == {}


def test_cors_origins_are_empty_by_default_and_read_as_browsers_send_them(monkeypatch):
    monkeypatch.delenv("BLINK_CORS_ORIGINS", raising=False)
    assert Settings(_env_file=None).cors_origins == ()
    monkeypatch.setenv(
        "BLINK_CORS_ORIGINS",
        "HTTPS://Portal.Example.com:443/, http://localhost:5173,, https://portal.example.com",
    )
    assert Settings(_env_file=None).cors_origins == ("https://portal.example.com", "http://localhost:5173")
    monkeypatch.setenv("BLINK_CORS_ORIGINS", "http://[::1]:80, https://xn--mller-kva.example")
    assert Settings(_env_file=None).cors_origins == ("http://[::1]", "https://xn--mller-kva.example")


@pytest.mark.parametrize(
    "value",
    [
        "*",
        "null",
        "portal.example.com",
        "https://portal.example.com/app",
        "https://portal.example.com?x=1",
        "https://portal.example.com#top",
        "https://user@portal.example.com",
        "ftp://portal.example.com",
        "https://portal.example.com:99999",
        "https://portal example.com",
        "https://müller.example",
        "https://",
    ],
)
def test_a_cors_origin_that_is_no_origin_stops_the_start(monkeypatch, value):
    monkeypatch.setenv("BLINK_CORS_ORIGINS", f"https://fine.example, {value}")
    with pytest.raises(ValueError, match="is not an origin"):
        Settings(_env_file=None)
