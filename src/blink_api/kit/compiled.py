"""The hottest reads, run on the session's asyncpg connection with statements compiled once.

The ORM path costs about a millisecond of Python per request (building the statement, its cache
key, the execution context, result rows, then validating and serialising models). For the few
requests that every client sends all the time (who is calling, the ticket list) that is most of
the request. Here the statement is still written with SQLAlchemy Core, from the same building
blocks (the scope statement and its filters); it is compiled once per *shape* into asyncpg's SQL,
and every request only supplies the values. PostgreSQL can build the JSON of the answer as well
(`json_object`), so Python passes the bytes through.

Only reads run here (`DriverStatement` refuses anything else), because whether a statement runs
inside the request's transaction depends on what ran before it; see `DriverStatement`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import Any

import asyncpg
from sqlalchemy import CompoundSelect, Select, TextClause, UpdateBase
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import visitors

from blink_api.kit.db import TRANSACTION_POOLER

_DIALECT = PGDialect_asyncpg()


class DriverRow(asyncpg.Record):
    """A row whose columns read as attributes too (`row.created_at`), like a SQLAlchemy row, so that
    code above the driver (pagination, serialisation) handles both alike."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def why_not_a_read(statement: Any) -> str | None:
    """Why `statement` is not a plain read; None when it is.

    A read is a SELECT (or a UNION of them) that locks no row and changes nothing: no `FOR UPDATE`/
    `FOR SHARE` anywhere, no INSERT, UPDATE or DELETE in a CTE, and no textual SQL, which cannot be
    judged.
    """
    if not isinstance(statement, Select | CompoundSelect):
        return f"a {type(statement).__name__} is not a SELECT"
    for element in visitors.iterate(statement):
        if isinstance(element, UpdateBase):
            return f"it writes ({type(element).__name__} inside the SELECT)"
        if getattr(element, "_for_update_arg", None) is not None:
            return "it locks rows (FOR UPDATE/FOR SHARE)"
        if isinstance(element, TextClause):
            return "it holds textual SQL, which cannot be checked to be a read"
    return None


class DriverStatement:
    """A Core SELECT compiled for asyncpg; each call must give every one of its parameters.

    Requiring all of them, always, means a value from the statement's construction (or from an
    earlier request) can never be sent by mistake: a missing or unknown name raises.

    Only reads are accepted (`why_not_a_read`; anything else raises at construction), because a
    statement here runs in the request's transaction only under these conditions:

    - Connected directly to PostgreSQL (the default): SQLAlchemy's asyncpg adapter sends BEGIN
      lazily, right before the first statement that goes through SQLAlchemy on the session's
      connection. A driver statement run after such a statement (and before the request's commit)
      runs inside the request's transaction and sees its uncommitted changes; one run before it
      runs on its own, in autocommit, as its own one-statement transaction, and sees only committed
      rows. The principal load is the first statement of every authenticated request and the ticket
      list runs right after it, so both run on their own: a list request sends no BEGIN/COMMIT.
    - Behind a pooler in transaction mode (`BLINK_DB_TRANSACTION_POOLER`, `kit.db.TRANSACTION_POOLER`
      in the session's `info`): `driver_connection` begins the session's transaction first if none
      is open, so every driver statement runs inside the request's transaction (parse and execution
      must reach the same server connection); the request's commit or rollback ends it.
    """

    def __init__(self, statement: Select[Any] | CompoundSelect) -> None:
        if reason := why_not_a_read(statement):
            raise ValueError(f"a driver statement must be a plain read: {reason}")
        compiled = statement.compile(dialect=_DIALECT)
        self.sql = compiled.string
        self._names: tuple[str, ...] = tuple(compiled.positiontup or ())
        if "POSTCOMPILE" in self.sql:
            raise ValueError("an IN list of values cannot be compiled once: one named parameter per value")

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._names)

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        if params.keys() != self.names:
            missing = sorted(self.names - params.keys())
            unknown = sorted(params.keys() - self.names)
            raise ValueError(f"parameters do not match the statement: missing {missing}, unknown {unknown}")
        return [params[name] for name in self._names]

    async def fetch(self, connection: asyncpg.Connection, params: Mapping[str, Any]) -> list[DriverRow]:
        return await connection.fetch(self.sql, *self.arguments(params), record_class=DriverRow)

    async def fetchrow(self, connection: asyncpg.Connection, params: Mapping[str, Any]) -> DriverRow | None:
        return await connection.fetchrow(self.sql, *self.arguments(params), record_class=DriverRow)

    async def batches(
        self, connection: asyncpg.Connection, params: Mapping[str, Any], size: int
    ) -> AsyncGenerator[list[asyncpg.Record], None]:
        """The rows in lists of at most `size`, read through a server-side cursor: however many rows
        the statement finds, only one batch is held at a time. The connection must be inside a
        transaction (`driver_connection(..., transaction=True)`), which a cursor lives in."""
        cursor = await connection.cursor(self.sql, *self.arguments(params))
        while rows := await cursor.fetch(size):
            yield rows


_HELD = "driver_connection"


async def driver_connection(session: AsyncSession, *, transaction: bool = False) -> asyncpg.Connection:
    """The asyncpg connection under `session` (checked out from the pool on first use).

    Behind a pooler in transaction mode, or with `transaction` (a cursor needs one), it begins the
    session's transaction first (see `DriverStatement` for when a statement runs inside the
    request's transaction); the session's commit or rollback ends it.
    """
    # The session keeps one connection for as long as its transaction lasts (SQLAlchemy's, begun by
    # `session.connection()`; it ends with the commit or rollback): found once per transaction, not
    # through two calls into SQLAlchemy's greenlet bridge for every statement of the request.
    current = session.sync_session.get_transaction()
    held = session.info.get(_HELD)
    if held is not None and current is not None and held[0] is current and current.is_active:
        raw = held[1]
    else:
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        session.info[_HELD] = (session.sync_session.get_transaction(), raw)
    if transaction or session.info.get(TRANSACTION_POOLER):
        # SQLAlchemy's asyncpg adapter begins its transaction lazily, before its first statement;
        # begin it now, through the adapter, so that its commit and rollback still end it.
        adapted: Any = raw.dbapi_connection
        if adapted._transaction is None:
            await adapted._start_transaction()
    return raw.driver_connection  # type: ignore[return-value]
