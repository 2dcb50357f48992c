"""Async SQLAlchemy engine, sessions and the unit of work (rolls back unless told to commit)."""

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from core.events import EventEnvelope
from core.settings import Settings
from storage.outbox import add_events
from storage.telemetry import current_carrier

# Where a pooled connection's record keeps when it was last checked in.
IDLE_SINCE = "smartcourse_idle_since"


def create_engine(settings: Settings, pre_ping: bool = True) -> AsyncEngine:
    """One pooled engine per process. `pre_ping` tests a connection as it is checked out when
    it sat idle for `db_ping_idle_seconds`, so a request after a PostgreSQL restart does not
    fail; a loop that retries a failed transaction anyway can do without."""
    engine = create_async_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
    if pre_ping:
        ping_when_idle(engine.sync_engine, settings.db_ping_idle_seconds)
    return engine


def ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Test a pooled connection on checkout only when it was checked in `idle_seconds` ago or
    more; a failed test makes the pool discard it and connect anew. SQLAlchemy's
    `pool_pre_ping` tests every checkout instead: a round trip and a third of a short read's
    CPU, for connections that under load were in use milliseconds before. After PostgreSQL
    ends its server processes (a restart), a connection checked in `idle_seconds` or longer
    before its next use is tested and replaced; one used more recently than that fails its
    unit of work, as a connection in use does with `pool_pre_ping`, and SQLAlchemy then
    renews the whole pool (tests/integration/storage/test_connection_ping.py)."""

    @event.listens_for(engine, "checkin")
    def checked_in(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def checking_out(dbapi_connection: Any, record: ConnectionPoolEntry, proxy: Any) -> None:
        idle_since = record.info.get(IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise DisconnectionError("the pooled connection did not answer") from error


class UnitOfWork:
    """One transaction: repositories share its session, events collected during the work are
    written to the outbox in the same transaction, and nothing is kept unless `commit()` ran."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._events: list[tuple[EventEnvelope, dict[str, str]]] = []

    async def __aenter__(self) -> Self:
        self.session = self._sessions()
        self._events = []
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() rolls back what was not committed and, unlike rollback(), leaves the loaded
        # objects readable (detached) after the block.
        await self.session.close()

    def emit(self, *events: EventEnvelope) -> None:
        """Collect domain events, with the trace they were caused in; they reach the outbox
        with the commit."""
        trace = current_carrier()
        self._events.extend((event, trace) for event in events)

    async def commit(self) -> None:
        await add_events(self.session, self._events)
        self._events = []
        await self.session.commit()


class Database:
    """The engine and session factory of one process, and the units of work they open."""

    def __init__(self, settings: Settings, pre_ping: bool = True) -> None:
        self.engine = create_engine(settings, pre_ping)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self.sessions)

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[AsyncConnection]:
        """A connection on which every statement is its own transaction, committed when it
        returns: a write that is one statement costs one round trip (no BEGIN, no COMMIT)."""
        async with self.engine.connect() as connection:
            yield await connection.execution_options(isolation_level="AUTOCOMMIT")

    async def dispose(self) -> None:
        await self.engine.dispose()
