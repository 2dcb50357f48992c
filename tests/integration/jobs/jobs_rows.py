"""The rows the jobs tests seed (see tests/integration/jobs/test_jobs.py for the plan) and the
event history that would have produced them."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from core.events import (
    EnrollmentCompletedData,
    EnrollmentData,
    EventEnvelope,
    ProgressUpdatedData,
    make_event,
)
from storage.db import Database
from storage.models.course import Course, Lesson, Module
from storage.models.enrollment import Enrollment, LessonCompletion
from storage.models.user import User

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


@dataclass
class Seed:
    instructors: dict[str, int]
    courses: dict[str, int]
    lessons: dict[str, int]
    enrollments: dict[str, int]
    students: dict[str, int]
    # enrollment name -> (course, status, hours to complete or None, lessons done)
    plan: dict[str, tuple[str, str, float | None, list[str]]]


PLAN: dict[str, tuple[str, str, float | None, list[str]]] = {
    "e1": ("A", "completed", 10, ["a1", "a2", "a3"]),
    "e2": ("A", "completed", 20, ["a1", "a2", "a3"]),
    "e3": ("A", "completed", 30, ["a1", "a2", "a3"]),
    "e4": ("A", "active", None, ["a1", "a2"]),
    "e5": ("A", "dropped", None, ["a1"]),
    "e6": ("A", "active", None, ["a1", "a3"]),
    "e7": ("A", "pending", None, []),
    "f1": ("B", "completed", 5, ["b1", "b2", "b3"]),
    "f2": ("B", "active", None, ["b2"]),
    "f3": ("B", "active", None, ["b1"]),
    "f4": ("B", "dropped", None, ["b2", "b1"]),
    "g1": ("C", "completed", 2, ["c1"]),
    "g2": ("C", "active", None, []),
}
# course -> modules as (title, position, [(lesson, position)]), in insertion order.
OUTLINE = {
    "A": [("Basics", 1, [("a1", 1), ("a2", 2)]), ("Advanced", 2, [("a3", 1)])],
    "B": [("Second", 2, [("b3", 1)]), ("First", 1, [("b1", 2), ("b2", 1)])],
    "C": [("Gone", 0, [("cg", 1)]), ("Only", 1, [("c0", 0), ("c1", 1)])],
}
# Removed by a revision (marked, as the system does): no job counts them as part of course C.
REMOVED = {"Gone", "c0"}
OWNERS = {"A": ("I1", "published"), "B": ("I2", "published"), "C": ("I1", "archived")}


async def add_user(db: Database, name: str, role: str) -> int:
    async with db.unit_of_work() as uow:
        user_id = await uow.session.scalar(
            insert(User)
            .values(
                email=f"jobs-{uuid.uuid4().hex}@example.com",
                password_hash="x",
                full_name=name,
                role=role,
            )
            .returning(User.id)
        )
        await uow.commit()
    return user_id


async def add_course(db: Database, name: str, owner: int, status: str) -> tuple[int, dict]:
    lessons: dict[str, int] = {}
    async with db.unit_of_work() as uow:
        session = uow.session
        course_id = await session.scalar(
            insert(Course)
            .values(
                title=f"Course {name}",
                description="-",
                category="jobs",
                level="beginner",
                instructor_id=owner,
                status=status,
                published_at=T0,
            )
            .returning(Course.id)
        )
        for title, position, members in OUTLINE[name]:
            module_id = await session.scalar(
                insert(Module)
                .values(
                    course_id=course_id,
                    title=title,
                    position=position,
                    deleted_at=T0 if title in REMOVED else None,
                )
                .returning(Module.id)
            )
            for lesson, lesson_position in members:
                lessons[lesson] = await session.scalar(
                    insert(Lesson)
                    .values(
                        module_id=module_id,
                        course_id=course_id,
                        title=f"Lesson {lesson}",
                        kind="text",
                        position=lesson_position,
                        deleted_at=T0 if lesson in REMOVED else None,
                    )
                    .returning(Lesson.id)
                )
        await uow.commit()
    return course_id, lessons


async def add_enrollment(
    db: Database, student: int, course: int, plan: tuple, lessons: dict[str, int]
) -> int:
    _, status, hours, done = plan
    completed_at = T0 + timedelta(hours=hours) if hours is not None else None
    async with db.unit_of_work() as uow:
        enrollment_id = await uow.session.scalar(
            insert(Enrollment)
            .values(
                student_id=student,
                course_id=course,
                status=status,
                enrolled_at=T0,
                completed_at=completed_at,
                dropped_at=T0 + timedelta(hours=1) if status == "dropped" else None,
            )
            .returning(Enrollment.id)
        )
        for step, lesson in enumerate(done):
            await uow.session.execute(
                insert(LessonCompletion).values(
                    enrollment_id=enrollment_id,
                    lesson_id=lessons[lesson],
                    completed_at=T0 + timedelta(minutes=step + 1),
                )
            )
        await uow.commit()
    return enrollment_id


def student_of(enrollment: str) -> str:
    """Students take several courses: e1..e7 are S1..S7, f1..f4 are S1..S4, g1, g2 are S5, S6."""
    number = int(enrollment[1:])
    return f"S{number + 4 if enrollment[0] == 'g' else number}"


def history(seed: Seed, courses: tuple[str, ...] = ("A", "B", "C")) -> list[EventEnvelope]:
    """The events of the seeded enrollments of `courses`: created, a progress event per lesson
    done, then completed or dropped, each at the time the database row says."""
    events = []
    for name, (course, status, hours, done) in seed.plan.items():
        if course not in courses:
            continue
        ids = EnrollmentData(
            enrollment_id=seed.enrollments[name],
            student_id=seed.students[student_of(name)],
            course_id=seed.courses[course],
        )
        timed = [(make_event("enrollment.created", name, ids, "test"), T0)]
        for step, lesson in enumerate(done):
            data = ProgressUpdatedData(
                **ids.model_dump(), lesson_id=seed.lessons[lesson], completion_percentage=0
            )
            at = T0 + timedelta(minutes=step + 1)
            timed.append((make_event("progress.updated", name, data, "test"), at))
        if hours is not None:
            finished = T0 + timedelta(hours=hours)
            data = EnrollmentCompletedData(**ids.model_dump(), completed_at=finished)
            timed.append((make_event("enrollment.completed", name, data, "test"), finished))
        if status == "dropped":
            timed.append((make_event("enrollment.dropped", name, ids, "test"), T0))
        events += [event.model_copy(update={"time": at}) for event, at in timed]
    return events
