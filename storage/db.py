"""Async SQLAlchemy engine, sessions and the unit of work (rolls back unless told to commit)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from core.events import EventEnvelope
from core.settings import Settings
from storage.outbox import add_events
from storage.telemetry import current_carrier


def create_engine(settings: Settings, pre_ping: bool = True) -> AsyncEngine:
    """One pooled engine per process. `pre_ping` tests each connection as it is checked out
    (a round trip per transaction), so a request after a PostgreSQL restart does not fail; a
    loop that retries a failed transaction anyway can do without."""
    return create_async_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=pre_ping,
    )


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
