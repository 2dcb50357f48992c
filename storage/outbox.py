"""The outbox table: events written inside the caller's transaction, and read back in order
by the relay."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Text, cast, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.events import EventEnvelope, topic_for
from storage.models.outbox import OutboxEvent


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
        await session.execute(insert(OutboxEvent), rows)


@dataclass(frozen=True, slots=True)
class Claimed:
    """An outbox row on its way to the broker: the payload as the JSON text PostgreSQL holds."""

    seq: int
    topic: str
    key: str
    payload: str
    trace_context: dict[str, str] | None
    created_at: datetime


async def claim(session: AsyncSession, limit: int) -> list[Claimed]:
    """Mark the oldest unpublished rows published, in one statement, and return them in commit
    order (`seq`). The mark holds only if the caller's transaction commits, which it does
    after the broker acknowledged every row; a concurrent claim waits for it (row locks)."""
    oldest = (
        select(OutboxEvent.seq)
        .where(OutboxEvent.published_at.is_(None))
        .order_by(OutboxEvent.seq)
        .limit(limit)
        .with_for_update()
    )
    rows = await session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.seq.in_(oldest.scalar_subquery()))
        .values(published_at=func.now())
        .returning(
            OutboxEvent.seq,
            OutboxEvent.topic,
            OutboxEvent.key,
            cast(OutboxEvent.payload, Text),
            OutboxEvent.trace_context,
            OutboxEvent.created_at,
        )
        .execution_options(synchronize_session=False)
    )
    return sorted((Claimed(*row) for row in rows), key=lambda row: row.seq)


async def backlog(session: AsyncSession) -> int:
    statement = select(func.count()).where(OutboxEvent.published_at.is_(None))
    return await session.scalar(statement) or 0
