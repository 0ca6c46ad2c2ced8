"""Throwaway PostgreSQL databases for the tests: on `DATABASE_URL`'s server when set, else embedded."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from blink_api.kit.config import Settings
from blink_api.kit.db import pooler_connect_args, start_embedded_postgres, to_asyncpg_url

_server_url: str | None = None


def server_url() -> str:
    """A URL of the PostgreSQL server the tests use (database part irrelevant)."""
    global _server_url
    if _server_url is None:
        configured = os.environ.get("DATABASE_URL")
        if configured:
            _server_url = to_asyncpg_url(configured)
        else:
            pgdata = Path(tempfile.mkdtemp(prefix="blink-test-pg-")) / "pgdata"
            _server_url = start_embedded_postgres(pgdata)
    return _server_url


def transaction_pooler() -> bool:
    """Whether `DATABASE_URL` leads through a pooler in transaction mode (`BLINK_DB_TRANSACTION_POOLER`)."""
    return Settings(_env_file=None).db_transaction_pooler  # type: ignore[call-arg]


def engine_for_tests(url: str, **kwargs: Any) -> AsyncEngine:
    """An engine for a test's own statements, set up for a pooler like the app's when there is one."""
    return create_async_engine(url, connect_args=pooler_connect_args(transaction_pooler()), **kwargs)


async def _admin_command(admin_url: str, sql: str) -> None:
    # The simple query protocol: one message, so it reaches one server connection behind a pooler.
    admin = engine_for_tests(admin_url, poolclass=NullPool)
    try:
        async with admin.connect() as conn:
            raw = await conn.get_raw_connection()
            await raw.driver_connection.execute(sql)  # type: ignore[union-attr]
    finally:
        await admin.dispose()


@contextlib.asynccontextmanager
async def fresh_database(prefix: str = "blink_test") -> AsyncIterator[str]:
    """Create an empty database, yield its URL, drop it afterwards."""
    admin_url = server_url()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    await _admin_command(admin_url, f'CREATE DATABASE "{name}"')
    # A commit here need not wait for the disk: the database is thrown away after the run. Every
    # session sees the same as before (a commit is visible to all once it returns); only a crash of the
    # server could lose the last commits. Set on the database, it holds for every connection to it,
    # through a pooler too.
    await _admin_command(admin_url, f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        await _admin_command(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def migrate(url: str, revision: str = "head", *, down: bool = False) -> None:
    """Run Alembic in a thread: its environment starts an event loop of its own."""
    from alembic import command

    from blink_api.cli import _alembic_config

    config = _alembic_config(url)
    action = command.downgrade if down else command.upgrade
    await asyncio.to_thread(action, config, revision)
