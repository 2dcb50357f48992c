"""The relay's claim on the outbox in real PostgreSQL: oldest rows first, marked only by a
commit (a rolled-back claim leaves them pending), each row claimed once. In a database of its
own, as the running system's relay claims every row of the shared one."""

import json
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from core.events import EventEnvelope
from core.settings import Settings
from storage import migrate
from storage.db import Database
from storage.models.outbox import OutboxEvent
from storage.outbox import add_events, claim

TRACE = {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}


@pytest.fixture
def migrated(scratch: Settings) -> Settings:
    migrate.upgrade(scratch)
    return scratch


@pytest.fixture
async def own_db(migrated: Settings) -> AsyncIterator[Database]:
    handle = Database(migrated)
    yield handle
    await handle.dispose()


async def outbox_of(db: Database, count: int) -> list[EventEnvelope]:
    events = [
        EventEnvelope(type="progress.updated", source="test", subject=f"s{n}", data={"n": n})
        for n in range(count)
    ]
    async with db.unit_of_work() as uow:
        await add_events(uow.session, [(event, TRACE) for event in events])
        await uow.commit()
    return events


async def pending_ids(db: Database) -> list[str]:
    async with db.unit_of_work() as uow:
        rows = await uow.session.scalars(
            select(OutboxEvent.event_id)
            .where(OutboxEvent.published_at.is_(None))
            .order_by(OutboxEvent.seq)
        )
        return [str(row) for row in rows]


async def test_a_claim_takes_the_oldest_rows_in_order_and_a_rollback_returns_them(
    own_db: Database,
) -> None:
    events = await outbox_of(own_db, 5)
    async with own_db.unit_of_work() as uow:  # the broker failed: no commit
        taken = await claim(uow.session, 3)
    assert [json.loads(row.payload)["id"] for row in taken] == [str(e.id) for e in events[:3]]
    assert [row.key for row in taken] == ["s0", "s1", "s2"]
    assert all(row.trace_context == TRACE for row in taken)
    assert await pending_ids(own_db) == [str(e.id) for e in events]

    async with own_db.unit_of_work() as uow:
        first = await claim(uow.session, 3)
        await uow.commit()
    async with own_db.unit_of_work() as uow:
        second = await claim(uow.session, 3)
        await uow.commit()
    assert [row.seq for row in first] == [row.seq for row in taken]
    assert [json.loads(row.payload)["subject"] for row in second] == ["s3", "s4"]
    assert await pending_ids(own_db) == []
