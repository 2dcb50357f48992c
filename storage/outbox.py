"""The outbox table: events written inside the caller's transaction, and read back in order
by the relay."""

from collections.abc import Iterable

from sqlalchemy import func, insert, select, update
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


async def pending(session: AsyncSession, limit: int) -> list[OutboxEvent]:
    """The oldest unpublished rows, in commit order (`seq`)."""
    rows = await session.scalars(
        select(OutboxEvent)
        .where(OutboxEvent.published_at.is_(None))
        .order_by(OutboxEvent.seq)
        .limit(limit)
    )
    return list(rows)


async def mark_published(session: AsyncSession, seqs: list[int]) -> None:
    await session.execute(
        update(OutboxEvent).where(OutboxEvent.seq.in_(seqs)).values(published_at=func.now())
    )


async def backlog(session: AsyncSession) -> int:
    statement = select(func.count()).where(OutboxEvent.published_at.is_(None))
    return await session.scalar(statement) or 0
