"""Anonymous public-form requests are limited per client address, across API processes."""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text

from blink_api.app import create_app
from blink_api.forms.models import FormSubmission
from tests.conftest import make_settings
from tests.forms_helpers import create_template, make_manager, publish, template_body
from tests.kit import API, PROBLEM, assert_problem

ANSWERS = {"answers": {"name": "Frau Weiß", "zufrieden": 4}}


@asynccontextmanager
async def client_from(app: Any, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 50123))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def form_token(client, world, ctx) -> str:
    manager = await make_manager(ctx, world)
    elements = [
        {"key": "name", "type": "text", "label": "Ihr Name", "required": True},
        {"key": "zufrieden", "type": "rating", "label": "Zufriedenheit", "required": True},
    ]
    draft = await create_template(client, manager, template_body(elements, is_public=True, name="Umfrage"))
    return (await publish(client, manager, draft["id"]))["public_token"]


def assert_too_many(r: httpx.Response) -> int:
    assert_problem(r, 429)
    seconds = r.headers["retry-after"]
    assert seconds.isdigit() and 1 <= int(seconds) <= 60, seconds
    return int(seconds)


async def flood(send: Callable[[], Awaitable[httpx.Response]], per_minute: int, ok: int) -> int:
    """Send until refused; returns how many got `ok`. The limit lets `per_minute` through at once and
    one more every 60 / `per_minute` seconds, so a slow flood may see a few more than `per_minute`."""
    started = time.monotonic()
    served = 0
    while True:
        r = await send()
        if r.status_code == 429:
            assert_too_many(r)
            break
        assert r.status_code == ok, r.text
        served += 1
        refills = (time.monotonic() - started) * per_minute / 60
        assert served <= per_minute + math.ceil(refills), "the flood was never refused"
    assert served >= per_minute
    return served


async def submission_count(database) -> int:
    async with database.sessionmaker() as s:
        return await s.scalar(select(func.count()).select_from(FormSubmission))


async def test_a_submission_flood_from_one_address_gets_429_while_another_address_is_served(
    app, ctx, form_token, database
):
    url = f"{API}/public/forms/{form_token}/submissions"
    async with client_from(app, "203.0.113.7") as flooder:
        served = await flood(
            lambda: flooder.post(url, json=ANSWERS), ctx.settings.public_form_submissions_per_minute, 201
        )
        for _ in range(30):
            assert_too_many(await flooder.post(url, json=ANSWERS))
    # Refused submissions were not stored.
    assert await submission_count(database) == served

    async with client_from(app, "198.51.100.20") as customer:
        r = await customer.post(url, json=ANSWERS)
    assert r.status_code == 201, r.text


async def test_refused_and_invalid_submissions_count_too(app, ctx, form_token, database):
    limit = ctx.settings.public_form_submissions_per_minute
    async with client_from(app, "203.0.113.8") as flooder:
        for n in range(limit):
            if n % 2:
                r = await flooder.post(f"{API}/public/forms/no-such-form/submissions", json=ANSWERS)
                assert r.status_code == 404, r.text
            else:
                r = await flooder.post(f"{API}/public/forms/{form_token}/submissions", json={"answers": {}})
                assert r.status_code == 422, r.text
        assert_too_many(await flooder.post(f"{API}/public/forms/{form_token}/submissions", json=ANSWERS))
    assert await submission_count(database) == 0


async def test_reading_a_public_form_is_limited_per_address(app, ctx, form_token):
    url = f"{API}/public/forms/{form_token}"
    async with client_from(app, "203.0.113.9") as flooder:
        await flood(lambda: flooder.get(url), ctx.settings.public_form_reads_per_minute, 200)
        # Reading and submitting are counted apart: a reader may still send its answers.
        assert (await flooder.post(f"{url}/submissions", json=ANSWERS)).status_code == 201
    async with client_from(app, "198.51.100.21") as reader:
        assert (await reader.get(url)).status_code == 200


async def test_addresses_of_one_ipv6_network_share_their_limit(app, ctx, form_token):
    url = f"{API}/public/forms/{form_token}/submissions"
    for n in range(ctx.settings.public_form_submissions_per_minute):
        async with client_from(app, f"2001:db8:7:7::{n + 1:x}") as rotating:
            assert (await rotating.post(url, json=ANSWERS)).status_code == 201
    async with client_from(app, "2001:db8:7:7:abcd::1") as rotating:
        assert_too_many(await rotating.post(url, json=ANSWERS))
    async with client_from(app, "2001:db8:7:8::1") as other_network:
        assert (await other_network.post(url, json=ANSWERS)).status_code == 201


async def test_the_limit_is_shared_by_every_api_process(
    app, ctx, form_token, tmp_path, database_url, database
):
    url = f"{API}/public/forms/{form_token}/submissions"
    limit = ctx.settings.public_form_submissions_per_minute
    second_process = create_app(make_settings(tmp_path, database_url), database)
    async with second_process.router.lifespan_context(second_process):
        for n in range(limit):
            async with client_from(app if n % 2 else second_process, "203.0.113.10") as flooder:
                assert (await flooder.post(url, json=ANSWERS)).status_code == 201
        for process in (app, second_process):
            async with client_from(process, "203.0.113.10") as flooder:
                assert_too_many(await flooder.post(url, json=ANSWERS))


async def test_the_rate_recovers_with_time(tmp_path, database_url, database, client, world, ctx):
    # Three a minute: one submission every 20 s after the first three; checked on a short clock by
    # letting the client's allowance lie in the past rather than waiting for it.
    manager = await make_manager(ctx, world)
    elements = [{"key": "name", "type": "text", "label": "Ihr Name", "required": True}]
    draft = await create_template(client, manager, template_body(elements, is_public=True, name="Kurz"))
    token = (await publish(client, manager, draft["id"]))["public_token"]
    url = f"{API}/public/forms/{token}/submissions"
    body = {"answers": {"name": "Herr Klein"}}

    app = create_app(make_settings(tmp_path, database_url, public_form_submissions_per_minute=3), database)
    async with app.router.lifespan_context(app), client_from(app, "203.0.113.11") as c:
        for _ in range(3):
            assert (await c.post(url, json=body)).status_code == 201
        wait = assert_too_many(await c.post(url, json=body))
        assert 1 <= wait <= 20
        async with database.sessionmaker.begin() as s:
            await s.execute(text("UPDATE rate_limits SET allowed_at = allowed_at - interval '21 seconds'"))
        # This process remembers its refusal until it runs out; another one asks the database.
        other = create_app(
            make_settings(tmp_path, database_url, public_form_submissions_per_minute=3), database
        )
        async with other.router.lifespan_context(other), client_from(other, "203.0.113.11") as c2:
            assert (await c2.post(url, json=body)).status_code == 201
            assert_too_many(await c2.post(url, json=body))


def test_the_public_routes_document_429_with_retry_after(app):
    paths = app.openapi()["paths"]
    for path, method in (
        ("/api/v1/public/forms/{token}", "get"),
        ("/api/v1/public/forms/{token}/submissions", "post"),
    ):
        response = paths[path][method]["responses"]["429"]
        assert "Retry-After" in response["headers"]
        assert PROBLEM in response["content"]
