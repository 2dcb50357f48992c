"""PostgreSQL tables as the batch jobs read them: which columns of which tables a job may read
(and the key each is split on), their size, and one key range of a table through COPY.

No DB-API driver is installed (asyncpg is async, so `ray.data.read_sql` cannot use it): each
read opens its own asyncpg connection, so a read task on a cluster node reads on that node.
A key range (`low <= key < high`) is an index range scan, where `mod(key, n)` made every task
scan the whole table. Names in the SQL come from TABLES, never from input.
"""

from dataclasses import dataclass
from datetime import datetime

import asyncpg
import pyarrow as pa
import pyarrow.csv as pacsv

ID = pa.int64()
TEXT = pa.string()
TIME = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True, slots=True)
class Table:
    """The columns a job may read from one table, and the key it is partitioned on."""

    name: str
    key: str
    columns: tuple[tuple[str, pa.DataType], ...]
    # Rows a revision removed (`deleted_at` set) are not part of the course any more.
    live_only: bool = False

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
        Table(
            "modules",
            "id",
            (("id", ID), ("course_id", ID), ("title", TEXT), ("position", ID)),
            live_only=True,
        ),
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
            live_only=True,
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
        + (" AND deleted_at IS NULL" if table.live_only else "")
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
