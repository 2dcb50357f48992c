"""The events actor under faults, with events being produced: every PostgreSQL backend
terminated, the broker killed and started empty, the actor's process SIGKILLed. Afterwards
every event's effect happened exactly once, with no hand on the system: analytics counters
(an increment per event, idempotent only through the processed-event check) and in-app
notifications, and the loops' heartbeats are back."""

import asyncio
import random

import asyncpg
import ray
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from actors.events import LOCAL_ACTOR
from actors.handlers import CONSUMERS
from actors.pool import NAMESPACE
from core.events import EventEnvelope
from storage.db import Database
from storage.heartbeats import Heartbeats
from storage.keyvalue import connect_redis
from storage.migrate import plain_dsn
from storage.models.enrollment import Notification
from storage.models.events import AnalyticsDaily
from tests.conftest import System
from tests.e2e.accounts import account
from tests.e2e.catalog import poll
from tests.integration.test_event_delivery import certificate_issued, sample

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
