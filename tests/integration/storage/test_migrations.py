"""Every migration applies to an empty database and reverts cleanly, so upgrades are reviewable."""

import asyncio

import asyncpg
from alembic import command

from core.settings import Settings
from storage import migrate
from storage.dsn import plain_dsn


async def table_names(settings: Settings) -> set[str]:
    conn = await asyncpg.connect(plain_dsn(settings.database_url))
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {row["tablename"] for row in rows}
    finally:
        await conn.close()


def test_migrations_upgrade_downgrade_and_upgrade_again(scratch: Settings) -> None:
    migrate.upgrade(scratch)
    created = asyncio.run(table_names(scratch))
    assert {"users", "outbox", "alembic_version"} <= created

    command.downgrade(migrate.alembic_config(scratch), "base")
    assert asyncio.run(table_names(scratch)) == {"alembic_version"}

    migrate.upgrade(scratch)
    assert asyncio.run(table_names(scratch)) == created


def test_upgrade_is_a_no_op_when_at_head(scratch: Settings) -> None:
    migrate.upgrade(scratch)
    migrate.upgrade(scratch)
    assert "users" in asyncio.run(table_names(scratch))
