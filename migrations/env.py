"""Alembic environment: async engine, the application's metadata, one transaction per migration run."""

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from blink_api.models import Base

config = context.config
if config.config_file_name is not None and not config.attributes.get("database_url"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("database_url")
    if url:
        return url
    from blink_api.kit.config import get_settings
    from blink_api.kit.db import resolve_database_url

    return resolve_database_url(get_settings())


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        # Several processes may start at once: only one migrates, the others wait and find it done.
        connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7240000)")
        context.run_migrations()


async def run_migrations_online() -> None:
    from blink_api.kit.config import get_settings
    from blink_api.kit.db import pooler_connect_args

    engine = create_async_engine(
        _url(),
        poolclass=pool.NullPool,
        connect_args=pooler_connect_args(get_settings().db_transaction_pooler),
    )
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
