"""Every error is an RFC 9457 problem document, and nothing leaks a stack trace."""

import pytest

from blink_api.app import create_app
from tests.conftest import make_settings
from tests.kit import assert_problem


async def test_unknown_route_is_a_problem(client):
    assert_problem(await client.get("/api/v1/no-such-thing"), 404)


async def test_wrong_method_is_a_problem(client):
    assert_problem(await client.put("/api/v1/me"), 405)


async def test_missing_credentials_is_a_problem(client):
    r = await client.get("/api/v1/tenants")
    assert_problem(r, 401)
    assert r.headers["www-authenticate"] == "Bearer"


async def test_validation_errors_carry_field_paths(client, world):
    r = await client.post(
        "/api/v1/tenants", headers=world.admin.headers, json={"name": "", "code": "x", "colour": "red"}
    )
    body = assert_problem(r, 422)
    locs = {tuple(e["loc"]) for e in body["errors"]}
    assert {("body", "name"), ("body", "code"), ("body", "colour")} <= locs


async def test_malformed_json_is_a_problem(client, world):
    r = await client.post(
        "/api/v1/tenants",
        headers={**world.admin.headers, "content-type": "application/json"},
        content=b"{nope",
    )
    assert_problem(r, 422)


async def test_bad_uuid_in_path_is_a_problem(client, world):
    body = assert_problem(await client.get("/api/v1/sites/not-a-uuid", headers=world.admin.headers), 422)
    assert body["errors"][0]["loc"] == ["path", "site_id"]


async def test_oversized_body_is_refused_before_it_is_read(client, world):
    r = await client.post(
        "/api/v1/tenants",
        headers=world.admin.headers,
        content=b"{" + b" " * 2_000_000 + b"}",
    )
    assert_problem(r, 413)


async def test_unexpected_failure_is_a_500_problem_without_trace(tmp_path, database, database_url):
    app = create_app(make_settings(tmp_path, database_url), database)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    import httpx

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as c,
    ):
        r = await c.get("/boom")
    body = assert_problem(r, 500)
    assert "secret internals" not in r.text
    assert "RuntimeError" not in body["detail"]


@pytest.mark.parametrize("path", ["/api/v1/tenants", "/api/v1/sites", "/api/v1/employees"])
async def test_pagination_limits_are_problems(client, world, path):
    body = assert_problem(await client.get(path, params={"limit": 0}, headers=world.admin.headers), 422)
    assert body["errors"][0]["loc"] == ["query", "limit"]
