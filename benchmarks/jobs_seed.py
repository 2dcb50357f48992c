"""The jobs benchmark's data: N lesson completions and the enrollments, students, courses and
instructors behind them, written with COPY (storage/bulk.py) into a database of its own.

Shape, for N completions: 100 courses of 2 modules x 5 lessons (20 instructors, 5 courses
each); N / 5 enrollments, each with 0..10 of its course's lessons done in course order (a
cycle, so 5 on average), `completed` when all 10 are, else active, dropped or pending;
students take 10 courses each. Ids are given explicitly (the database is new), so rows link
without reading anything back. Everything is deterministic: the same N, the same rows.
"""

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.settings import Settings
from storage.bulk import BulkLoader

COURSES, INSTRUCTORS, MODULES, LESSONS_PER_MODULE = 100, 20, 2, 5
LESSONS = MODULES * LESSONS_PER_MODULE
COURSES_PER_STUDENT = 10
T0 = datetime(2025, 1, 1, tzinfo=UTC)
DAYS = 90
# Enrollment i has DONE[i % 11] lessons done: 0..10, 5 on average.
DONE = tuple(range(LESSONS + 1))


@dataclass(frozen=True)
class Shape:
    completions: int

    @property
    def enrollments(self) -> int:
        return max(COURSES, math.ceil(self.completions * len(DONE) / sum(DONE)))

    @property
    def students(self) -> int:
        return math.ceil(self.enrollments / COURSES_PER_STUDENT)


def lesson_id(course: int, step: int) -> int:
    """Lesson ids are 1 + course index x 10 + step in course order."""
    return 1 + course * LESSONS + step


def course_of(enrollment: int) -> int:
    """A student's 10 courses are distinct: (student + 10 j) mod 100 for j = 0..9."""
    student, j = divmod(enrollment, COURSES_PER_STUDENT)
    return (student + j * (COURSES // COURSES_PER_STUDENT)) % COURSES


def users(shape: Shape) -> Iterator[tuple]:
    for n in range(1, INSTRUCTORS + 1):
        yield (n, f"bench-i{n}@example.com", "!", f"Instructor {n}", "instructor")
    for s in range(shape.students):
        uid = INSTRUCTORS + 1 + s
        yield (uid, f"bench-s{uid}@example.com", "!", f"Student {uid}", "student")


def enrollments(shape: Shape) -> Iterator[tuple]:
    enrolled = [T0 + timedelta(days=d) for d in range(DAYS)]
    for i in range(shape.enrollments):
        done = DONE[i % len(DONE)]
        at = enrolled[i % DAYS]
        if done == LESSONS:
            status, completed, dropped = "completed", at + timedelta(hours=5 + i % 200), None
        elif done == 0 and i % 2:
            status, completed, dropped = "pending", None, None
        elif i % 3 == 0:
            status, completed, dropped = "dropped", None, at + timedelta(days=1)
        else:
            status, completed, dropped = "active", None, None
        student = INSTRUCTORS + 1 + i // COURSES_PER_STUDENT
        yield (i + 1, student, course_of(i) + 1, status, at, completed, dropped, done * 10.0)


def completions(shape: Shape) -> Iterator[tuple]:
    enrolled = [T0 + timedelta(days=d) for d in range(DAYS)]
    steps = [timedelta(hours=step + 1) for step in range(LESSONS)]
    for i in range(shape.enrollments):
        course, at = course_of(i), enrolled[i % DAYS]
        for step in range(DONE[i % len(DONE)]):
            yield (i + 1, lesson_id(course, step), at + steps[step])


async def seed_catalogue(loader: BulkLoader) -> None:
    courses = [
        (c + 1, 1 + c % INSTRUCTORS, f"Course {c + 1}", "-", "bench", "beginner", "published", T0)
        for c in range(COURSES)
    ]
    course_columns = ("id", "instructor_id", "title", "description", "category", "level")
    await loader.copy("courses", (*course_columns, "status", "published_at"), courses)
    modules = [
        (c * MODULES + m + 1, c + 1, f"Module {m + 1}", m + 1)
        for c in range(COURSES)
        for m in range(MODULES)
    ]
    await loader.copy("modules", ("id", "course_id", "title", "position"), modules)
    lessons = [
        (
            lesson_id(c, step),
            c * MODULES + step // LESSONS_PER_MODULE + 1,
            c + 1,
            f"Lesson {step + 1}",
            "text",
            step % LESSONS_PER_MODULE + 1,
        )
        for c in range(COURSES)
        for step in range(LESSONS)
    ]
    columns = ("id", "module_id", "course_id", "title", "kind", "position")
    await loader.copy("lessons", columns, lessons)


async def seed(settings: Settings, shape: Shape) -> int:
    """Seed an empty, migrated database; returns the completions written."""
    async with BulkLoader(settings, trusted=True) as loader:
        user_columns = ("id", "email", "password_hash", "full_name", "role")
        await loader.copy("users", user_columns, users(shape))
        await seed_catalogue(loader)
        columns = ("id", "student_id", "course_id", "status", "enrolled_at", "completed_at")
        columns += ("dropped_at", "completion_percentage")
        await loader.copy("enrollments", columns, enrollments(shape))
        written = await loader.copy(
            "lesson_completions", ("enrollment_id", "lesson_id", "completed_at"), completions(shape)
        )
        await loader.analyze("users", "courses", "modules", "lessons", "enrollments")
        await loader.analyze("lesson_completions")
    return written
