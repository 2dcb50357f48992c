"""The outbox table: events written inside the caller's transaction (or once per event id, for
activities Temporal may run again), read back in order by the relay, marked for replay when the
broker lost its log, and deleted after the retention period; and the consumers' processed-event
rows that make delivery exactly-once, recorded with each effect and deleted after it; and the
NOTIFY `outbox` session that tells the relay of each insert."""

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from sqlalchemy import (
    Integer,
    String,
    Text,
    bindparam,
    cast,
    column,
    delete,
    exists,
    func,
    insert,
    select,
    tuple_,
    update,
    values,
)
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncSession

from core.events import EventEnvelope, topic_for
from core.settings import Settings
from storage.dsn import plain_dsn
from storage.models.events import ProcessedEvent
from storage.models.outbox import OutboxEvent

# The event path's statements are on the tables (not through the ORM entities' bulk paths,
# which cost more than the round trip) and built once: it runs them for every batch.
OUTBOX, PROCESSED = OutboxEvent.__table__, ProcessedEvent.__table__
FIRST_PROCESSING = upsert(PROCESSED).on_conflict_do_nothing().returning(PROCESSED.c.event_id)
OLDEST_PENDING = (
    select(OUTBOX.c.seq)
    .where(OUTBOX.c.published_at.is_(None))
    .order_by(OUTBOX.c.seq)
    .limit(bindparam("limit", type_=Integer))
    .with_for_update()
)
CLAIM = (
    update(OUTBOX)
    .where(OUTBOX.c.seq.in_(OLDEST_PENDING.scalar_subquery()))
    .values(published_at=func.now())
    .returning(
        OUTBOX.c.seq,
        OUTBOX.c.topic,
        OUTBOX.c.key,
        OUTBOX.c.event_type,
        cast(OUTBOX.c.payload, Text),
        OUTBOX.c.trace_context,
        OUTBOX.c.created_at,
    )
)


def outbox_row(event: EventEnvelope, trace: dict[str, str] | None = None) -> dict:
    return {
        "event_id": event.id,
        "event_type": event.type,
        "topic": topic_for(event.type),
        "key": event.subject,
        "payload": event.model_dump(mode="json"),
        "trace_context": trace or None,
    }


async def add_events(
    session: AsyncSession, events: Iterable[tuple[EventEnvelope, dict[str, str]]]
) -> None:
    """Insert the rows of (event, trace context) pairs; the caller's commit makes them durable
    with its state change."""
    rows = [outbox_row(event, trace) for event, trace in events]
    if rows:
        await session.execute(insert(OUTBOX), rows)


async def add_event_once(session: AsyncSession, event: EventEnvelope) -> bool:
    """Insert `event`'s row unless its id is there already (an activity run again writes the
    same event id); False when it was."""
    inserted = await session.scalar(
        upsert(OutboxEvent)
        .values(outbox_row(event))
        .on_conflict_do_nothing(index_elements=[OutboxEvent.event_id])
        .returning(OutboxEvent.seq)
    )
    return inserted is not None


async def first_processing(
    session: AsyncSession, group: str, event_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Record that `group` processes the events, in the transaction of their effects: those it
    had not processed before (the others are redeliveries). The rows go as the statement's
    parameters: compiled once and sent as one multi-row statement (SQLAlchemy's
    insertmanyvalues), where rows in `.values()` would be compiled again for every call."""
    if not event_ids:
        return set()
    rows = [{"consumer_group": group, "event_id": event_id} for event_id in event_ids]
    return set(await session.scalars(FIRST_PROCESSING, rows))


@dataclass(frozen=True, slots=True)
class Claimed:
    """An outbox row on its way to the broker: the payload as the JSON text PostgreSQL holds."""

    seq: int
    topic: str
    key: str
    event_type: str
    payload: str
    trace_context: dict[str, str] | None
    created_at: datetime


async def claim(session: AsyncSession, limit: int) -> list[Claimed]:
    """Mark the oldest unpublished rows published, in one statement, and return them in commit
    order (`seq`). The mark holds only if the caller's transaction commits, which it does
    after the broker acknowledged every row; a concurrent claim waits for it (row locks)."""
    rows = await session.execute(CLAIM, {"limit": limit})
    return sorted((Claimed(*row) for row in rows), key=lambda row: row.seq)


async def backlog(session: AsyncSession) -> int:
    statement = select(func.count()).where(OutboxEvent.published_at.is_(None))
    return await session.scalar(statement) or 0


async def mark_for_replay(session: AsyncSession, subscribers: dict[str, list[str]]) -> int:
    """Mark pending again every published row that a group subscribed to its type has not
    processed (`subscribers`: event type -> groups), so the relay sends it again in `seq`
    order: after the broker lost its log (DESIGN.md, Events). A group that had processed it
    drops the copy by its processed-event check. Answer how many rows were marked."""
    pairs = [(kind, group) for kind, groups in subscribers.items() for group in groups]
    if not pairs:
        return 0
    wanted = values(
        column("event_type", String), column("consumer_group", String), name="wanted"
    ).data(pairs)
    unprocessed = (
        select(OutboxEvent.seq)
        .join(wanted, wanted.c.event_type == OutboxEvent.event_type)
        .where(
            OutboxEvent.published_at.is_not(None),
            ~exists().where(
                ProcessedEvent.consumer_group == wanted.c.consumer_group,
                ProcessedEvent.event_id == OutboxEvent.event_id,
            ),
        )
    )
    result = await session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.seq.in_(unprocessed.scalar_subquery()))
        .values(published_at=None, attempts=OutboxEvent.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


async def delete_published_before(session: AsyncSession, cutoff: datetime, limit: int) -> int:
    """Delete up to `limit` of the oldest rows published before `cutoff`. Rows another
    transaction holds are skipped, not waited for, so a sweep never blocks the relay."""
    old = (
        select(OutboxEvent.seq)
        .where(OutboxEvent.published_at < cutoff)
        .order_by(OutboxEvent.seq)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    result = await session.execute(
        delete(OutboxEvent)
        .where(OutboxEvent.seq.in_(old.scalar_subquery()))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


async def delete_processed_before(session: AsyncSession, cutoff: datetime, limit: int) -> int:
    """Delete up to `limit` processed-event rows recorded before `cutoff` (skipping locked
    ones). There is no index on `processed_at`: the scan stops at the `limit`-th old row, and
    old rows sit at the start of the table."""
    old = (
        select(ProcessedEvent.consumer_group, ProcessedEvent.event_id)
        .where(ProcessedEvent.processed_at < cutoff)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    result = await session.execute(
        delete(ProcessedEvent)
        .where(tuple_(ProcessedEvent.consumer_group, ProcessedEvent.event_id).in_(old))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


# A NOTIFY connection whose end went unnoticed is found by this check at the latest; until
# then the relay still polls every outbox_poll_seconds.
LISTENER_CHECK_SECONDS = 5.0


async def listen_for_inserts(
    settings: Settings, inserted: Callable[[], None], listening: Callable[[], Awaitable[None]]
) -> None:
    """One NOTIFY `outbox` session (a trigger notifies on insert): `inserted()` on each insert,
    and once at the start (rows may have come while nobody listened); `listening()` once
    subscribed. Raises ConnectionError when the connection ends."""
    connection = await asyncpg.connect(plain_dsn(settings.database_url))
    closed = asyncio.Event()
    connection.add_termination_listener(lambda _: closed.set())
    try:
        await connection.add_listener("outbox", lambda *_: inserted())
        inserted()
        await listening()
        while not connection.is_closed():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(closed.wait(), LISTENER_CHECK_SECONDS)
        raise ConnectionError("the NOTIFY connection was closed")
    finally:
        with contextlib.suppress(Exception):  # never masking the failure that ended it
            await asyncio.wait_for(connection.close(), LISTENER_CHECK_SECONDS)
