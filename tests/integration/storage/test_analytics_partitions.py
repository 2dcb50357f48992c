"""Monthly partitions of analytics_metrics (seed 6.3) against real PostgreSQL: consumers
handle partitions side by side, so the first events of a month arrive together."""

import asyncio
from datetime import date

from sqlalchemy import text

from storage.db import Database
from storage.repositories.analytics import AnalyticsRepository

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
        async with db.unit_of_work() as uow:
            await uow.session.execute(text(f"DROP TABLE IF EXISTS {PARTITION}"))
            await uow.commit()
