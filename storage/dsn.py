"""The asyncpg DSN of the configured SQLAlchemy URL, for the code that talks to PostgreSQL
without the ORM (LISTEN/NOTIFY, COPY, the health check, creating the database)."""

from sqlalchemy.engine import make_url


def plain_dsn(database_url: str, database: str | None = None) -> str:
    """The asyncpg DSN of a SQLAlchemy URL, optionally for another database on the same server."""
    url = make_url(database_url).set(drivername="postgresql")
    if database is not None:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)
