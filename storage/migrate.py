"""Creating the database if it is missing and bringing its schema to the newest Alembic revision."""

import asyncio
import logging
from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from core.logs import FILE_ONLY
from core.settings import Settings
from storage.dsn import plain_dsn

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))
    return config


async def create_database(database_url: str) -> bool:
    """Create the URL's database when it does not exist; True when it was created."""
    name = make_url(database_url).database
    conn = await asyncpg.connect(plain_dsn(database_url, "postgres"))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            return False
        # Identifiers cannot be bound parameters; quote it as PostgreSQL does.
        await conn.execute(f'CREATE DATABASE "{name.replace(chr(34), chr(34) * 2)}"')
        return True
    finally:
        await conn.close()


async def drop_database(database_url: str) -> None:
    name = make_url(database_url).database
    conn = await asyncpg.connect(plain_dsn(database_url, "postgres"))
    try:
        await conn.execute(
            f'DROP DATABASE IF EXISTS "{name.replace(chr(34), chr(34) * 2)}" WITH (FORCE)'
        )
    finally:
        await conn.close()


def upgrade(settings: Settings) -> None:
    """Create the database if needed and migrate it to head (blocking; call from a thread)."""
    if asyncio.run(create_database(settings.database_url)):
        log.info(
            "event=database_created database=%s",
            make_url(settings.database_url).database,
            extra=FILE_ONLY,
        )
    command.upgrade(alembic_config(settings), "head")
