"""The hottest reads, run on the session's asyncpg connection with statements compiled once.

The ORM path costs about a millisecond of Python per request (building the statement, its cache
key, the execution context, result rows, then validating and serialising models). For the few
requests that every client sends all the time (who is calling, the ticket list) that is most of
the request. Here the statement is still written with SQLAlchemy Core, from the same building
blocks (the scope statement and its filters); it is compiled once per *shape* into asyncpg's SQL,
and every request only supplies the values. PostgreSQL can build the JSON of the answer as well
(`json_object`), so Python passes the bytes through.

Statements run on the connection of the request's session. Connected directly to PostgreSQL, a
statement runs inside the session's transaction if an ORM statement has begun one, and otherwise on
its own (a read needs no BEGIN/COMMIT round trips). Behind a pooler in transaction mode
(`BLINK_DB_TRANSACTION_POOLER`), `driver_connection` begins the session's transaction first, so a
statement's parse and execution reach the same server connection; the request's commit ends it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ClauseElement

from blink_api.kit.db import TRANSACTION_POOLER

_DIALECT = PGDialect_asyncpg()


class DriverStatement:
    """A Core statement compiled for asyncpg; each call must give every one of its parameters.

    Requiring all of them, always, means a value from the statement's construction (or from an
    earlier request) can never be sent by mistake: a missing or unknown name raises.
    """

    def __init__(self, statement: ClauseElement) -> None:
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

    async def fetch(self, connection: asyncpg.Connection, params: Mapping[str, Any]) -> list[asyncpg.Record]:
        return await connection.fetch(self.sql, *self.arguments(params))


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under `session` (checked out from the pool on first use)."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    if session.info.get(TRANSACTION_POOLER):
        # SQLAlchemy's asyncpg adapter begins its transaction lazily, before its first statement;
        # begin it now, through the adapter, so that its commit and rollback still end it.
        adapted: Any = raw.dbapi_connection
        if adapted._transaction is None:
            await adapted._start_transaction()
    return raw.driver_connection  # type: ignore[return-value]
