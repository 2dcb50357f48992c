"""Bulk loading: rows written with PostgreSQL's COPY (asyncpg's `copy_records_to_table`), for
seeding millions of rows in minutes where INSERTs through the ORM would take hours.

Only for data of our own making in a database of its own (the benchmarks'): `trusted=True`
skips foreign-key and other triggers for the session (`session_replication_role = replica`,
which needs a superuser), so rows must already be consistent. Columns not named take their
server defaults, as with INSERT.
"""

import logging
from collections.abc import Iterable, Sequence
from itertools import islice
from types import TracebackType
from typing import Any, Self

import asyncpg

from core.settings import Settings
from storage.dsn import plain_dsn

log = logging.getLogger(__name__)


class BulkLoader:
    """One connection that COPYs batches of records into tables; `async with` opens it."""

    def __init__(self, settings: Settings, *, trusted: bool = False, batch: int = 200_000) -> None:
        self._dsn = plain_dsn(settings.database_url)
        self._trusted = trusted
        self._batch = batch
        self._conn: asyncpg.Connection | None = None

    async def __aenter__(self) -> Self:
        self._conn = await asyncpg.connect(self._dsn)
        if self._trusted:
            await self._conn.execute("SET session_replication_role = replica")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._conn is not None:
            await self._conn.close()

    async def copy(
        self, table: str, columns: Sequence[str], records: Iterable[Sequence[Any]]
    ) -> int:
        """COPY `records` (tuples in `columns` order) into `table`, a batch per statement so
        a generator of millions of rows is never held in memory; returns the rows written."""
        assert self._conn is not None, "use `async with BulkLoader(...)`"
        written = 0
        rows = iter(records)
        while batch := list(islice(rows, self._batch)):
            await self._conn.copy_records_to_table(table, records=batch, columns=list(columns))
            written += len(batch)
        log.info("event=bulk_copied table=%s rows=%d", table, written)
        return written

    async def analyze(self, *tables: str) -> None:
        """Fresh planner statistics, so queries (and job sizing) see the new row counts."""
        assert self._conn is not None, "use `async with BulkLoader(...)`"
        for table in tables:
            await self._conn.execute(f"ANALYZE {table}")
