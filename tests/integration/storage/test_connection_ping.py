"""Pooled PostgreSQL connections are tested on checkout only after sitting idle: one idle past
`db_ping_idle_seconds` whose server process is gone is replaced before the work runs, and one
in steady use is not tested, so its loss fails one unit of work and the pool renews itself."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core.settings import Settings
from storage import migrate
from storage.db import Database
from tests.conftest import terminate_backends


async def backend_pid(db: Database) -> int:
    async with db.autocommit() as connection:
        return await connection.scalar(text("SELECT pg_backend_pid()"))


async def opened(settings: Settings, idle_seconds: float) -> Database:
    await migrate.create_database(settings.database_url)
    return Database(settings.model_copy(update={"db_ping_idle_seconds": idle_seconds}))


async def test_an_idle_connection_is_tested_and_replaced(scratch: Settings) -> None:
    db = await opened(scratch, idle_seconds=0.0)
    try:
        before = await backend_pid(db)
        await terminate_backends(scratch)
        assert await backend_pid(db) != before
    finally:
        await db.dispose()


async def test_a_connection_in_steady_use_is_not_tested(scratch: Settings) -> None:
    db = await opened(scratch, idle_seconds=3600.0)
    try:
        before = await backend_pid(db)
        await terminate_backends(scratch)
        with pytest.raises(DBAPIError) as failed:
            await backend_pid(db)
        assert failed.value.connection_invalidated
        assert await backend_pid(db) != before
    finally:
        await db.dispose()
