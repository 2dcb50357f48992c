"""The outbox relay, as loops of the events actor: publishes pending outbox rows to Kafka in
commit order (key = aggregate id, so per aggregate they keep that order). A batch is claimed
(marked published) in one statement, and the claim is committed only once the broker
acknowledged every row, so nothing is lost; a row published twice (crash between send and
mark) is dropped by the consumers' processed-event check.

It wakes on PostgreSQL NOTIFY `outbox` (a trigger on insert; the listener is a loop of its own
that reconnects when PostgreSQL drops its connection) or on a short poll, and after a batch
that was not full it lingers `outbox_linger_seconds` (Kafka's linger.ms, one level up), so
under load it runs a few large transactions instead of one per group commit.

Whether the broker still holds its log is told by the epoch marker (storage/kafka.py). Each
session starts by checking it: a broker without it lost its log, and the relay marks pending
again every retained row a subscribed group has not processed, then writes the marker. Within
a session the marker is checked again before every claim is committed (and every
`outbox_epoch_check_seconds` when idle); a broker that lost it since ends the session, the claim
rolls back, and the next one starts over. That covers the broker restarted empty behind a
connection the clients re-open on their own: sends buffered for the old broker, or made with
the old broker's topic metadata, are acknowledged by the new one (the local broker, Tansu,
acknowledges records for topics it does not know and never serves them), so an acknowledgement
alone does not prove the batch is in the log that the consumers read. A new session creates
the topics first and has a producer with the new broker's metadata."""

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from ray.util.metrics import Counter, Gauge, Histogram

from actors.events.supervise import Health
from actors.handlers import CONSUMERS
from core.settings import Settings
from storage.db import Database
from storage.kafka import (
    EVENT_TYPE_HEADER,
    ensure_topics,
    epoch_reader,
    log_kept,
    mark_epoch,
    producer,
    topic_name,
)
from storage.outbox import backlog, claim, listen_for_inserts, mark_for_replay
from storage.telemetry import trace_headers, tracer

log = logging.getLogger(__name__)
BACKLOG = Gauge("smartcourse_outbox_backlog", "Outbox rows not yet published")
PUBLISHED = Counter("smartcourse_outbox_published", "Outbox rows published", ("topic",))
LATENCY = Histogram(
    "smartcourse_outbox_publish_latency_seconds",
    "From commit to broker acknowledgement",
    boundaries=[0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
)
REPLAYED = Counter("smartcourse_outbox_replayed", "Outbox rows re-published after a log loss")
CLOSE_SECONDS = 10.0


class LogLost(Exception):
    """The broker lost its log during a session: the next one starts over (topics, producer,
    replay)."""


def subscribers() -> dict[str, list[str]]:
    """Event type -> the consumer groups that record it as processed."""
    groups: dict[str, list[str]] = collections.defaultdict(list)
    for group, subscription in CONSUMERS.items():
        for event_type in subscription.event_types:
            groups[event_type].append(group)
    return dict(groups)


async def quietly(*closing: Awaitable[object]) -> None:
    """Close clients of a failed session without letting their own failure mask the first."""
    for step in closing:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(step, CLOSE_SECONDS)


class Relay:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        log_lost: Callable[[], None] = lambda: None,
        published: Callable[[list[str]], None] = lambda payloads: None,
    ) -> None:
        """`log_lost` tells the consumers in this process when the broker lost its log;
        `published` gets the payloads of every batch once the broker has them (the archive)."""
        self.settings, self.db, self.log_lost = settings, db, log_lost
        self.published_batch = published
        self.wake = asyncio.Event()
        self.published = 0
        self.replayed = 0

    async def listen(self, health: Health) -> None:
        """One NOTIFY session: wake the relay on each insert until the connection ends."""
        await listen_for_inserts(self.settings, self.wake.set, health.beat)

    async def run(self, health: Health) -> None:
        """One relay session: create the topics, connect, check the broker's log (replaying
        the outbox into a new one), then publish until a failure or a lost log."""
        await ensure_topics(self.settings)
        kafka, reader = producer(self.settings, raw=True), epoch_reader(self.settings)
        try:
            await kafka.start()
            await reader.start()
            await self.check_log(kafka, reader)
            checked = time.monotonic()
            while True:
                await health.beat()
                sent = await self.relay_batch(kafka, reader)
                if sent:
                    checked = time.monotonic()
                    if sent < self.settings.outbox_batch_size:
                        await asyncio.sleep(self.settings.outbox_linger_seconds)
                    continue
                if time.monotonic() - checked > self.settings.outbox_epoch_check_seconds:
                    await self.still_kept(reader)
                    checked = time.monotonic()
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), self.settings.outbox_poll_seconds)
        finally:
            await quietly(kafka.stop(), reader.stop())

    async def check_log(self, kafka: AIOKafkaProducer, reader: AIOKafkaConsumer) -> None:
        """At a session's start: replay the unprocessed retained rows if the broker came back
        without its log, then mark the log as the relay's."""
        if await log_kept(self.settings, reader):
            return
        async with self.db.unit_of_work() as uow:
            marked = await mark_for_replay(uow.session, subscribers())
            await uow.commit()
        # Only after the replay is committed: a crash in between replays again, harmlessly.
        await mark_epoch(self.settings, kafka)
        self.replayed += marked
        if marked:
            REPLAYED.inc(marked)
        log.warning("event=broker_log_lost replayed=%d", marked)
        self.log_lost()
        self.wake.set()

    async def still_kept(self, reader: AIOKafkaConsumer) -> None:
        """Within a session: a broker that lost its log since ends it (see the module)."""
        if not await log_kept(self.settings, reader):
            raise LogLost("the broker no longer holds the epoch marker")

    async def relay_batch(self, kafka: AIOKafkaProducer, reader: AIOKafkaConsumer) -> int:
        """One batch: claim the oldest rows, send them, commit the claim once the broker has
        acknowledged all of them and still holds its log (else it rolls back, and they are
        sent again)."""
        async with self.db.unit_of_work() as uow:
            rows = await claim(uow.session, self.settings.outbox_batch_size)
            # Only a full batch can leave rows behind it (the claimed ones already count as
            # published in this transaction).
            full = len(rows) == self.settings.outbox_batch_size
            BACKLOG.set(await backlog(uow.session) if full else 0)
            if not rows:
                return 0
            with tracer.start_as_current_span(
                "kafka publish outbox",
                attributes={"messaging.system": "kafka", "messaging.batch.count": len(rows)},
            ):
                sends = [
                    await kafka.send(
                        topic_name(self.settings, row.topic),
                        row.payload.encode(),
                        key=row.key.encode(),
                        headers=[
                            (EVENT_TYPE_HEADER, row.event_type.encode()),
                            *trace_headers(row.trace_context),
                        ],
                    )
                    for row in rows
                ]
                await asyncio.gather(*sends)
            await self.still_kept(reader)
            await uow.commit()
        now = time.time()
        for topic, count in collections.Counter(row.topic for row in rows).items():
            PUBLISHED.inc(count, tags={"topic": topic})
        for row in rows:
            LATENCY.observe(max(0.0, now - row.created_at.timestamp()))
        self.published += len(rows)
        self.published_batch([row.payload for row in rows])
        return len(rows)
