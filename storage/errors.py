"""The database's failures as the callers outside storage tell them apart: the database out of
reach (the caller reconnects and tries again) and a row that conflicts with the stored ones
(waiting does not make it fit)."""

import asyncpg
import sqlalchemy.exc

DATABASE_DOWN = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.AdminShutdownError,  # pg_terminate_backend, a server shutting down
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    sqlalchemy.exc.TimeoutError,  # pool checkout
)
# A unique or foreign-key constraint refused the row.
RowConflict = sqlalchemy.exc.IntegrityError


def database_down(error: BaseException) -> bool:
    """Whether `error` itself (not what it wraps) says the database is out of reach."""
    if isinstance(error, DATABASE_DOWN):
        return True
    return isinstance(error, sqlalchemy.exc.DBAPIError) and error.connection_invalidated
