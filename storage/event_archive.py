"""The event archive: every event envelope kept as Parquet in the object store, partitioned by
day and topic, so researchers replay history (`smartcourse job run funnel --events
s3://BUCKET/PREFIX`) without touching the OLTP database, and past the outbox's retention.

Layout (Hive partitioning, which Ray Data and pyarrow read as columns `day` and `topic`):

    s3://{s3_bucket}/{event_archive_prefix}/day=2025-01-31/topic=progress.events/part-<uuid>.parquet

One row per envelope: id, type, version, source, time (UTC, microseconds), subject and data
(the data object as JSON text, since its shape differs per type). `append` buffers; `flush`
writes one object per (day, topic) of the buffer, so objects are few and large enough to
read fast; it is called when the buffer reaches `event_archive_batch_events`, and by the
owner (the events actor) on a timer and at shutdown. Objects are immutable and named by a
fresh uuid, so a flush that failed half-way is retried without overwriting; the same event
twice (a redelivery) is two rows, and readers keep one per id.
"""

import asyncio
import io
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from core.events import EventEnvelope, topic_for
from core.settings import Settings
from storage.objects import ObjectStore

log = logging.getLogger(__name__)

SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("type", pa.string()),
        ("version", pa.int32()),
        ("source", pa.string()),
        ("time", pa.timestamp("us", tz="UTC")),
        ("subject", pa.string()),
        ("data", pa.string()),
    ]
)
PARQUET = "application/vnd.apache.parquet"


def archive_key(prefix: str, day: str, topic: str) -> str:
    return f"{prefix.strip('/')}/day={day}/topic={topic}/part-{uuid.uuid4().hex}.parquet"


def to_parquet(envelopes: list[EventEnvelope]) -> bytes:
    """One Parquet file (zstd) holding `envelopes` in SCHEMA."""
    table = pa.Table.from_pylist(
        [
            {
                "id": str(event.id),
                "type": event.type,
                "version": event.version,
                "source": event.source,
                "time": event.time,
                "subject": event.subject,
                "data": json.dumps(event.data, separators=(",", ":")),
            }
            for event in envelopes
        ],
        SCHEMA,
    )
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


class EventArchive:
    """Buffers envelopes and writes them to the object store as Parquet, a file per
    (day, topic). Not thread-safe; one owner (an actor) appends and flushes."""

    def __init__(self, settings: Settings, store: ObjectStore | None = None) -> None:
        self._store = store or ObjectStore(settings)
        self._prefix = settings.event_archive_prefix
        self._batch = settings.event_archive_batch_events
        self._buffer: dict[tuple[str, str], list[EventEnvelope]] = defaultdict(list)
        self._buffered = 0
        self._lock = asyncio.Lock()

    @property
    def buffered(self) -> int:
        """Envelopes appended and not yet written."""
        return self._buffered

    @property
    def full(self) -> bool:
        return self._buffered >= self._batch

    def keep(self, envelopes: Iterable[EventEnvelope]) -> None:
        """Buffer `envelopes` under their day (UTC) and topic, without writing."""
        for event in envelopes:
            self._buffer[(f"{event.time:%Y-%m-%d}", topic_for(event.type))].append(event)
            self._buffered += 1

    async def append(self, envelopes: Iterable[EventEnvelope]) -> None:
        """Buffer `envelopes`; flush when the buffer is full."""
        self.keep(envelopes)
        if self.full:
            await self.flush()

    async def flush(self) -> list[str]:
        """Write every buffered (day, topic) batch as one object; returns the keys written.
        A batch that fails to write stays buffered, and the error is raised."""
        async with self._lock:
            written = []
            for day, topic in list(self._buffer):
                # Taken out before the write: events appended meanwhile start a new batch.
                events = self._buffer.pop((day, topic))
                key = archive_key(self._prefix, day, topic)
                try:
                    data = await asyncio.to_thread(to_parquet, events)
                    await self._store.put(key, data, PARQUET)
                except Exception:
                    self._buffer[(day, topic)] = events + self._buffer.get((day, topic), [])
                    raise
                self._buffered -= len(events)
                written.append(key)
                log.info("event=events_archived key=%s events=%d", key, len(events))
            return written
