"""Reading PostgreSQL tables into Ray Data, in parallel read tasks on the cluster.

No DB-API driver is installed (asyncpg is async, so `ray.data.read_sql` cannot use it), so
`PostgresTable` is a Ray `Datasource`: each read task opens its own asyncpg connection, reads
one range of the table's key (`low <= key < high`, an index range scan, where `mod(key, n)`
made every task scan the whole table) with COPY to CSV, and parses it with pyarrow into a
table with a fixed schema. Rows never pass through the driver, so a job on a cluster reads on
the workers. Each task reads in its own transaction: tables are not
one snapshot, which is fine for these aggregate reports.
"""

import asyncio
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import asyncpg
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import ray.data
from ray.data.block import BlockMetadata
from ray.data.datasource import Datasource, ReadTask

from core.settings import Settings
from jobs.sizing import Sizing
from storage.migrate import plain_dsn

log = logging.getLogger(__name__)

ID = pa.int64()
TEXT = pa.string()
TIME = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True, slots=True)
class Table:
    """The columns a job may read from one table, and the key it is partitioned on."""

    name: str
    key: str
    columns: tuple[tuple[str, pa.DataType], ...]

    @property
    def schema(self) -> pa.Schema:
        return pa.schema(self.columns)


TABLES: dict[str, Table] = {
    table.name: table
    for table in (
        Table("users", "id", (("id", ID), ("full_name", TEXT), ("role", TEXT))),
        Table(
            "courses",
            "id",
            (
                ("id", ID),
                ("instructor_id", ID),
                ("title", TEXT),
                ("status", TEXT),
                ("published_at", TIME),
            ),
        ),
        Table("modules", "id", (("id", ID), ("course_id", ID), ("title", TEXT), ("position", ID))),
        Table(
            "lessons",
            "id",
            (
                ("id", ID),
                ("module_id", ID),
                ("course_id", ID),
                ("title", TEXT),
                ("kind", TEXT),
                ("position", ID),
            ),
        ),
        Table(
            "enrollments",
            "id",
            (
                ("id", ID),
                ("student_id", ID),
                ("course_id", ID),
                ("status", TEXT),
                ("enrolled_at", TIME),
                ("completed_at", TIME),
                ("dropped_at", TIME),
                ("completion_percentage", pa.float64()),
            ),
        ),
        Table(
            "lesson_completions",
            "enrollment_id",
            (("enrollment_id", ID), ("lesson_id", ID), ("completed_at", TIME)),
        ),
    )
}


class Source(Protocol):
    """Where a job's rows come from: big tables as Ray Datasets, small ones as frames."""

    def dataset(self, table: str) -> ray.data.Dataset: ...

    def frame(self, table: str) -> pd.DataFrame: ...

    def has_rows(self, table: str) -> bool: ...

    def rows(self, table: str) -> int: ...

    def period(self) -> tuple[datetime | None, datetime | None]:
        """The first and last enrollment time, for the charts' date range."""
        ...


async def table_has_rows(dsn: str, table: Table) -> bool:
    conn = await asyncpg.connect(dsn)
    try:
        # The name comes from TABLES, never from input.
        return await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table.name})")  # noqa: S608
    finally:
        await conn.close()


async def table_rows(dsn: str, table: Table, exact_below: int = 1_000_000) -> int:
    """The planner's row estimate (free, from the last ANALYZE), or an exact count when the
    table is small or was never analysed: sizing needs the order of magnitude, not the row."""
    conn = await asyncpg.connect(dsn)
    try:
        estimate = await conn.fetchval(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass($1)", table.name
        )
        if estimate is not None and estimate >= exact_below:
            return int(estimate)
        # The name comes from TABLES, never from input.
        return int(await conn.fetchval(f"SELECT count(*) FROM {table.name}"))  # noqa: S608
    finally:
        await conn.close()


async def enrollment_period(dsn: str) -> tuple[datetime | None, datetime | None]:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow("SELECT min(enrolled_at), max(enrolled_at) FROM enrollments")
        return row[0], row[1]
    finally:
        await conn.close()


async def key_range(dsn: str, table: Table) -> tuple[int, int]:
    """The smallest key and one past the largest ((0, 0) when empty), read from the index."""
    conn = await asyncpg.connect(dsn)
    try:
        # Names come from TABLES, never from input.
        row = await conn.fetchrow(f"SELECT min({table.key}), max({table.key}) FROM {table.name}")  # noqa: S608
    finally:
        await conn.close()
    return (0, 0) if row[0] is None else (int(row[0]), int(row[1]) + 1)


def split(low: int, high: int, parts: int) -> list[tuple[int, int]]:
    """[low, high) as `parts` contiguous half-open ranges (fewer when it is shorter)."""
    parts = max(1, min(parts, high - low))
    bounds = [low + (high - low) * i // parts for i in range(parts + 1)]
    return list(itertools.pairwise(bounds))


def decode_csv(data: bytes, table: Table) -> pa.Table:
    """PostgreSQL's CSV (timestamps as epoch microseconds) → a table in `table`'s schema."""
    if not data:
        return table.schema.empty_table()
    wire = {name: pa.int64() if kind == TIME else kind for name, kind in table.columns}
    parsed = pacsv.read_csv(
        pa.py_buffer(data),
        read_options=pacsv.ReadOptions(column_names=list(wire)),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types=wire, strings_can_be_null=False, quoted_strings_can_be_null=False
        ),
    )
    return pa.table([parsed[name].cast(kind) for name, kind in table.columns], schema=table.schema)


async def fetch_range(dsn: str, table: Table, low: int, high: int) -> pa.Table:
    """The rows of `table` with `low <= key < high`, through COPY: PostgreSQL writes CSV and
    pyarrow parses it in C, some ten times faster than building a row object per row."""
    select = ", ".join(
        f"(extract(epoch FROM {name}) * 1000000)::bigint" if kind == TIME else name
        for name, kind in table.columns
    )
    # Names come from TABLES and the bounds are ints computed here, never input; COPY takes
    # no bind parameters.
    sql = (
        f"SELECT {select} FROM {table.name} "  # noqa: S608
        f"WHERE {table.key} >= {int(low)} AND {table.key} < {int(high)}"
    )
    chunks: list[bytes] = []

    async def sink(chunk: bytes) -> None:
        chunks.append(chunk)

    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_from_query(sql, output=sink, format="csv")
    finally:
        await conn.close()
    return decode_csv(b"".join(chunks), table)


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
