"""Fixtures: a migrated PostgreSQL database, the app on it, clients and callers of every kind."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import httpx
import pytest
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from blink_api.app import create_app
from blink_api.kit.config import Settings
from blink_api.kit.context import AppContext
from blink_api.kit.db import Base, Database
from blink_api.kit.ratelimit import RateLimiter
from tests.database import fresh_database, migrate, transaction_pooler
from tests.factories import Actor, World, build_world

if TYPE_CHECKING:
    from tests.smtp import Mailbox, SmtpServer

os.environ.setdefault("BLINK_LOG_JSON", "false")


def make_settings(tmp: Path, url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": url,
        "data_dir": tmp / "data",
        "storage_url": f"file://{tmp / 'data' / 'files'}",
        "embedded_worker": False,
        "argon2_time_cost": 1,
        "argon2_memory_kib": 64,
        "argon2_parallelism": 1,
        "secret_key": "test-signing-key-that-is-long-enough-for-hs256",
        "portal_base_url": "https://portal.example.test",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    async with fresh_database() as url:
        await migrate(url)
        yield url


@pytest.fixture(scope="session")
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url, transaction_pooler=transaction_pooler())
    yield db
    await db.dispose()


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("blink"), database_url)


@pytest.fixture(scope="session")
async def app(settings: Settings, database: Database) -> AsyncIterator[object]:
    application = create_app(settings, database)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
def ctx(app: object) -> AppContext:
    return app.state.context  # type: ignore[attr-defined]


_TABLES = [t.name for t in reversed(Base.metadata.sorted_tables) if t.name != "app_secrets"]
# Table names come from the models, never from input.
_CLEANUP = "; ".join(f"DELETE FROM {table}" for table in _TABLES)  # noqa: S608


@pytest.fixture(autouse=True)
async def _clean_tables(database: Database) -> AsyncIterator[None]:
    """Every test starts from empty tables (real commits, so concurrency tests are real too)."""
    yield
    # DELETE, children first: on tables this small it is many times faster than TRUNCATE, which
    # replaces every table's and index's files.
    async with database.engine.begin() as conn:
        raw = await conn.get_raw_connection()
        # asyncpg runs an argument-less script in one round trip.
        await raw.driver_connection.execute(_CLEANUP)


@pytest.fixture(autouse=True)
def _forget_refusals(request: pytest.FixtureRequest) -> Iterator[None]:
    """A process remembers whom its rate limits refused; the tables are emptied, so forget that too."""
    ctx = request.getfixturevalue("ctx") if "app" in request.fixturenames else None
    yield
    if ctx is not None:
        ctx.rate_limiter = RateLimiter()


@pytest.fixture
async def client(app: object) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def session(database: Database) -> AsyncIterator[AsyncSession]:
    async with database.sessionmaker() as s:
        yield s


@dataclasses.dataclass(frozen=True)
class _WorldSnapshot:
    world: World  # as built, with tokens of its time
    restore: str  # one script putting its rows back into empty tables


@pytest.fixture(scope="session")
async def _world_snapshot(database: Database, ctx: AppContext) -> _WorldSnapshot:
    """The world, built once through the factories, and its rows as they were then.

    Building it takes a few dozen round trips and statements per test; putting its rows back takes one.
    """
    async with database.sessionmaker.begin() as s:
        world = await build_world(s, ctx)
    inserts = []
    async with database.engine.begin() as conn:
        for table in reversed(_TABLES):  # parents first
            # Table names come from the models; the rows are the factories' own, dollar-quoted.
            rows = await conn.scalar(text(f"SELECT json_agg(t)::text FROM {table} AS t"))  # noqa: S608
            if rows is None:
                continue
            assert "$rows$" not in rows
            source = f"json_populate_recordset(NULL::{table}, $rows${rows}$rows$)"
            inserts.append(f"INSERT INTO {table} SELECT * FROM {source}")  # noqa: S608
        raw = await conn.get_raw_connection()
        await raw.driver_connection.execute(_CLEANUP)
    return _WorldSnapshot(world, "; ".join(inserts))


def _detached_copy(instance: Any) -> Any:
    """A new detached instance holding what `instance` holds, so no test sees another's changes to it."""
    state = inspect(instance)
    copy = state.mapper.class_manager.new_instance()
    for attr in state.mapper.column_attrs:
        if attr.key in state.dict:
            set_committed_value(copy, attr.key, state.dict[attr.key])
    make_transient_to_detached(copy)
    return copy


@pytest.fixture
async def world(database: Database, ctx: AppContext, _world_snapshot: _WorldSnapshot) -> World:
    """Two tenants, two customers, their sites and one caller of every kind (see `World`).

    The same rows in every test (really committed, like everything else), its callers with tokens
    issued now.
    """
    async with database.engine.begin() as conn:
        raw = await conn.get_raw_connection()
        # One simple-query script: one round trip, one transaction, a single message behind a pooler.
        await raw.driver_connection.execute(_world_snapshot.restore)
    fields = {}
    for field in dataclasses.fields(World):
        value = getattr(_world_snapshot.world, field.name)
        if isinstance(value, Actor):
            fields[field.name] = dataclasses.replace(value, token=ctx.tokens.issue(value.id, 0))
        else:
            fields[field.name] = _detached_copy(value)
    return World(**fields)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1 that records what it receives."""
    from tests.smtp import SmtpServer  # tests.smtp builds its settings with this module's helpers

    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def mailbox(database: Database, database_url: str, tmp_path: Path, smtp: SmtpServer) -> Mailbox:
    """Runs the mail worker against `smtp` and hands out what arrived since the last look."""
    from tests.smtp import Mailbox

    return Mailbox(database, database_url, tmp_path, smtp)


@pytest.fixture
async def portal(client: httpx.AsyncClient, world: World) -> World:
    """Customer X's users may raise and see tickets of type A (customer user X on site A1)."""
    r = await client.put(
        f"/api/v1/customers/{world.customer_x.id}/ticket-settings",
        headers=world.admin.headers,
        json={"enabled_ticket_type_ids": [str(world.type_a.id)], "document_sources": []},
    )
    assert r.status_code == 200, r.text
    return world


@pytest.fixture
def storage_root(settings: Settings) -> Path:
    """The folder the app stores files in (the default, local storage)."""
    return Path(urlparse(settings.storage_url).path)
