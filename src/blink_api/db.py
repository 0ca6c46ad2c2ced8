"""Database access: the engine, one session per request, the embedded PostgreSQL when none is set."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import DateTime, MetaData, Uuid, func
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from blink_api.config import Settings

log = logging.getLogger(__name__)

# Explicit constraint names keep migrations reviewable and reversible.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)


class TimestampMixin:
    # Fetch server-side timestamps with RETURNING, so reading them after a flush needs no extra query.
    __mapper_args__ = {"eager_defaults": True}

    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )


# Kept at module level so the embedded server lives as long as the process that started it.
_embedded_servers: dict[Path, Any] = {}


def start_embedded_postgres(pgdata: Path) -> str:
    """Start (or join) the embedded PostgreSQL in `pgdata`; returns an asyncpg URL to it."""
    import pgserver  # imported lazily: a configured DATABASE_URL never needs it

    pgdata = pgdata.resolve()
    server = _embedded_servers.get(pgdata)
    if server is None:
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        server = pgserver.get_server(pgdata, cleanup_mode="stop")
        _embedded_servers[pgdata] = server
        log.info("embedded PostgreSQL running", extra={"pgdata": str(pgdata)})
    return to_asyncpg_url(server.get_uri())


def to_asyncpg_url(url: str) -> str:
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError("DATABASE_URL must be a PostgreSQL URL (postgresql+asyncpg://...)")


def resolve_database_url(settings: Settings) -> str:
    if settings.database_url:
        return to_asyncpg_url(settings.database_url)
    return start_embedded_postgres(settings.data_dir / "postgres")


TRANSACTION_POOLER = "transaction_pooler"
"""Key in a session's `info`: its engine talks to PostgreSQL through a pooler in transaction mode."""


def pooler_connect_args(transaction_pooler: bool) -> dict[str, Any]:
    """asyncpg options for a pooler in transaction mode (PgBouncer `pool_mode = transaction`).

    There a server connection is this client's only until its transaction ends, so a statement
    prepared in one transaction may be gone (or be another client's) in the next: nothing is cached
    across statements, and every prepared statement gets a name no other client can have.
    """
    if not transaction_pooler:
        return {}
    return {
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
        "prepared_statement_name_func": _unique_statement_name,
    }


def _unique_statement_name() -> str:
    return f"__blink_{uuid.uuid4().hex}__"


class Database:
    """The engine and session factory of one process."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        max_overflow: int = 10,
        pre_ping: bool = False,
        transaction_pooler: bool = False,
    ) -> None:
        self.url = url
        self.transaction_pooler = transaction_pooler
        self.engine: AsyncEngine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_pre_ping=pre_ping,
            pool_recycle=1800,
            connect_args=pooler_connect_args(transaction_pooler),
        )
        self.sessionmaker = async_sessionmaker(
            self.engine,
            expire_on_commit=False,
            autoflush=False,
            info={TRANSACTION_POOLER: transaction_pooler},
        )

    async def dispose(self) -> None:
        await self.engine.dispose()


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the endpoint returns, rolled back when it raises.

    Used with `scope="function"` so the commit happens before the response is sent: a failing
    commit becomes an error response instead of a success the database never saw.
    """
    database: Database = request.app.state.context.database
    async with database.sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


DbSession = Annotated[AsyncSession, Depends(get_session, scope="function")]
