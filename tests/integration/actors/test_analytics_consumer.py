"""The analytics consumer's handler on real PostgreSQL: each counted event type moves its
figure, per course and for the platform, and active learners are distinct per day."""

from datetime import UTC, datetime, timedelta

from actors.analytics import record
from actors.collaborators import Collaborators
from core.events import (
    CourseData,
    EnrollmentCompletedData,
    EnrollmentData,
    ProgressUpdatedData,
    UserRegisteredData,
    make_event,
)
from core.settings import Settings
from storage.db import Database
from storage.models.enrollment import Enrollment
from storage.repositories.analytics import PLATFORM, AnalyticsRepository
from tests.integration.certificate_rows import completed_enrollment


async def apply(db: Database, settings: Settings, *events) -> None:
    async with db.unit_of_work() as uow:
        await record(uow, events, Collaborators.open(settings))
        await uow.commit()


async def totals(db: Database, course_id: int) -> dict[str, int]:
    async with db.unit_of_work() as uow:
        return await AnalyticsRepository(uow.session).totals(course_id)


async def test_each_counted_event_moves_its_figure(db: Database, database: Settings) -> None:
    enrollment_id = await completed_enrollment(db, "Grace Hopper")
    async with db.unit_of_work() as uow:
        enrollment = await uow.session.get(Enrollment, enrollment_id)
    ids = {
        "enrollment_id": enrollment_id,
        "student_id": enrollment.student_id,
        "course_id": enrollment.course_id,
    }
    course = CourseData(course_id=enrollment.course_id, instructor_id=1, title="T")
    platform_before = await totals(db, PLATFORM)
    done_at = enrollment.enrolled_at + timedelta(hours=2)
    lesson = ProgressUpdatedData(**ids, lesson_id=1, completion_percentage=50.0)
    await apply(
        db,
        database,
        make_event("user.registered", "1", UserRegisteredData(user_id=1, role="student"), "t"),
        make_event("course.published", "c", course, "t"),
        make_event("enrollment.created", "e", EnrollmentData(**ids), "t"),
        make_event("progress.updated", "e", lesson, "t"),
        make_event("progress.updated", "e", lesson.model_copy(update={"lesson_id": 2}), "t"),
        make_event(
            "enrollment.completed", "e", EnrollmentCompletedData(**ids, completed_at=done_at), "t"
        ),
    )
    mine = await totals(db, enrollment.course_id)
    assert (mine["new_enrollments"], mine["completions"], mine["lessons_completed"]) == (1, 1, 2)
    assert mine["courses_published"] == 1 and mine["completion_seconds"] == 2 * 3600
    platform = await totals(db, PLATFORM)
    assert platform["new_students"] == platform_before["new_students"] + 1
    async with db.unit_of_work() as uow:
        analytics = AnalyticsRepository(uow.session)
        figures = await analytics.course(enrollment.course_id)
        today = datetime.now(UTC).date()
        daily = await analytics.course_daily(enrollment.course_id, today - timedelta(days=1))
    assert figures["avg_time_to_complete_hours"] == 2.0 and figures["active"] == 0
    assert daily[-1]["active_learners"] == 1 and daily[-1]["lessons_completed"] == 2


async def test_a_poll_of_more_rows_than_a_statement_takes_counts_every_one(
    db: Database, database: Settings
) -> None:
    """SQLAlchemy sends the counter rows a thousand to a statement (below asyncpg's parameter
    limit): a poll touching more courses than that still moves each course once."""
    courses = range(3_000_000_000, 3_000_000_000 + 2_001)
    lessons = [
        ProgressUpdatedData(
            enrollment_id=1, student_id=7, course_id=course, lesson_id=1, completion_percentage=10
        )
        for course in courses
    ]
    platform_before = await totals(db, PLATFORM)
    await apply(db, database, *(make_event("progress.updated", "e", d, "t") for d in lessons))
    platform = await totals(db, PLATFORM)
    assert platform["lessons_completed"] == platform_before["lessons_completed"] + len(courses)
    sample = courses[::500]
    assert {(await totals(db, course))["lessons_completed"] for course in sample} == {1}
    async with db.unit_of_work() as uow:
        since = datetime.now(UTC).date() - timedelta(days=1)
        active = {await AnalyticsRepository(uow.session).active_learners(c, since) for c in sample}
    assert active == {1}
