"""The analytics consumer's handler: user, course, enrollment and progress events move the
seed's counters (5.7) in `analytics_metrics`, per day and course (0 is the whole platform),
and record who was active on which day. It runs in the transaction that marks the event
processed, so a redelivered event counts once.

Derived figures are not published anywhere: /analytics reads these rows, and nothing consumes
an `analytics.events` topic (the topic is gone; publishing into it would be a write per event
for no reader, and a loop hazard for a consumer that reads every topic).
"""

from datetime import UTC, datetime

from actors.collaborators import Collaborators
from actors.poison import required
from core.events import EventEnvelope
from storage.db import UnitOfWork
from storage.repositories.analytics import PLATFORM, AnalyticsRepository
from storage.repositories.enrollment import EnrollmentRepository

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


async def completion_seconds(uow: UnitOfWork, data: dict) -> int:
    enrolled_at = await EnrollmentRepository(uow.session).enrolled_at(data["enrollment_id"])
    completed = datetime.fromisoformat(data["completed_at"])
    return max(0, round((completed - required(enrolled_at, "the enrollment")).total_seconds()))


async def record(uow: UnitOfWork, event: EventEnvelope, _: Collaborators) -> None:
    """Move the counters `event` moves."""
    data, day = event.data, event.time.astimezone(UTC).date()
    counters = AnalyticsRepository(uow.session)
    await counters.ensure_month(day)
    if event.type == "user.registered":
        counter = ROLE_COUNTERS.get(data["role"])
        if counter is not None:
            await counters.bump(day, (PLATFORM,), {counter: 1})
        return
    amounts = {COUNTERS[event.type]: 1}
    if event.type == "enrollment.completed":
        amounts["completion_seconds"] = await completion_seconds(uow, data)
    await counters.bump(day, (data["course_id"], PLATFORM), amounts)
    if event.type == "progress.updated":
        await counters.add_active(day, (data["course_id"], PLATFORM), data["student_id"])
