"""Throwaway PostgreSQL databases for the tests: on `DATABASE_URL`'s server when set, else embedded."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from blink_api.db import start_embedded_postgres, to_asyncpg_url

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


@contextlib.asynccontextmanager
async def fresh_database(prefix: str = "blink_test") -> AsyncIterator[str]:
    """Create an empty database, yield its URL, drop it afterwards."""
    admin_url = server_url()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def migrate(url: str, revision: str = "head", *, down: bool = False) -> None:
    """Run Alembic in a thread: its environment starts an event loop of its own."""
    from alembic import command

    from blink_api.cli import _alembic_config

    config = _alembic_config(url)
    action = command.downgrade if down else command.upgrade
    await asyncio.to_thread(action, config, revision)
