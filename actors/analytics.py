"""The analytics consumer's handler: user, course, enrollment and progress events move the
seed's counters (5.7) in `analytics_metrics`, per day and course (0 is the whole platform),
and record who was active on which day. It runs in the transaction that marks the events
processed, so a redelivered event counts once. A poll's events are added up per day and course
first: one upsert of counters and one insert of active learners, however many events.

Derived figures are not published anywhere: /analytics reads these rows, and nothing consumes
an `analytics.events` topic (the topic is gone; publishing into it would be a write per event
for no reader, and a loop hazard for a consumer that reads every topic).
"""

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime

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


def completion_seconds(enrolled_at: datetime | None, data: dict) -> int:
    completed = datetime.fromisoformat(data["completed_at"])
    return max(0, round((completed - required(enrolled_at, "the enrollment")).total_seconds()))


async def record(uow: UnitOfWork, events: Sequence[EventEnvelope], _: Collaborators) -> None:
    """Move the counters `events` move."""
    completed = [e.data["enrollment_id"] for e in events if e.type == "enrollment.completed"]
    enrolled_at = await EnrollmentRepository(uow.session).enrolled_at(completed)
    moves: defaultdict[tuple[date, int], Counter[str]] = defaultdict(Counter)
    active: set[tuple[date, int, int]] = set()
    for event in events:
        data, day = event.data, event.time.astimezone(UTC).date()
        if event.type == "user.registered":
            if counter := ROLE_COUNTERS.get(data["role"]):
                moves[day, PLATFORM][counter] += 1
            continue
        amounts = {COUNTERS[event.type]: 1}
        if event.type == "enrollment.completed":
            seconds = completion_seconds(enrolled_at.get(data["enrollment_id"]), data)
            amounts["completion_seconds"] = seconds
        for course_id in (data["course_id"], PLATFORM):
            moves[day, course_id].update(amounts)
            if event.type == "progress.updated":
                active.add((day, course_id, data["student_id"]))
    counters = AnalyticsRepository(uow.session)
    for day in sorted({day for day, _ in moves}):
        await counters.ensure_month(day)
    await counters.bump(moves)
    await counters.add_active(active)
