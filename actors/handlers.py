"""What each consumer group does with events, inside the transaction that also records them
as processed (so a redelivered event has no second effect). A handler takes one event, or a
whole poll's in a batched group."""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from actors.analytics import COUNTED, record
from actors.collaborators import Collaborators
from actors.notify import NOTIFIED, notify
from actors.poison import Poison, required
from core.events import EventEnvelope
from core.status import CourseStatus
from storage.db import UnitOfWork
from storage.repositories.course import CourseRepository

Handler = Callable[[UnitOfWork, Sequence[EventEnvelope], Collaborators], Awaitable[None]]


async def reindex(uow: UnitOfWork, events: Sequence[EventEnvelope], _: Collaborators) -> None:
    """A published course that changed gets its search document rebuilt (once per poll)."""
    courses = CourseRepository(uow.session)
    for course_id in sorted({e.data["course_id"] for e in events if e.type == "course.updated"}):
        course = await courses.get(course_id)
        if course is not None and course.status == CourseStatus.PUBLISHED:
            await courses.index_for_search(course.id)


async def issue_certificate(
    uow: UnitOfWork, events: Sequence[EventEnvelope], deps: Collaborators
) -> None:
    """A completed enrollment earns its certificate: start (or join) its workflow."""
    for event in events:
        await deps.temporal.start_certificate(event.data["enrollment_id"])


@dataclass(frozen=True)
class Subscription:
    topics: list[str]
    handler: Handler
    # Other event types on these topics are skipped without a database round trip.
    event_types: frozenset[str]
    # Its effects are rows, and hand-overs that send once per dedupe key (the notices' messages),
    # so a poll's events may share one transaction and go to the handler together: a poll that
    # fails is redone one event at a time, and what it handed over is not sent twice.
    batched: bool = False


__all__ = ["CONSUMERS", "Handler", "Poison", "Subscription", "required"]

CONSUMERS: dict[str, Subscription] = {
    "notification-consumer": Subscription(
        ["enrollment.events", "progress.events", "course.events", "user.events"],
        notify,
        NOTIFIED,
        batched=True,
    ),
    "analytics-consumer": Subscription(
        ["user.events", "course.events", "enrollment.events", "progress.events"],
        record,
        COUNTED,
        batched=True,
    ),
    "content-consumer": Subscription(
        ["course.events"], reindex, frozenset({"course.updated"}), batched=True
    ),
    "certificate-consumer": Subscription(
        ["enrollment.events"], issue_certificate, frozenset({"enrollment.completed"})
    ),
}
