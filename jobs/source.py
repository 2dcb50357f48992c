"""Reading PostgreSQL tables into Ray Data, in parallel read tasks on the cluster.

`PostgresTable` is a Ray `Datasource`: each read task reads one range of the table's key
(storage/job_tables.py: its own asyncpg connection, COPY to CSV, parsed by pyarrow into a
table with a fixed schema). Rows never pass through the driver, so a job on a cluster reads
on the workers. Each task reads in its own transaction: tables are not one snapshot, which is
fine for these aggregate reports.
"""

import asyncio
import itertools
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

import pandas as pd
import pyarrow as pa
import ray.data
from ray.data.block import BlockMetadata
from ray.data.datasource import Datasource, ReadTask

from core.settings import Settings
from jobs.sizing import Sizing
from storage.dsn import plain_dsn
from storage.job_tables import (
    TABLES,
    Table,
    enrollment_period,
    fetch_range,
    key_range,
    table_has_rows,
    table_rows,
)

log = logging.getLogger(__name__)


class Source(Protocol):
    """Where a job's rows come from: big tables as Ray Datasets, small ones as frames."""

    def dataset(self, table: str) -> ray.data.Dataset: ...

    def frame(self, table: str) -> pd.DataFrame: ...

    def has_rows(self, table: str) -> bool: ...

    def rows(self, table: str) -> int: ...

    def period(self) -> tuple[datetime | None, datetime | None]:
        """The first and last enrollment time, for the charts' date range."""
        ...


def split(low: int, high: int, parts: int) -> list[tuple[int, int]]:
    """[low, high) as `parts` contiguous half-open ranges (fewer when it is shorter)."""
    parts = max(1, min(parts, high - low))
    bounds = [low + (high - low) * i // parts for i in range(parts + 1)]
    return list(itertools.pairwise(bounds))


class PostgresTable(Datasource):
    """One table read as `parallelism` key ranges (an index range scan each), one asyncpg
    connection per task."""

    def __init__(self, dsn: str, table: Table, keys: tuple[int, int]) -> None:
        super().__init__()
        self._dsn = dsn
        self._table = table
        self._keys = keys

    def get_name(self) -> str:
        return f"Postgres({self._table.name})"

    def estimate_inmemory_data_size(self) -> int | None:
        return None

    def get_read_tasks(
        self, parallelism: int, per_task_row_limit: int | None = None, data_context: object = None
    ) -> list[ReadTask]:
        dsn, table = self._dsn, self._table

        def reader(low: int, high: int) -> Callable[[], list[pa.Table]]:
            return lambda: [asyncio.run(fetch_range(dsn, table, low, high))]

        metadata = BlockMetadata(num_rows=None, size_bytes=None, input_files=None, exec_stats=None)
        return [
            ReadTask(reader(low, high), metadata, table.schema, per_task_row_limit)
            for low, high in split(*self._keys, max(1, parallelism))
        ]


class DatabaseSource:
    """The settings' PostgreSQL database, each table read in as many parallel tasks as its
    size calls for (`Sizing.tasks_for`)."""

    def __init__(self, settings: Settings, sizing: Sizing) -> None:
        self._dsn = plain_dsn(settings.database_url)
        self._sizing = sizing
        self._rows: dict[str, int] = {}

    def rows(self, table: str) -> int:
        if table not in self._rows:
            self._rows[table] = asyncio.run(table_rows(self._dsn, TABLES[table]))
        return self._rows[table]

    def dataset(self, table: str) -> ray.data.Dataset:
        tasks = self._sizing.tasks_for(self.rows(table))
        log.info(
            "event=table_planned table=%s rows=%d read_tasks=%d", table, self.rows(table), tasks
        )
        keys = asyncio.run(key_range(self._dsn, TABLES[table]))
        return ray.data.read_datasource(
            PostgresTable(self._dsn, TABLES[table], keys), override_num_blocks=tasks
        )

    def frame(self, table: str) -> pd.DataFrame:
        frame = self.dataset(table).to_pandas()
        if frame.empty:  # Ray Data drops empty blocks, and their columns with them
            frame = TABLES[table].schema.empty_table().to_pandas()
        log.info("event=table_read table=%s rows=%d", table, len(frame))
        return frame

    def period(self) -> tuple[datetime | None, datetime | None]:
        return asyncio.run(enrollment_period(self._dsn))

    def has_rows(self, table: str) -> bool:
        """A query that stops at the first row, rather than reading the table to count it."""
        return asyncio.run(table_has_rows(self._dsn, TABLES[table]))
