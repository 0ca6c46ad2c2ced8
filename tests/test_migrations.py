"""Alembic is the only way the schema is made, and it can be undone and redone."""

from sqlalchemy import inspect

from blink_api.kit.db import Base
from tests.database import engine_for_tests, fresh_database, migrate


async def _tables(url: str) -> set[str]:
    engine = engine_for_tests(url)
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    await engine.dispose()
    return names - {"alembic_version"}


async def test_upgrade_downgrade_upgrade():
    async with fresh_database("blink_migrations") as url:
        await migrate(url)
        assert await _tables(url) == set(Base.metadata.tables)
        await migrate(url, "base", down=True)
        assert await _tables(url) == set()
        await migrate(url)
        assert await _tables(url) == set(Base.metadata.tables)


async def test_models_and_migrations_agree(database_url):
    # A model change without a migration would make `alembic check`-style autogenerate find work to do.
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = engine_for_tests(database_url)
    async with engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
            )
        )
    await engine.dispose()
    assert diff == []
