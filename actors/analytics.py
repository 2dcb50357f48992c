"""The analytics consumer's handler: user, course, enrollment and progress events move the
seed's counters (5.7) in `analytics_metrics`, per day and course (0 is the whole platform),
and record who was active on which day. It runs in the transaction that marks the event
processed, so a redelivered event counts once.

Derived figures are not published anywhere: /analytics reads these rows, and nothing consumes
an `analytics.events` topic (the topic is gone; publishing into it would be a write per event
for no reader, and a loop hazard for a consumer that reads every topic).
"""

from datetime import UTC, date, datetime

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from actors.poison import required
from core.events import EventEnvelope
from core.settings import Settings
from storage.models.enrollment import Enrollment
from storage.models.events import ActiveLearner, AnalyticsDaily

PLATFORM = 0
# Event type → the counter it moves; user.registered picks its counter by role.
COUNTERS = {
    "course.published": "courses_published",
    "course.archived": "courses_archived",
    "enrollment.created": "new_enrollments",
    "enrollment.completed": "completions",
    "enrollment.dropped": "drops",
    "progress.updated": "lessons_completed",
}
ROLE_COUNTERS = {"student": "new_students", "instructor": "new_instructors"}
COUNTED = frozenset({*COUNTERS, "user.registered"})


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


async def bump(
    session: AsyncSession, day: date, course_ids: tuple[int, ...], amounts: dict[str, int]
) -> None:
    """Add `amounts` to the counters of `day` for each course id."""
    for course_id in course_ids:
        statement = insert(AnalyticsDaily).values(day=day, course_id=course_id, **amounts)
        statement = statement.on_conflict_do_update(
            index_elements=["day", "course_id"],
            set_={name: getattr(AnalyticsDaily, name) + value for name, value in amounts.items()},
        )
        await session.execute(statement)


async def completion_seconds(session: AsyncSession, data: dict) -> int:
    enrollment = required(await session.get(Enrollment, data["enrollment_id"]), "the enrollment")
    completed = datetime.fromisoformat(data["completed_at"])
    return max(0, round((completed - enrollment.enrolled_at).total_seconds()))


async def active(session: AsyncSession, day: date, data: dict) -> None:
    rows = [
        {"day": day, "course_id": course_id, "student_id": data["student_id"]}
        for course_id in (data["course_id"], PLATFORM)
    ]
    await session.execute(insert(ActiveLearner).values(rows).on_conflict_do_nothing())


async def record(session: AsyncSession, event: EventEnvelope, settings: Settings) -> None:
    """Move the counters `event` moves."""
    data, day = event.data, event.time.astimezone(UTC).date()
    await ensure_month(session, day)
    if event.type == "user.registered":
        counter = ROLE_COUNTERS.get(data["role"])
        if counter is not None:
            await bump(session, day, (PLATFORM,), {counter: 1})
        return
    amounts = {COUNTERS[event.type]: 1}
    if event.type == "enrollment.completed":
        amounts["completion_seconds"] = await completion_seconds(session, data)
    await bump(session, day, (data["course_id"], PLATFORM), amounts)
    if event.type == "progress.updated":
        await active(session, day, data)
