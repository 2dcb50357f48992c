"""Retention: published outbox rows and processed-event rows past their retention period are
deleted in small batches, each its own short transaction that skips locked rows, from a loop
of its own beside the relay: the relay never waits for a sweep (it claims pending rows only,
and a sweep deletes published ones)."""

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from ray.util.metrics import Counter

from actors.events.supervise import Health
from core.settings import Settings
from storage.db import Database
from storage.outbox import delete_processed_before, delete_published_before

log = logging.getLogger(__name__)
DELETED = Counter("smartcourse_retention_deleted", "Rows deleted by retention", ("table",))


class Retention:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings, self.db = settings, db
        self.deleted = {"outbox": 0, "processed_events": 0}

    async def run(self, health: Health) -> None:
        """One session: sweep, then wait for the next interval, until a failure."""
        while True:
            await self.sweep()
            await health.beat()
            await asyncio.sleep(self.settings.retention_interval_seconds)

    async def sweep(self) -> dict[str, int]:
        """Delete everything past retention now; answer how many rows of each table."""
        now = datetime.now(UTC)
        outbox_days = self.settings.outbox_retention_days
        # A processed row must outlive its outbox row: a replay of that row must find it.
        processed_days = max(self.settings.processed_event_retention_days, outbox_days)
        counts = {
            "outbox": await self.drain(
                "outbox", delete_published_before, now - timedelta(days=outbox_days)
            ),
            "processed_events": await self.drain(
                "processed_events", delete_processed_before, now - timedelta(days=processed_days)
            ),
        }
        if any(counts.values()):
            log.info("event=retention_swept outbox=%d processed_events=%d", *counts.values())
        return counts

    async def drain(self, table: str, delete, cutoff: datetime) -> int:
        total, limit = 0, self.settings.retention_batch_size
        while True:
            async with self.db.unit_of_work() as uow:
                count = await delete(uow.session, cutoff, limit)
                await uow.commit()
            total += count
            self.deleted[table] += count
            if count:
                DELETED.inc(count, tags={"table": table})
            if count < limit:
                return total
            await asyncio.sleep(0)  # let the relay and the consumers go between batches
