"""Writing domain events into the outbox table, inside the caller's transaction."""

from collections.abc import Iterable

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.events import EventEnvelope, topic_for
from storage.models.outbox import OutboxEvent


def outbox_row(event: EventEnvelope) -> dict:
    return {
        "event_id": event.id,
        "event_type": event.type,
        "topic": topic_for(event.type),
        "key": event.subject,
        "payload": event.model_dump(mode="json"),
    }


async def add_events(session: AsyncSession, events: Iterable[EventEnvelope]) -> None:
    """Insert the events' rows; the caller's commit makes them durable with its state change."""
    rows = [outbox_row(event) for event in events]
    if rows:
        await session.execute(insert(OutboxEvent), rows)
