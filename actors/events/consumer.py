"""One consumer group, as a loop of the events actor: each event's effect and its
processed-event row commit in one transaction (a redelivery has no second effect; a group whose
effects are rows only commits a whole poll's events in one), offsets are committed only after
that, a failing handler is retried with exponential backoff, and an event that still fails (or
does not parse) goes to `<topic>.dlq` with the error, so the group goes on.

A failure of what the group depends on (the broker, PostgreSQL, Temporal unreachable) is not
the event's fault: it ends the session instead of dead-lettering, and the supervisor
reconnects; the uncommitted offsets bring the batch back, and the processed-event check drops
what was already applied."""

import asyncio
import logging
import time
from collections.abc import Iterable

from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRebalanceListener,
    ConsumerRecord,
    TopicPartition,
)
from aiokafka.errors import KafkaError
from opentelemetry.trace import SpanKind
from ray.util.metrics import Counter, Gauge, Histogram
from temporalio.service import RPCError, RPCStatusCode

from actors.collaborators import Collaborators
from actors.events.relay import quietly
from actors.events.supervise import Health
from actors.handlers import CONSUMERS, Poison
from core.errors import DependencyDown, ValidationFailed
from core.events import EventEnvelope, parse_event
from core.settings import Settings
from storage.db import Database
from storage.errors import RowConflict, database_down
from storage.kafka import DLQ_SUFFIX, EVENT_TYPE_HEADER, consumer, ensure_topics, producer
from storage.outbox import first_processing
from storage.telemetry import context_from_headers, service_tracer

log = logging.getLogger(__name__)
COMMIT_SECONDS = 10.0
POSITION_SECONDS = 0.1
# The lag is measured at most this often: a round of a busy group takes milliseconds, and each
# measurement asks every assigned partition (24 for some groups) for its position.
LAG_SECONDS = 1.0
LAG = Gauge(
    "smartcourse_consumer_lag",
    "Messages behind the ends of the topic's partitions",
    ("group", "topic"),
)
PROCESSED = Counter("smartcourse_consumer_processed", "Events handled", ("group", "outcome"))
EVENT_LAG = Histogram(
    "smartcourse_event_lag_seconds",
    "From the event's time to its effect",
    boundaries=[0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    tag_keys=("group",),
)
DEPENDENCY_ERRORS = (OSError, TimeoutError, KafkaError, DependencyDown)
UNAVAILABLE = {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED}


class FromStart(ConsumerRebalanceListener):
    """After a log loss, partitions assigned while the group was rejoining are read from their
    start: the group's offsets, if any, were committed against the old log's positions."""

    def __init__(self, owner: "GroupConsumer") -> None:
        self.owner = owner
        self.source: AIOKafkaConsumer | None = None

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        if self.owner.from_start and assigned and self.source is not None:
            read_from_start(self.source, assigned)
            self.owner.from_start = False


def read_from_start(source: AIOKafkaConsumer, partitions: Iterable[TopicPartition]) -> None:
    """Fetch `partitions` from offset 0 on: a log whose start was trimmed answers out of range
    there, and `auto_offset_reset` takes the group to its start. Unlike `seek_to_beginning`,
    this does not wait for the broker, which never answers for a partition of a topic it
    re-created with fewer partitions (a group assigned by the old metadata waited 40 s per
    call)."""
    for partition in partitions:
        source.seek(partition, 0)


def dependency_down(error: BaseException | None) -> bool:
    """Whether `error` (or what it wraps) says a dependency is unreachable, not the event bad."""
    while error is not None:
        if isinstance(error, DEPENDENCY_ERRORS) or database_down(error):
            return True
        if isinstance(error, RPCError) and error.status in UNAVAILABLE:
            return True
        orig = getattr(error, "orig", None)
        error = orig if isinstance(orig, BaseException) else error.__cause__
    return False


class GroupConsumer:
    def __init__(self, settings: Settings, group: str, db: Database) -> None:
        self.settings, self.group, self.db = settings, group, db
        self.subscription = CONSUMERS[group]
        self.deps = Collaborators.open(settings)
        self.wanted = {event_type.encode() for event_type in self.subscription.event_types}
        # Each group's spans name the group as their service, as when it had a process.
        self.tracer = service_tracer(settings, f"smartcourse-{group}")
        self.handled = 0
        self.from_start = False  # the next assignment reads the partitions from their start
        self.lost = False  # the relay found the broker without its log: read it from its start

    def log_lost(self) -> None:
        """Told by the relay in the same process: the broker came back without its log."""
        self.lost = self.from_start = True

    def rewind(self, source: AIOKafkaConsumer) -> None:
        """Read the log from its start, within the session: a new session would join the group
        again, and a stale member of the last one can hold a rejoin up for its session timeout.
        Assigned partitions are rewound now; with none (rejoining), the next assignment is."""
        self.lost = False
        if assigned := source.assignment():
            read_from_start(source, assigned)
            self.from_start = False

    async def run(self, health: Health) -> None:
        """One session: join the group and consume until a failure."""
        await ensure_topics(self.settings)
        listener = FromStart(self)
        source = consumer(self.settings, self.group, self.subscription.topics, listener)
        listener.source = source
        dlq = producer(self.settings, raw=True)
        try:
            await source.start()
            await dlq.start()
            measured = 0.0
            while True:
                await health.beat()
                if self.lost:
                    self.rewind(source)
                batches = await source.getmany(timeout_ms=500)
                if batches:
                    await self.handle_batches(source, batches, dlq, health)
                if time.monotonic() - measured >= LAG_SECONDS:
                    await self.measure_lag(source)
                    measured = time.monotonic()
        finally:
            await quietly(source.stop(), dlq.stop())

    async def measure_lag(self, source: AIOKafkaConsumer) -> dict[str, int]:
        """The lag of each partition; a log that ends before this group's position went back
        (the broker lost it, and the group's committed offsets with it): that partition is
        read again from the new log's start (the relay replays into it). A partition whose
        position is not known yet is left for a later round: `position` waits until it is, and
        for a partition the broker no longer has, that is never. The gauge is the sum over the
        topic's partitions."""
        behind: dict[str, int] = {}
        for partition in source.assignment():
            end = source.highwater(partition)
            try:
                position = await asyncio.wait_for(source.position(partition), POSITION_SECONDS)
            except TimeoutError:
                continue
            if end is not None and end < position:
                log.warning(
                    "event=log_went_back group=%s partition=%s end=%d position=%d",
                    self.group,
                    partition,
                    end,
                    position,
                )
                read_from_start(source, [partition])
            elif end is not None:
                behind[partition.topic] = behind.get(partition.topic, 0) + end - position
        for topic, lag in behind.items():
            LAG.set(lag, tags={"group": self.group, "topic": topic})
        return behind

    async def handle_batches(
        self,
        source: AIOKafkaConsumer,
        batches: dict[TopicPartition, list[ConsumerRecord]],
        dlq: AIOKafkaProducer,
        health: Health,
    ) -> None:
        """A group whose effects are rows only applies the poll in one transaction
        (`apply_together`). Otherwise, or when that declines: partitions side by side, each in
        its order (per aggregate), so one busy partition does not hold back the events queued
        behind it in the others. Then one commit. A failure in one lets the others finish their
        messages (cancelling a statement midway can hand a busy connection back to the pool)
        and then ends the session: no partition task outlives it."""
        if not (self.subscription.batched and await self.apply_together(batches)):
            outcomes = await asyncio.gather(
                *(self.process_in_order(messages, dlq, health) for messages in batches.values()),
                return_exceptions=True,
            )
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome
        offsets = {partition: messages[-1].offset + 1 for partition, messages in batches.items()}
        # aiokafka retries a commit for a vanished topic without end; past the deadline the
        # session fails and starts over (topics ensured, group rejoined).
        await asyncio.wait_for(source.commit(offsets), COMMIT_SECONDS)

    async def apply_together(self, batches: dict[TopicPartition, list[ConsumerRecord]]) -> bool:
        """The poll's events in one transaction, partition after partition: side by side, two
        transactions would lock shared rows (the platform's counters) in opposite orders and
        deadlock. False, with nothing kept, when an event fails or does not parse: the caller
        then handles them one by one, with retries and dead letters. A dependency that is down
        ends the session, as it does there."""
        try:
            wanted = [
                (message, event)
                for messages in batches.values()
                for message in messages
                if (event := self.wanted_event(message)) is not None
            ]
        except Poison:
            return False
        fresh = await self.apply_fresh(wanted) if wanted else []
        if fresh is None:
            return False
        applied = {event.id for event in fresh}
        for _, event in wanted:
            self.done(event, event.id in applied)
        return True

    async def apply_fresh(
        self, wanted: list[tuple[ConsumerRecord, EventEnvelope]]
    ) -> list[EventEnvelope] | None:
        """The events not processed before, applied in one transaction; None when that failed
        (rolled back)."""
        spans = []
        try:
            async with self.db.unit_of_work() as uow:
                first = await first_processing(uow.session, self.group, [e.id for _, e in wanted])
                fresh = []
                for message, event in wanted:
                    # A second delivery within the poll has no second effect either.
                    if event.id in first:
                        first.discard(event.id)
                        fresh.append(event)
                        spans.append(self.tracer.start_span(**self.span_of(message, event, 1)))
                await self.subscription.handler(uow, fresh, self.deps)
                await uow.commit()
        except Exception as error:
            for span in spans:
                span.record_exception(error)
            if dependency_down(error):
                raise
            log.info("event=poll_applied_one_by_one group=%s error=%r", self.group, error)
            return None
        finally:
            for span in spans:  # each event's consumption lasted as long as the poll's
                span.end()
        return fresh

    async def process_in_order(self, messages: list[ConsumerRecord], dlq, health: Health) -> None:
        for message in messages:
            await self.process(message, dlq, health)

    async def process(self, message: ConsumerRecord, dlq, health: Health) -> None:
        """Handle one event, retrying a failure with backoff; each attempt is a round of the
        loop (the stall bound counts from the last one)."""
        delay = self.settings.consumer_backoff_initial_seconds
        for attempt in range(1, self.settings.consumer_max_attempts + 1):
            await health.beat()
            try:
                await self.handle(message, attempt)
                return
            except (Poison, RowConflict) as error:
                # A missing or conflicting row does not appear by waiting: park it now.
                await self.dead_letter(message, dlq, str(error)[:1000])
                return
            except Exception as error:
                if dependency_down(error):
                    raise  # the session ends; the event comes back after the reconnect
                log.warning(
                    "event=consume_failed group=%s attempt=%d error=%s", self.group, attempt, error
                )
                if attempt == self.settings.consumer_max_attempts:
                    await self.dead_letter(message, dlq, repr(error))
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.settings.consumer_backoff_max_seconds)

    async def handle(self, message: ConsumerRecord, attempt: int) -> None:
        event = self.wanted_event(message)
        if event is None:
            return
        with self.tracer.start_as_current_span(**self.span_of(message, event, attempt)):
            applied = await self.apply(event)
        self.done(event, applied)

    def wanted_event(self, message: ConsumerRecord) -> EventEnvelope | None:
        """The message's event when this group handles its type; Poison if it does not parse."""
        if not self.may_handle(message):
            return None
        event = self.parse(message)
        return event if event.type in self.subscription.event_types else None

    def span_of(self, message: ConsumerRecord, event: EventEnvelope, attempt: int) -> dict:
        """The arguments of the span of a consumed event: named for the event, in its trace."""
        return {
            "name": f"consume {event.type}",
            "context": context_from_headers(message.headers),
            "kind": SpanKind.CONSUMER,
            "attributes": {"messaging.consumer.group.name": self.group, "attempt": attempt},
        }

    def done(self, event: EventEnvelope, applied: bool) -> None:
        """Count the handled event (a redelivered one was not applied again)."""
        if applied:
            EVENT_LAG.observe(
                max(0.0, time.time() - event.time.timestamp()), tags={"group": self.group}
            )
        PROCESSED.inc(tags={"group": self.group, "outcome": "ok"})
        self.handled += 1

    def may_handle(self, message: ConsumerRecord) -> bool:
        """False for a message whose type header names a type this group does not handle: it
        is skipped unparsed (most of a topic's messages, for most groups). A message without
        the header is parsed to tell, and one that does not parse is poison."""
        for key, value in message.headers or ():
            if key == EVENT_TYPE_HEADER:
                return value in self.wanted
        return True

    def parse(self, message: ConsumerRecord) -> EventEnvelope:
        try:
            return parse_event(message.value)
        except ValidationFailed as error:
            raise Poison(f"{error.message}: {error.details}") from None

    async def apply(self, event: EventEnvelope) -> bool:
        """Handle the event once; False when this group had already processed it."""
        async with self.db.unit_of_work() as uow:
            if not await first_processing(uow.session, self.group, [event.id]):
                return False
            await self.subscription.handler(uow, [event], self.deps)
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
