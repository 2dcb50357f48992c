"""Monthly partitions of analytics_metrics (seed 6.3) against real PostgreSQL: consumers
handle partitions side by side, so the first events of a month arrive together; and a month
this process knows whose partition has gone since is found out and made again."""

import asyncio
from datetime import date

import pytest
from sqlalchemy import text

from storage.db import Database
from storage.repositories.analytics import (
    KNOWN_MONTHS,
    PLATFORM,
    AnalyticsRepository,
    PartitionMissing,
)

MONTH = date(2099, 1, 15)
PARTITION = "analytics_metrics_y2099m01"


async def test_concurrent_first_events_of_a_month_create_its_partition_once(
    db: Database,
) -> None:
    async def first_event() -> None:
        async with db.unit_of_work() as uow:
            await AnalyticsRepository(uow.session).ensure_month(MONTH)
            await uow.commit()

    try:
        await asyncio.gather(*(first_event() for _ in range(8)))
        async with db.unit_of_work() as uow:
            bounds = await uow.session.scalar(
                text("SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = :name"),
                {"name": PARTITION},
            )
        assert bounds == "FOR VALUES FROM ('2099-01-01') TO ('2099-02-01')"
    finally:
        await drop_partition(db)


async def drop_partition(db: Database) -> None:
    async with db.unit_of_work() as uow:
        await uow.session.execute(text(f"DROP TABLE IF EXISTS {PARTITION}"))
        await uow.commit()


async def test_a_known_month_whose_partition_was_dropped_is_created_again(db: Database) -> None:
    async def count_a_drop() -> None:
        async with db.unit_of_work() as uow:
            counters = AnalyticsRepository(uow.session)
            await counters.ensure_month(MONTH)
            await counters.bump({(MONTH, PLATFORM): {"drops": 1}})
            await uow.commit()

    KNOWN_MONTHS.discard(MONTH.replace(day=1))  # as a process that never saw it
    try:
        await count_a_drop()  # creates the partition
        await count_a_drop()  # finds it: known from now on, no more lookups
        assert MONTH.replace(day=1) in KNOWN_MONTHS
        await drop_partition(db)
        with pytest.raises(PartitionMissing):  # the row went to the default partition
            await count_a_drop()
        assert MONTH.replace(day=1) not in KNOWN_MONTHS
        await count_a_drop()  # the retry makes the partition again
        async with db.unit_of_work() as uow:
            rows = await uow.session.execute(
                text(
                    "SELECT tableoid::regclass::text, drops FROM analytics_metrics "
                    "WHERE day = :day AND course_id = :course"
                ),
                {"day": MONTH, "course": PLATFORM},
            )
        assert rows.all() == [(PARTITION, 1)]
    finally:
        await drop_partition(db)
