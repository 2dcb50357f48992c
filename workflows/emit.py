"""Events written by activities, which Temporal may run more than once: the event id derives
from its cause, so a second run finds the event already in the outbox and adds nothing."""

from core.events import EventEnvelope, event_id_for
from storage.db import UnitOfWork
from storage.outbox import add_event_once


async def emit_once(uow: UnitOfWork, event: EventEnvelope, cause: str) -> bool:
    """Write `event` under the id of `cause` in the unit of work's transaction; False when a
    run before this one already wrote it."""
    return await add_event_once(uow.session, event.model_copy(update={"id": event_id_for(cause)}))
