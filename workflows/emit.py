"""Events written by activities, which Temporal may run more than once: the event id derives
from its cause, so a second run finds the event already in the outbox and adds nothing."""

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.events import EventEnvelope, event_id_for
from storage.models.outbox import OutboxEvent
from storage.outbox import outbox_row


async def emit_once(session: AsyncSession, event: EventEnvelope, cause: str) -> bool:
    """Write `event` under the id of `cause` in the caller's transaction; False when a run
    before this one already wrote it."""
    row = outbox_row(event.model_copy(update={"id": event_id_for(cause)}))
    inserted = await session.scalar(
        insert(OutboxEvent)
        .values(row)
        .on_conflict_do_nothing(index_elements=[OutboxEvent.event_id])
        .returning(OutboxEvent.seq)
    )
    return inserted is not None
