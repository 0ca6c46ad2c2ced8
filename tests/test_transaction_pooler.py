"""Behind a pooler in transaction mode, every statement runs in a transaction and no statement is reused.

PgBouncer in `pool_mode = transaction` hands a server connection to a client for one transaction only.
`.ci/run` runs the whole suite once more through a real PgBouncer; these tests hold the properties
that make that work on any server, so a change that breaks them fails `make test` already.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select, text

from blink_api.identity.models import Account
from blink_api.identity.repository import load_principal_row
from blink_api.kit.compiled import driver_connection
from blink_api.kit.db import Database
from tests.database import transaction_pooler
from tests.factories import World


@pytest.fixture
async def pooled(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url, pool_size=1, max_overflow=0, transaction_pooler=True)
    yield db
    await db.dispose()


@pytest.fixture
async def direct(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url, pool_size=1, max_overflow=0, transaction_pooler=False)
    yield db
    await db.dispose()


async def test_a_driver_read_runs_inside_the_sessions_transaction_behind_a_pooler(
    pooled: Database, world: World
):
    async with pooled.sessionmaker() as session:
        row = await load_principal_row(session, world.employee_a.id)
        assert row is not None and row.email == world.employee_a.email
        connection = await driver_connection(session)
        assert connection.is_in_transaction()
        await session.commit()
        assert not connection.is_in_transaction()


async def test_connected_directly_a_driver_read_sends_no_begin(direct: Database, world: World):
    if transaction_pooler():
        pytest.skip("the suite runs through a pooler: there is no direct connection to try")
    async with direct.sessionmaker() as session:
        await load_principal_row(session, world.employee_a.id)
        assert not (await driver_connection(session)).is_in_transaction()


async def test_a_rolled_back_request_leaves_no_transaction_open_on_the_pooled_connection(
    pooled: Database, world: World
):
    async with pooled.sessionmaker() as session:
        before = await load_principal_row(session, world.employee_a.id)
        assert before is not None
        await session.execute(
            text("UPDATE accounts SET name = 'changed' WHERE id = :id"), {"id": world.employee_a.id}
        )
        await session.rollback()
    # The pool has one connection: the next session gets the same one, with nothing left open.
    async with pooled.sessionmaker() as session:
        connection = await driver_connection(session)
        name = await session.scalar(select(Account.name).where(Account.id == world.employee_a.id))
        assert name == before.name != "changed"
        await session.commit()
        assert not connection.is_in_transaction()


async def test_statements_are_not_cached_and_their_names_are_unique(pooled: Database, world: World):
    seen: list[str] = []
    async with pooled.sessionmaker() as session:
        for _ in range(3):
            await session.scalar(select(Account.name).where(Account.id == world.employee_a.id))
            seen += (
                await session.execute(
                    text("SELECT name FROM pg_prepared_statements WHERE name LIKE '\\_\\_blink\\_%'")
                )
            ).scalars()
        connection = await driver_connection(session)
        await session.commit()
    # The same statement, three times: prepared under a new name each time, never taken from a cache.
    assert len(set(seen)) >= 3
    assert connection._stmt_cache.get_max_size() == 0


@pytest.mark.parametrize("end", ["commit", "rollback"])
async def test_after_a_commit_or_rollback_a_driver_read_never_uses_the_connection_given_back(
    database_url: str, world: World, end: str
):
    db = Database(database_url, pool_size=2, max_overflow=0, transaction_pooler=transaction_pooler())
    try:
        async with db.sessionmaker() as first:
            await load_principal_row(first, world.employee_a.id)
            given_back = await driver_connection(first)
            await getattr(first, end)()
            # Another request takes the connection the first one gave back and keeps it in a transaction.
            async with db.sessionmaker() as second:
                await second.execute(text("SELECT 1"))
                assert await driver_connection(second) is given_back
                row = await load_principal_row(first, world.employee_a.id)
                assert row is not None and row.email == world.employee_a.email
                assert await driver_connection(first) is not given_back
                await second.rollback()
            await first.commit()
    finally:
        await db.dispose()
