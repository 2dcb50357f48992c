"""What each consumer group does with an event, inside the transaction that also records the
event as processed (so a redelivered event has no second effect)."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from core.emails import EmailRequest
from core.events import EventEnvelope
from core.settings import Settings
from storage.models.course import Course, Module
from storage.models.events import AnalyticsDaily
from storage.models.user import User
from storage.repositories.course import CourseRepository
from storage.repositories.notification import NewNotification, NotificationRepository
from workflows.certificates import start_certificate_workflow
from workflows.client import connect
from workflows.tasks.email import enqueue_email_async

T = TypeVar("T")


class Poison(Exception):
    """An event that cannot be handled, however often it is retried (it does not parse, or the
    rows it names do not exist: the outbox commits rows before their events)."""


def required(row: T | None, what: str) -> T:
    if row is None:
        raise Poison(f"{what} does not exist")
    return row


Handler = Callable[[AsyncSession, EventEnvelope, Settings], Awaitable[None]]


async def notify(session: AsyncSession, event: EventEnvelope, settings: Settings) -> None:
    """The in-app notification of an event and, for welcome and module emails, its email (the
    certificate's email is the certificate workflow's own step)."""
    data, kind = event.data, event.type
    email: dict[str, str] | None = None
    if kind == "enrollment.created":
        course = required(await session.get(Course, data["course_id"]), "the course")
        notice = NewNotification(
            user_id=data["student_id"],
            kind="enrollment_welcome",
            title=f"Welcome to {course.title}",
            body="You are enrolled. Start with the first lesson whenever you are ready.",
            dedupe_key=f"enrollment.created:{data['enrollment_id']}",
        )
        email = {"course_title": course.title}
    elif kind == "enrollment.waitlist_admitted":
        course = required(await session.get(Course, data["course_id"]), "the course")
        notice = NewNotification(
            user_id=data["student_id"],
            kind="waitlist_admitted",
            title=f"A seat opened in {course.title}",
            body="You are off the waitlist and enrolled.",
            dedupe_key=f"waitlist_admitted:{data['enrollment_id']}",
        )
    elif kind == "progress.module_completed":
        module = required(await session.get(Module, data["module_id"]), "the module")
        course = required(await session.get(Course, data["course_id"]), "the course")
        notice = NewNotification(
            user_id=data["student_id"],
            kind="module_completed",
            title=f"Module complete: {module.title}",
            body="Well done. The next module is waiting for you.",
            dedupe_key=f"module_completed:{data['enrollment_id']}:{data['module_id']}",
        )
        email = {"course_title": course.title, "module_title": module.title}
    else:
        notice = NewNotification(
            user_id=data["student_id"],
            kind="certificate_ready",
            title="Your certificate is ready",
            body=f"Verification code {data['verification_code']}.",
            dedupe_key=f"certificate.issued:{data['certificate_id']}",
        )
    await NotificationRepository(session).add([notice])
    if email is not None:
        student = required(await session.get(User, notice.user_id), "the student")
        request = EmailRequest(
            kind=notice.kind,
            to=student.email,
            name=student.full_name,
            context=email,
            dedupe_key=notice.dedupe_key,
        )
        # The email task sends once per dedupe key, so a redelivered event mails once.
        await enqueue_email_async(settings, request)


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

NOTIFIED = {
    "enrollment.created",
    "enrollment.waitlist_admitted",
    "progress.module_completed",
    "certificate.issued",
}


@dataclass(frozen=True)
class Subscription:
    topics: list[str]
    handler: Handler
    # Other event types on these topics are skipped without a database round trip.
    event_types: frozenset[str]


CONSUMERS: dict[str, Subscription] = {
    "notification-consumer": Subscription(
        ["enrollment.events", "progress.events"], notify, frozenset(NOTIFIED)
    ),
    "analytics-consumer": Subscription(["enrollment.events"], count, frozenset(COUNTERS)),
    "content-consumer": Subscription(["course.events"], reindex, frozenset({"course.updated"})),
    "certificate-consumer": Subscription(
        ["enrollment.events"], issue_certificate, frozenset({"enrollment.completed"})
    ),
}
