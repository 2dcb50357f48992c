"""The events actor under faults, with events being produced: every PostgreSQL backend
terminated, the broker killed and started empty, the actor's process SIGKILLed. Afterwards
every event's effect happened exactly once, with no hand on the system: analytics counters
(an increment per event, idempotent only through the processed-event check) and in-app
notifications, and the loops' heartbeats are back."""

import asyncio
import os
import random
import signal
from datetime import UTC, datetime, timedelta

import asyncpg
import ray
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError

from actors.handlers import CONSUMERS
from actors.placement import LOCAL_ACTOR
from actors.pool import NAMESPACE
from core.events import EventEnvelope
from serve.processes import port_open
from serve.stack import LocalStack
from storage.db import Database
from storage.dsn import plain_dsn
from storage.heartbeats import Heartbeats
from storage.keyvalue import connect_redis
from storage.models.enrollment import Notification
from storage.models.events import AnalyticsDaily, ProcessedEvent
from storage.models.outbox import OutboxEvent
from storage.outbox import outbox_row
from tests.conftest import System
from tests.e2e.accounts import account
from tests.e2e.catalog import poll
from tests.integration.storage.test_event_delivery import certificate_issued, sample

LOOPS = ["relay", *(f"consumer:{group}" for group in CONSUMERS)]


class Traffic:
    """Events for one student and one (made-up) course: each step emits a certificate notice
    (notification consumer) and a drop (analytics counter), each committed exactly once."""

    def __init__(self, db: Database, student_id: int) -> None:
        self.db, self.student_id = db, student_id
        self.course_id = random.randint(10**8, 2 * 10**8)
        self.emitted: list[EventEnvelope] = []

    def step_events(self, n: int) -> list[EventEnvelope]:
        dropped = sample("enrollment.dropped")
        dropped.data |= {"course_id": self.course_id, "student_id": self.student_id}
        return [certificate_issued(self.student_id, self.course_id + n), dropped]

    async def emit(self, events: list[EventEnvelope]) -> None:
        """Commit once, whatever the database does: a commit whose answer was lost is
        recognised by the unique event id on the retry."""
        while True:
            try:
                async with self.db.unit_of_work() as uow:
                    uow.emit(*events)
                    await uow.commit()
                break
            except IntegrityError:
                break  # the lost answer's commit had happened
            except Exception:  # the fault under test: try again
                await asyncio.sleep(0.1)
        self.emitted += events

    async def run(self, steps: int, pace: float = 0.1) -> None:
        for n in range(steps):
            await self.emit(self.step_events(n))
            await asyncio.sleep(pace)  # pacing the load, not synchronisation

    def emitted_at_least(self, count: int):
        async def check() -> bool:
            return len(self.emitted) >= count

        return check

    async def effects(self) -> tuple[int, int]:
        """(certificate notices, drops counted) so far."""
        async with self.db.unit_of_work() as uow:
            notices = await uow.session.scalar(
                select(func.count()).where(
                    Notification.user_id == self.student_id,
                    Notification.kind == "certificate_ready",
                )
            )
            drops = await uow.session.scalar(
                select(func.coalesce(func.sum(AnalyticsDaily.drops), 0)).where(
                    AnalyticsDaily.course_id == self.course_id
                )
            )
        return notices, drops

    async def all_applied_once(self, within: float = 120) -> None:
        steps = len(self.emitted) // 2

        async def done() -> bool:
            return await self.effects() >= (steps, steps)

        await poll(done, within=within)
        assert await self.effects() == (steps, steps)


async def traffic(system: System, db: Database) -> Traffic:
    return Traffic(db, (await account(system.settings)).id)


def events_actor():
    return ray.get_actor(LOCAL_ACTOR, namespace=NAMESPACE)


async def stats() -> dict:
    return await events_actor().stats.remote()


async def heartbeats_fresh(system: System, within: float = 30) -> None:
    beats = Heartbeats(connect_redis(system.settings), system.settings)

    async def fresh() -> bool:
        ages = await beats.ages(LOOPS)
        return all(age is not None and age < 3 for age in ages.values())

    await poll(fresh, within=within)


async def test_one_actor_runs_the_relay_and_every_group(system: System, db: Database) -> None:
    answer = await stats()
    assert set(answer["handled"]) == set(CONSUMERS)
    assert all(answer["loops"].values()), answer["loops"]
    assert {"relay", "relay-listener", "retention"} <= set(answer["loops"])
    await heartbeats_fresh(system)


async def terminate_backends(system: System) -> int:
    connection = await asyncpg.connect(plain_dsn(system.settings.database_url))
    try:
        rows = await connection.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await connection.close()
    return len(rows)


async def test_terminated_database_connections_lose_and_double_nothing(
    system: System, db: Database
) -> None:
    load = await traffic(system, db)
    before = await stats()
    producing = asyncio.create_task(load.run(40))
    try:
        for emitted in (10, 30, 50):
            await poll(load.emitted_at_least(emitted), within=60)
            assert await terminate_backends(system) > 0
    finally:
        await producing
    await load.all_applied_once()
    await heartbeats_fresh(system)
    after = await stats()
    # The loops survived in the same process: nothing had to restart the actor.
    assert after["pid"] == before["pid"]
    assert all(after["loops"].values())


async def lost_by_the_broker(db: Database, load: Traffic, steps: int) -> None:
    """Events the broker had acknowledged (marked published) but no group consumed: what an
    in-memory broker's restart loses."""
    events = [event for n in range(steps) for event in load.step_events(10_000 + n)]
    rows = [outbox_row(event) | {"published_at": datetime.now(UTC)} for event in events]
    async with db.unit_of_work() as uow:
        await uow.session.execute(insert(OutboxEvent), rows)
        await uow.commit()
    load.emitted += events


async def test_a_broker_restarted_empty_gets_the_unconsumed_events_again(
    system: System, db: Database, servers: LocalStack
) -> None:
    load = await traffic(system, db)
    await lost_by_the_broker(db, load, 5)
    producing = asyncio.create_task(load.run(30, pace=0.2))
    broker = servers.started["kafka"]
    try:
        await poll(load.emitted_at_least(10 + 2 * 10), within=60)
        assert broker.process is not None
        killed = broker.process.pid
        os.killpg(killed, signal.SIGKILL)
        # The stack's supervisor starts it again: same argv, same port, an empty log.

        async def restarted() -> bool:
            return broker.process is not None and broker.process.pid != killed

        await poll(restarted, within=60)

        async def answers() -> bool:
            return await asyncio.to_thread(port_open, system.settings.kafka_bootstrap, 0)

        await poll(answers, within=60)
    finally:
        await producing
    await load.all_applied_once(within=180)
    assert (await stats())["replayed"] >= 10
    await heartbeats_fresh(system)


async def test_a_killed_events_actor_is_restarted_and_loses_and_doubles_nothing(
    system: System, db: Database
) -> None:
    load = await traffic(system, db)
    pid = (await stats())["pid"]
    producing = asyncio.create_task(load.run(30))
    try:
        await poll(load.emitted_at_least(20), within=60)
        os.kill(pid, signal.SIGKILL)
    finally:
        await producing

    async def restarted() -> bool:
        return (await stats())["pid"] != pid  # the call waits for the restart

    await poll(restarted, within=90)
    await load.all_applied_once()
    await heartbeats_fresh(system)


OLD_OUTBOX = """
INSERT INTO outbox (event_id, event_type, topic, key, payload, created_at, published_at)
SELECT gen_random_uuid(), 'progress.updated', 'progress.events', 'old', '{}'::jsonb, :at, :at
FROM generate_series(1, :n)
"""
OLD_PROCESSED = """
INSERT INTO processed_events (consumer_group, event_id, processed_at)
SELECT 'retention-test', gen_random_uuid(), :at FROM generate_series(1, :n)
"""


async def test_retention_deletes_old_rows_while_the_relay_keeps_publishing(
    system: System, db: Database
) -> None:
    days = max(
        system.settings.outbox_retention_days, system.settings.processed_event_retention_days
    )
    old, rows = datetime.now(UTC) - timedelta(days=days + 1), 40_000
    async with db.unit_of_work() as uow:
        for statement in (OLD_OUTBOX, OLD_PROCESSED):
            await uow.session.execute(text(statement), {"at": old, "n": rows})
        await uow.commit()
    load = await traffic(system, db)
    sweeping = events_actor().sweep.remote()
    await load.run(5, pace=0.05)
    counts = await sweeping
    async with db.unit_of_work() as uow:
        swept_at = await uow.session.scalar(select(func.now()))
        left = await uow.session.scalar(
            select(func.count()).where(OutboxEvent.published_at < old + timedelta(hours=1))
        )
        left_processed = await uow.session.scalar(
            select(func.count()).where(ProcessedEvent.consumer_group == "retention-test")
        )
        first = await uow.session.scalar(
            select(func.min(OutboxEvent.published_at)).where(
                OutboxEvent.event_id.in_([event.id for event in load.emitted])
            )
        )
    assert counts["outbox"] >= rows and counts["processed_events"] >= rows
    assert left == left_processed == 0
    # The relay published the traffic while the sweep was still deleting.
    assert first is not None and first < swept_at
    await load.all_applied_once()
