"""Database access: the engine, one session per request, the embedded PostgreSQL when none is set."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import anyio
import asyncpg
from fastapi import Depends, Request
from sqlalchemy import DateTime, MetaData, Uuid, event, exc, func
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from blink_api.kit.config import Settings

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
    """The engine and session factory of one process.

    Every wait on the database is bounded, so that an unreachable, stalled or saturated database
    answers 503 within seconds instead of holding requests: `connect_timeout` for opening a
    connection, `command_timeout` for each statement (asyncpg cancels it on the server when it
    runs out), `pool_timeout` for waiting on a pooled connection.
    """

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        max_overflow: int = 10,
        pre_ping: bool = False,
        pool_timeout: float = 2.0,
        connect_timeout: float = 5.0,
        command_timeout: float = 30.0,
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
            pool_timeout=pool_timeout,
            connect_args={
                "timeout": connect_timeout,
                "command_timeout": command_timeout,
                **pooler_connect_args(transaction_pooler),
            },
        )
        event.listen(self.engine.sync_engine, "checkout", _refuse_closed_connection)
        self.sessionmaker = async_sessionmaker(
            self.engine,
            expire_on_commit=False,
            autoflush=False,
            info={TRANSACTION_POOLER: transaction_pooler},
        )

    @classmethod
    def from_settings(cls, url: str, settings: Settings, **overrides: Any) -> Database:
        values: dict[str, Any] = {
            "pool_size": settings.db_pool_size,
            "max_overflow": settings.db_max_overflow,
            "pre_ping": settings.db_pre_ping,
            "pool_timeout": settings.db_pool_timeout_seconds,
            "connect_timeout": settings.db_connect_timeout_seconds,
            "command_timeout": settings.db_command_timeout_seconds,
            "transaction_pooler": settings.db_transaction_pooler,
        }
        values.update(overrides)
        return cls(url, **values)

    async def dispose(self) -> None:
        await self.engine.dispose()


def _refuse_closed_connection(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """A pooled connection whose server went away (a restart, an idle timeout) is replaced on checkout.

    asyncpg notices the closed socket by itself, so this costs no round trip (unlike pre-ping): after
    a database restart the first request gets a fresh connection instead of failing on a dead one.
    """
    if dbapi_connection.driver_connection.is_closed():
        raise exc.DisconnectionError("the pooled connection was closed by the server")


# SQLSTATE classes meaning "the database cannot serve now", not "the request is wrong": connection
# exceptions, insufficient resources, operator intervention (shutdown, statement cancelled by a
# timeout), system errors (I/O).
_UNAVAILABLE_SQLSTATE_CLASSES = frozenset({"08", "53", "57", "58"})


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def database_unavailable(error: BaseException) -> bool:
    """Whether `error` means the database is unreachable, stalled or saturated (503, try again) rather
    than a wrong statement (500). The one place that knows what each driver layer raises for it."""
    for cause in _causes(error):
        if isinstance(cause, exc.TimeoutError | exc.DisconnectionError):
            return True  # no pooled connection within pool_timeout; a connection lost on checkout
        if isinstance(cause, exc.DBAPIError) and cause.connection_invalidated:
            return True
        if isinstance(cause, asyncpg.PostgresError):
            sqlstate = getattr(cause, "sqlstate", None) or ""
            return sqlstate[:2] in _UNAVAILABLE_SQLSTATE_CLASSES
        if isinstance(cause, asyncpg.InterfaceError):
            # Raised for a connection closed under the statement; other interface errors are bugs.
            return "connection is closed" in str(cause) or "connection was closed" in str(cause)
        if isinstance(cause, OSError | TimeoutError) and _raised_by_driver(cause):
            return True  # refused, reset, unreachable; connect or command timeout
    return False


def _raised_by_driver(error: BaseException) -> bool:
    """Network errors and timeouts count only when the database driver raised them (not a webhook)."""
    tb = error.__traceback__
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        if module.startswith(("asyncpg", "sqlalchemy")):
            return True
        tb = tb.tb_next
    return False


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
            try:
                await session.rollback()
            finally:
                await _undo(session)
            raise
        session.info.pop(_UNDO, None)


_UNDO = "undo_on_rollback"


def on_rollback(session: AsyncSession, undo: Callable[[], Awaitable[None]]) -> None:
    """Have `undo` run if the request's transaction does not commit (the endpoint raised, or the commit
    failed): for what was done outside the database on the transaction's behalf, such as an object
    put into storage for a row that is now never written. It runs after the rollback, on the same
    session; a commit whose answer was lost may still have succeeded, so it checks before it removes."""
    session.info.setdefault(_UNDO, []).append(undo)


async def _undo(session: AsyncSession) -> None:
    undos = session.info.pop(_UNDO, [])
    # Shielded: a request cancelled because its client went away still cleans up after itself.
    with anyio.CancelScope(shield=True):
        for undo in reversed(undos):
            try:
                await undo()
            except Exception:
                log.warning(
                    "could not undo what a rolled-back transaction left outside the database", exc_info=True
                )


DbSession = Annotated[AsyncSession, Depends(get_session, scope="function")]
