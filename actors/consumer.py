"""Event consumer actors, one per consumer group: each event's effect and its processed-event
row commit in one transaction (a redelivery has no second effect), offsets are committed only
after that, failures are retried with exponential backoff, and an event that still fails (or
does not parse) goes to `<topic>.dlq` with the error, so the group goes on."""

import asyncio
import logging
import time

import ray
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from opentelemetry.trace import SpanKind
from ray.util.metrics import Counter, Gauge, Histogram
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError

from actors.handlers import CONSUMERS, Handler, Poison
from core.errors import ValidationFailed
from core.events import EventEnvelope, parse_event
from core.logs import configure_logging
from core.settings import Settings
from storage.db import Database
from storage.kafka import DLQ_SUFFIX, consumer, ensure_topics, producer
from storage.models.events import ProcessedEvent
from storage.telemetry import configure_tracing, context_from_headers, tracer

log = logging.getLogger(__name__)
COMMIT_SECONDS = 10.0
LAG = Gauge("smartcourse_consumer_lag", "Messages behind the partition end", ("group", "topic"))
PROCESSED = Counter("smartcourse_consumer_processed", "Events handled", ("group", "outcome"))
EVENT_LAG = Histogram(
    "smartcourse_event_lag_seconds",
    "From the event's time to its effect",
    boundaries=[0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    tag_keys=("group",),
)


@ray.remote(max_restarts=-1, num_cpus=0)
class EventConsumer:
    def __init__(self, settings: Settings, group: str) -> None:
        configure_logging(settings.log_level)
        configure_tracing(settings, f"smartcourse-{group}")
        self.settings, self.group = settings, group
        self.subscription = CONSUMERS[group]
        # Partitions are handled concurrently; more than a few at once only queue for these.
        self.db = Database(settings.model_copy(update={"db_pool_size": 4}))
        self.handled = 0
        self.running = asyncio.get_event_loop().create_task(self.run())

    async def run(self) -> None:
        while True:
            try:
                await self.consume()
            except (KafkaError, OSError) as error:
                log.warning("event=consumer_broker_down group=%s error=%s", self.group, error)
                await asyncio.sleep(self.settings.consumer_backoff_initial_seconds)

    async def consume(self) -> None:
        await ensure_topics(self.settings)
        source = consumer(self.settings, self.group, self.subscription.topics)
        dlq = producer(self.settings, raw=True)
        await source.start()
        await dlq.start()
        try:
            while True:
                batches = await source.getmany(timeout_ms=500)
                if batches:
                    await self.handle_batches(source, batches, dlq)
                for partition in source.assignment():
                    end, position = source.highwater(partition), await source.position(partition)
                    if end is not None:
                        LAG.set(
                            end - position, tags={"group": self.group, "topic": partition.topic}
                        )
        finally:
            await source.stop()
            await dlq.stop()

    async def handle_batches(
        self,
        source: AIOKafkaConsumer,
        batches: dict[TopicPartition, list[ConsumerRecord]],
        dlq: AIOKafkaProducer,
    ) -> None:
        """Partitions side by side, each in its order (per aggregate), so one busy partition
        does not hold back the events queued behind it in the others; then one commit."""
        await asyncio.gather(
            *(self.process_in_order(messages, dlq) for messages in batches.values())
        )
        offsets = {partition: messages[-1].offset + 1 for partition, messages in batches.items()}
        # aiokafka retries a commit for a vanished topic without end; past the deadline the
        # consumer starts over (topics ensured, group rejoined).
        await asyncio.wait_for(source.commit(offsets), COMMIT_SECONDS)

    async def process_in_order(self, messages: list[ConsumerRecord], dlq) -> None:
        for message in messages:
            await self.process(message, dlq)

    async def process(self, message: ConsumerRecord, dlq) -> None:
        delay = self.settings.consumer_backoff_initial_seconds
        for attempt in range(1, self.settings.consumer_max_attempts + 1):
            try:
                event = self.parse(message)
                if event.type not in self.subscription.event_types:
                    return
                with tracer.start_as_current_span(
                    f"consume {event.type}",
                    context=context_from_headers(message.headers),
                    kind=SpanKind.CONSUMER,
                    attributes={"messaging.consumer.group.name": self.group, "attempt": attempt},
                ):
                    applied = await self.apply(event, self.subscription.handler)
                if applied:
                    EVENT_LAG.observe(
                        max(0.0, time.time() - event.time.timestamp()), tags={"group": self.group}
                    )
                PROCESSED.inc(tags={"group": self.group, "outcome": "ok"})
                self.handled += 1
                return
            except (Poison, IntegrityError) as error:
                # A missing or conflicting row does not appear by waiting: park it now.
                await self.dead_letter(message, dlq, str(error)[:1000])
                return
            except Exception as error:  # every other failure is retried, then dead-lettered
                log.warning(
                    "event=consume_failed group=%s attempt=%d error=%s", self.group, attempt, error
                )
                if attempt == self.settings.consumer_max_attempts:
                    await self.dead_letter(message, dlq, repr(error))
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.settings.consumer_backoff_max_seconds)

    def parse(self, message: ConsumerRecord) -> EventEnvelope:
        try:
            return parse_event(message.value)
        except ValidationFailed as error:
            raise Poison(f"{error.message}: {error.details}") from None

    async def apply(self, event: EventEnvelope, handler: Handler) -> bool:
        """Handle the event once; False when this group had already processed it."""
        async with self.db.unit_of_work() as uow:
            first = await uow.session.scalar(
                insert(ProcessedEvent)
                .values(consumer_group=self.group, event_id=event.id)
                .on_conflict_do_nothing()
                .returning(ProcessedEvent.event_id)
            )
            if first is None:
                return False
            await handler(uow.session, event, self.settings)
            await uow.commit()
        return True

    async def dead_letter(self, message: ConsumerRecord, dlq, error: str) -> None:
        PROCESSED.inc(tags={"group": self.group, "outcome": "dead_letter"})
        log.warning(
            "event=dead_letter group=%s topic=%s offset=%d",
            self.group,
            message.topic,
            message.offset,
        )
        headers = [("error", error[:1000].encode()), ("group", self.group.encode())]
        await dlq.send_and_wait(
            message.topic + DLQ_SUFFIX, message.value, key=message.key, headers=headers
        )

    async def stats(self) -> dict[str, int]:
        return {"handled": self.handled}
