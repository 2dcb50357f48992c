"""Domain events through the real broker: the outbox relay publishes every event type once on
its topic, survives a 30 s broker outage without losing or doubling an effect, and the
consumers are idempotent and dead-letter what they cannot handle."""

import asyncio
import json
import random
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import BaseModel
from sqlalchemy import func, select

from core.events import EVENT_DATA, EventEnvelope, make_event, topic_for
from core.settings import Settings
from serve.stack import LocalStack
from storage.db import Database
from storage.kafka import DLQ_SUFFIX, EVENT_TYPE_HEADER, ensure_topics, producer, topic_name
from storage.models.enrollment import Notification
from storage.models.events import AnalyticsDaily
from storage.repositories.personal_data import PersonalDataRepository
from tests.conftest import System, frozen
from tests.e2e.accounts import account
from tests.e2e.catalog import poll

# Ids no test creates (they come from sequences): the sample events must not touch the rows of
# another test, such as `user.deleted` dropping the notices of the first account made.
NO_ROW = 2_000_000_000
SAMPLE = {
    "user_id": NO_ROW,
    "role": "student",
    "course_id": NO_ROW,
    "instructor_id": NO_ROW,
    "title": "T",
    "enrollment_id": NO_ROW,
    "student_id": NO_ROW,
    "completed_at": datetime.now(UTC).isoformat(),
    "lesson_id": NO_ROW,
    "completion_percentage": 10.0,
    "module_id": NO_ROW,
    "certificate_id": NO_ROW,
    "verification_code": "code",
    "course_title": "T",
    "reason": "no lessons",
    "day": "2026-01-01",
}


@pytest.fixture(autouse=True)
async def partitions(system: System) -> dict[str, int]:
    """Each topic's partition count as the broker has it, creating any that are missing."""
    return await ensure_topics(system.settings)


def sample(event_type: str) -> EventEnvelope:
    model: type[BaseModel] = EVENT_DATA[event_type]
    data = model.model_validate({k: v for k, v in SAMPLE.items() if k in model.model_fields})
    return make_event(event_type, str(uuid.uuid4()), data, source="test")


async def emit(db: Database, events: list[EventEnvelope]) -> None:
    async with db.unit_of_work() as uow:
        uow.emit(*events)
        await uow.commit()


async def reader_of(
    settings: Settings, counts: dict[str, int], topics: set[str], *, from_end: bool = False
):
    """A consumer of every partition of `topics`, with no group (no rebalance), from their
    start or from their current end."""
    reader = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await reader.start()
    partitions = [
        TopicPartition(topic_name(settings, t), p)
        for t in topics
        for p in range(counts[topic_name(settings, t)])
    ]
    reader.assign(partitions)
    if from_end:
        await reader.seek_to_end(*partitions)
        async with asyncio.timeout(30):  # resolves the end offsets now, before anything is sent
            for partition in partitions:
                await reader.position(partition)
    else:
        await reader.seek_to_beginning(*partitions)
    return reader


async def read_until(reader: AIOKafkaConsumer, wanted: set[str]) -> list[tuple]:
    """(topic, event id) of every message until all `wanted` ids were seen (with a deadline);
    each names its event type in the relay's header."""
    seen: list[tuple] = []
    try:
        async with asyncio.timeout(120):
            while not wanted <= {event_id for _, event_id in seen}:
                for messages in (await reader.getmany(timeout_ms=500)).values():
                    for message in messages:
                        payload = json.loads(message.value)
                        if payload.get("id") in wanted:
                            seen.append((message.topic, payload["id"]))
                            named = dict(message.headers)[EVENT_TYPE_HEADER]
                            assert named == payload["type"].encode()
    finally:
        await reader.stop()
    return seen


async def test_every_event_type_arrives_on_its_topic(
    system: System, db: Database, partitions: dict[str, int]
) -> None:
    """Delivery on the log is at least once (the broker has no idempotent producer, so a send
    retried after a timeout can repeat); the effect is once, which the dedupe test proves."""
    events = [sample(event_type) for event_type in EVENT_DATA]
    # Read from the current ends: earlier tests' events stay unread, ours come after them.
    reader = await reader_of(
        system.settings, partitions, {topic_for(e.type) for e in events}, from_end=True
    )
    await emit(db, events)
    wanted = {str(e.id) for e in events}
    seen = await read_until(reader, wanted)
    topics = {str(e.id): topic_name(system.settings, topic_for(e.type)) for e in events}
    assert {event_id for _, event_id in seen} == wanted
    assert all(topic == topics[event_id] for topic, event_id in seen)


async def certificate_notices(db: Database, user_id: int) -> int:
    async with db.unit_of_work() as uow:
        return await uow.session.scalar(
            select(func.count()).where(
                Notification.user_id == user_id, Notification.kind == "certificate_ready"
            )
        )


def certificate_issued(student_id: int, certificate_id: int) -> EventEnvelope:
    event = sample("certificate.issued")
    event.data |= {"student_id": student_id, "certificate_id": certificate_id}
    return event


async def test_broker_outage_loses_and_doubles_nothing(
    system: System, db: Database, servers: LocalStack
) -> None:
    """The broker stops answering for 30 s (SIGSTOP, then SIGCONT) rather than being restarted:
    the local broker keeps its log in memory, so a restart would also wipe topics and group
    offsets, which a real Kafka keeps; clients racing to re-create them made this test flaky."""
    student = await account(system.settings)
    with frozen(servers, "kafka"):
        for n in range(30):
            await emit(db, [certificate_issued(student.id, 10_000 + n)])
            await asyncio.sleep(1)  # events keep being produced for the 30 s of the outage

    async def all_arrived() -> bool:
        return await certificate_notices(db, student.id) == 30

    await poll(all_arrived, within=150)
    # The relay republishes nothing it already marked, and the consumer dedupes by event id.
    assert await certificate_notices(db, student.id) == 30


async def test_the_same_event_twice_creates_one_notification(system: System, db: Database) -> None:
    student = await account(system.settings)
    event = certificate_issued(student.id, 77)
    kafka = producer(system.settings)
    await kafka.start()
    try:
        for _ in range(2):
            await kafka.send_and_wait(
                topic_name(system.settings, "enrollment.events"),
                event.model_dump(mode="json"),
                key=event.subject,
            )
    finally:
        await kafka.stop()
    after = certificate_issued(student.id, 78)
    await emit(db, [after])

    async def both_handled() -> bool:
        return await certificate_notices(db, student.id) >= 2

    await poll(both_handled)
    assert await certificate_notices(db, student.id) == 2


async def test_an_erased_user_gets_no_notice_of_an_event_applied_after_the_erasure(
    system: System, db: Database
) -> None:
    """The certificate's event was emitted before the erasure but is applied after it (it
    travels on another topic than `user.deleted`): the erased user gets no notice."""
    erased, witness = await account(system.settings), await account(system.settings)
    async with db.unit_of_work() as uow:
        await PersonalDataRepository(uow.session).erase(erased.id, "!", datetime.now(UTC))
        await uow.commit()
    told, witnessed = certificate_issued(erased.id, 79), certificate_issued(witness.id, 80)
    witnessed.subject = told.subject  # one partition, so the witness's notice comes second
    await emit(db, [told, witnessed])

    async def witness_told() -> bool:
        return await certificate_notices(db, witness.id) == 1

    await poll(witness_told)
    assert await certificate_notices(db, erased.id) == 0


async def dead_lettered(settings: Settings, partitions: dict[str, int], payload: bytes) -> list:
    """The dead letters of `payload` on the enrollment topic's DLQ, once there is one."""
    reader = await reader_of(settings, partitions, {"enrollment.events" + DLQ_SUFFIX})
    try:
        async with asyncio.timeout(30):
            found = []
            while not found:
                for messages in (await reader.getmany(timeout_ms=500)).values():
                    found += [m for m in messages if m.value == payload]
    finally:
        await reader.stop()
    return found


async def test_a_poison_event_is_dead_lettered_and_the_consumer_goes_on(
    system: System, db: Database, partitions: dict[str, int]
) -> None:
    student = await account(system.settings)
    kafka = producer(system.settings, raw=True)
    await kafka.start()
    poison = b'{"type": "certificate.issued", "not": "an envelope"}'
    try:
        await kafka.send_and_wait(
            topic_name(system.settings, "enrollment.events"), poison, key=b"poison"
        )
    finally:
        await kafka.stop()
    await emit(db, [certificate_issued(student.id, 99)])

    async def handled() -> bool:
        return await certificate_notices(db, student.id) == 1

    await poll(handled)
    found = await dead_lettered(system.settings, partitions, poison)
    headers = dict(found[0].headers)
    assert b"malformed event" in headers["error"]


def drops_counted(db: Database, course_id: int, expected: int):
    """A check that the analytics counters hold `expected` drops of the course."""

    async def check() -> bool:
        async with db.unit_of_work() as uow:
            counted = await uow.session.scalar(
                select(func.coalesce(func.sum(AnalyticsDaily.drops), 0)).where(
                    AnalyticsDaily.course_id == course_id
                )
            )
        return counted == expected

    return check


async def test_the_analytics_group_counts_a_poll_once_and_parks_what_spoils_one(
    system: System, db: Database, partitions: dict[str, int]
) -> None:
    """The analytics group applies a poll's events in one transaction. An event delivered twice
    within it counts once; one that does not parse fails that transaction, and the poll is
    applied one event at a time instead: the others count once and it is dead-lettered."""
    course_id = random.randint(10**8, 2 * 10**8)  # a course of this test alone
    drops = []
    for _ in range(3):
        drop = sample("enrollment.dropped")
        drop.data |= {"course_id": course_id}
        drops.append(json.dumps(drop.model_dump(mode="json")).encode())
    spoilt = b'{"type": "enrollment.dropped", "not": "an envelope"}'
    kafka = producer(system.settings, raw=True)
    await kafka.start()

    async def send(*payloads: bytes) -> None:
        """On one partition (one key), in this order, as close together as the broker takes."""
        for payload in payloads:
            await kafka.send(
                topic_name(system.settings, "enrollment.events"),
                payload,
                key=str(course_id).encode(),
                headers=[(EVENT_TYPE_HEADER, b"enrollment.dropped")],
            )
        await kafka.flush()

    try:
        await send(drops[0], drops[1], drops[0])
        await poll(drops_counted(db, course_id, 2))
        await send(spoilt, drops[2])
    finally:
        await kafka.stop()
    await poll(drops_counted(db, course_id, 3))
    parked = await dead_lettered(system.settings, partitions, spoilt)
    assert b"analytics-consumer" in {dict(m.headers)["group"] for m in parked}
    assert await drops_counted(db, course_id, 3)()


async def test_the_notification_group_notifies_a_poll_once_and_parks_what_spoils_one(
    system: System, db: Database, partitions: dict[str, int]
) -> None:
    """The notification group applies a poll's events in one transaction too. An event naming
    a module that does not exist fails it, and the poll is applied one event at a time instead:
    the certificate's notice is written once and the spoilt event is dead-lettered."""
    student = await account(system.settings)
    spoilt = sample("progress.module_completed")
    spoilt.data |= {"student_id": student.id}
    good = certificate_issued(student.id, 81)
    kafka = producer(system.settings, raw=True)
    await kafka.start()
    try:
        for event in (spoilt, good):  # one partition (one key), in this order
            await kafka.send(
                topic_name(system.settings, "enrollment.events"),
                json.dumps(event.model_dump(mode="json")).encode(),
                key=str(student.id).encode(),
                headers=[(EVENT_TYPE_HEADER, event.type.encode())],
            )
        await kafka.flush()
    finally:
        await kafka.stop()

    async def told() -> bool:
        return await certificate_notices(db, student.id) == 1

    await poll(told)
    payload = json.dumps(spoilt.model_dump(mode="json")).encode()
    parked = await dead_lettered(system.settings, partitions, payload)
    assert {dict(m.headers)["group"] for m in parked} == {b"notification-consumer"}
    assert b"does not exist" in dict(parked[0].headers)["error"]
    assert await certificate_notices(db, student.id) == 1
