"""The outbox relay actor: publishes pending outbox rows to Kafka in commit order (key =
aggregate id, so per aggregate they keep that order). A batch is claimed (marked published) in
one statement, and the claim is committed only once the broker acknowledged every row.

It wakes on PostgreSQL NOTIFY `outbox` (a trigger on insert) or on a short poll, and after a
batch that was not full it lingers `outbox_linger_seconds` (Kafka's linger.ms, one level up), so
under load it runs a few large transactions instead of one per group commit. While the
broker is down, rows stay pending and the relay retries with backoff, then catches up; a row is
marked only after the broker acknowledged it, so nothing is lost, and a row published twice
(crash between send and mark) is dropped by the consumers' processed-event check.
"""

import asyncio
import collections
import contextlib
import logging
import time

import asyncpg
import ray
from aiokafka.errors import KafkaError
from ray.util.metrics import Counter, Gauge, Histogram

from core.logs import configure_logging
from core.settings import Settings
from storage.db import Database
from storage.kafka import ensure_topics, producer, topic_name
from storage.migrate import plain_dsn
from storage.outbox import backlog, claim
from storage.telemetry import configure_tracing, trace_headers, tracer

log = logging.getLogger(__name__)
BACKLOG = Gauge("smartcourse_outbox_backlog", "Outbox rows not yet published")
PUBLISHED = Counter("smartcourse_outbox_published", "Outbox rows published", ("topic",))
LATENCY = Histogram(
    "smartcourse_outbox_publish_latency_seconds",
    "From commit to broker acknowledgement",
    boundaries=[0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
)


@ray.remote(max_restarts=-1, max_task_retries=-1, num_cpus=0)
class OutboxRelay:
    def __init__(self, settings: Settings) -> None:
        configure_logging(settings.log_level)
        configure_tracing(settings, "smartcourse-relay")
        self.settings = settings
        self.db = Database(settings.model_copy(update={"db_pool_size": 2}))
        self.wake = asyncio.Event()
        self.published = 0
        self.running = asyncio.get_event_loop().create_task(self.run())

    async def listen(self) -> asyncpg.Connection | None:
        try:
            connection = await asyncpg.connect(plain_dsn(self.settings.database_url))
            await connection.add_listener("outbox", lambda *_: self.wake.set())
            return connection
        except (OSError, asyncpg.PostgresError) as error:
            log.warning("event=outbox_listen_failed error=%s; polling only", error)
            return None

    async def run(self) -> None:
        listener = await self.listen()
        backoff = self.settings.consumer_backoff_initial_seconds
        kafka = None
        try:
            while True:
                try:
                    if kafka is None:
                        await ensure_topics(self.settings)
                        kafka = producer(self.settings, raw=True)
                        await kafka.start()
                    sent = await self.relay_batch(kafka)
                    backoff = self.settings.consumer_backoff_initial_seconds
                    if sent:
                        if sent < self.settings.outbox_batch_size:
                            await asyncio.sleep(self.settings.outbox_linger_seconds)
                        continue
                except (KafkaError, OSError) as error:
                    log.warning("event=outbox_broker_down error=%s retry_in=%.1f", error, backoff)
                    if kafka is not None:
                        await kafka.stop()
                        kafka = None
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self.settings.outbox_retry_max_seconds)
                    continue
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), self.settings.outbox_poll_seconds)
        finally:
            if kafka is not None:
                await kafka.stop()
            if listener is not None:
                await listener.close()

    async def relay_batch(self, kafka) -> int:
        """One batch: claim the oldest rows, send them, commit the claim once the broker has
        acknowledged all of them (a failed send rolls it back, and they are sent again)."""
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
                        headers=trace_headers(row.trace_context),
                    )
                    for row in rows
                ]
                await asyncio.gather(*sends)
            await uow.commit()
        now = time.time()
        for topic, count in collections.Counter(row.topic for row in rows).items():
            PUBLISHED.inc(count, tags={"topic": topic})
        for row in rows:
            LATENCY.observe(max(0.0, now - row.created_at.timestamp()))
        self.published += len(rows)
        return len(rows)

    async def stats(self) -> dict[str, int]:
        return {"published": self.published}
