"""What each consumer group does with an event, inside the transaction that also records the
event as processed (so a redelivered event has no second effect)."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from actors.notify import NOTIFIED, notify
from actors.poison import Poison, required
from core.events import EventEnvelope
from core.settings import Settings
from storage.models.course import Course
from storage.models.events import AnalyticsDaily
from storage.repositories.course import CourseRepository
from workflows.certificates import start_certificate_workflow
from workflows.client import connect

Handler = Callable[[AsyncSession, EventEnvelope, Settings], Awaitable[None]]


COUNTERS = {
    "enrollment.created": "new_enrollments",
    "enrollment.completed": "completions",
    "enrollment.dropped": "drops",
}


async def ensure_month(session: AsyncSession, day: date) -> None:
    """The month's partition of analytics_metrics (seed 6.3), created the first time it is used."""
    start = day.replace(day=1)
    end = start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    name = f"analytics_metrics_y{start.year}m{start.month:02d}"
    if await session.scalar(text("SELECT to_regclass(:name) IS NOT NULL"), {"name": name}):
        return
    # Partitions handled side by side would race to create it ("relation already exists"):
    # the lock lets the first create it and the others see it once that one committed.
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": name})
    # Identifiers cannot be parameters; both are built from integers above.
    await session.execute(
        text(
            f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF analytics_metrics "
            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
        )
    )


async def count(session: AsyncSession, event: EventEnvelope, settings: Settings) -> None:
    column = COUNTERS.get(event.type)
    if column is None:
        return
    day = event.time.astimezone(UTC).date()
    await ensure_month(session, day)
    for course_id in (event.data["course_id"], 0):
        statement = insert(AnalyticsDaily).values(day=day, course_id=course_id, **{column: 1})
        statement = statement.on_conflict_do_update(
            index_elements=["day", "course_id"],
            set_={column: getattr(AnalyticsDaily, column) + 1},
        )
        await session.execute(statement)


async def reindex(session: AsyncSession, event: EventEnvelope, settings: Settings) -> None:
    """A published course that changed gets its search document rebuilt."""
    if event.type == "course.updated":
        course = await session.get(Course, event.data["course_id"])
        if course is not None and course.status == "published":
            await CourseRepository(session).index_for_search(course.id)


async def issue_certificate(
    session: AsyncSession, event: EventEnvelope, settings: Settings
) -> None:
    """A completed enrollment earns its certificate: start (or join) its workflow."""
    global _temporal
    if _temporal is None:
        _temporal = await connect(settings)
    await start_certificate_workflow(_temporal, settings, event.data["enrollment_id"])


_temporal: Client | None = None


@dataclass(frozen=True)
class Subscription:
    topics: list[str]
    handler: Handler
    # Other event types on these topics are skipped without a database round trip.
    event_types: frozenset[str]


__all__ = ["CONSUMERS", "Handler", "Poison", "Subscription", "required"]

CONSUMERS: dict[str, Subscription] = {
    "notification-consumer": Subscription(
        ["enrollment.events", "progress.events", "course.events"], notify, NOTIFIED
    ),
    "analytics-consumer": Subscription(["enrollment.events"], count, frozenset(COUNTERS)),
    "content-consumer": Subscription(["course.events"], reindex, frozenset({"course.updated"})),
    "certificate-consumer": Subscription(
        ["enrollment.events"], issue_certificate, frozenset({"enrollment.completed"})
    ),
}
