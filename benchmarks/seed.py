"""The load test's population: instructors, published courses with modules, lessons and quizzes,
and students with enrollments and some progress, written in bulk through the storage layer
with minted tokens (no registration, no login), plus the work file the locust users read.

Progress goes to stderr as counts. `python -m benchmarks.seed WORK_FILE` seeds the configured
database (e.g. the one `smartcourse up` runs on) so locust can be pointed at it by hand.
"""

import argparse
import asyncio
import json
import random
import sys
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from benchmarks.population import BATCH, mint_tokens, user_rows
from core.identity import Role
from core.settings import Settings, get_settings
from storage.db import Database
from storage.models.course import Course, Lesson, Module
from storage.models.enrollment import Enrollment, LessonCompletion, Notification, QuizAttempt
from storage.models.user import InstructorProfile, User
from storage.repositories.course import CourseRepository

# Course titles and search terms: a topic per category, so `q` finds a handful of courses.
TOPICS = {
    "programming": ("Python", "Rust", "JavaScript", "Go"),
    "data-science": ("Statistics", "SQL", "Pandas", "Forecasting"),
    "design": ("Typography", "Color", "Figma", "Layout"),
    "business": ("Marketing", "Negotiation", "Accounting", "Leadership"),
    "languages": ("Spanish", "Japanese", "German", "French"),
    "music": ("Guitar", "Piano", "Harmony", "Songwriting"),
    "mathematics": ("Algebra", "Calculus", "Probability", "Geometry"),
    "photography": ("Portraits", "Lighting", "Landscapes", "Editing"),
}
FORMATS = ("Essentials", "in Practice", "from Scratch", "Masterclass", "for Professionals")
LEVELS = ("beginner", "intermediate", "advanced")
QUESTIONS, CHOICES, PASS_SCORE = 3, 4, 60
COURSES_PER_INSTRUCTOR = 10
# Enrollments per course fall off with popularity rank as rank ** -POPULARITY (a long tail).
POPULARITY = 0.8
# Share of enrollments with lessons done; never all of them, as a finished course would wait
# for its certificate workflow, which seeding does not run.
PROGRESSED = 0.3
# Enrollments are up to ENROLLMENT_DAYS old, so every course was published before that.
ENROLLMENT_DAYS, CATALOG_AGE_DAYS = 90, 365


@dataclass(frozen=True)
class Shape:
    courses: int = 200
    students: int = 10_000
    enrollments: int = 50_000
    modules: int = 4
    # Lessons per module; the last one of each module is its quiz.
    lessons: int = 5
    seed: int = 42


@dataclass
class SeededCourse:
    id: int
    title: str
    category: str
    level: str
    enrolled: int
    lessons: list[int]
    # Quiz lesson id -> the answer key of each question.
    quizzes: dict[int, list[int]]


@dataclass
class SeededEnrollment:
    id: int
    course_id: int
    completed: list[int]


@dataclass
class SeededStudent:
    id: int
    token: str
    enrollments: list[SeededEnrollment] = field(default_factory=list)


@dataclass
class LoadPopulation:
    """What the seeder wrote; `write` makes it the locust users' work file."""

    courses: list[SeededCourse]
    instructors: list[str]
    students: list[SeededStudent]
    terms: list[str]
    seconds: float = 0.0

    def write(self, path: Path) -> Path:
        path.write_text(json.dumps(asdict(self)))
        return path


class ProgressLine:
    """Seeding counts on one line of `stream`, rewritten in place."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream = stream
        self.counts: dict[str, tuple[int, int]] = {}

    def update(self, name: str, done: int, total: int) -> None:
        self.counts[name] = (done, total)
        line = "  ".join(f"{n} {d:,}/{t:,}" for n, (d, t) in self.counts.items())
        self.stream.write(f"\rseeding: {line}")
        self.stream.flush()

    def finish(self, seconds: float) -> None:
        self.stream.write(f"  ({seconds:.1f} s)\n")
        self.stream.flush()


def plan_enrollments(shape: Shape, rng: random.Random) -> list[list[int]]:
    """The course indexes each student is enrolled in: exactly `shape.enrollments` pairs, one
    each first, the rest spread at random, courses drawn by popularity."""
    if shape.enrollments > shape.students * shape.courses:
        raise ValueError("more enrollments than student and course pairs")
    counts = [1 if n < shape.enrollments else 0 for n in range(shape.students)]
    extra = shape.enrollments - sum(counts)
    while extra:
        student = rng.randrange(shape.students)
        if counts[student] < shape.courses:
            counts[student] += 1
            extra -= 1
    weights = [(rank + 1) ** -POPULARITY for rank in range(shape.courses)]
    cumulative = [sum(weights[: n + 1]) for n in range(shape.courses)]
    indexes = range(shape.courses)
    plan = []
    for count in counts:
        chosen: set[int] = set()
        while len(chosen) < count:
            chosen.update(rng.choices(indexes, cum_weights=cumulative, k=count - len(chosen)))
        plan.append(sorted(chosen))
    return plan


def course_row(n: int, instructor_id: int, enrolled: int, rng: random.Random) -> dict[str, Any]:
    category = list(TOPICS)[n % len(TOPICS)]
    topic = TOPICS[category][n // len(TOPICS) % len(TOPICS[category])]
    title = f"{topic} {FORMATS[n // len(TOPICS) // len(TOPICS[category]) % len(FORMATS)]}"
    return {
        "instructor_id": instructor_id,
        "title": title,
        "description": f"{title}: a {category} course, from first steps to real projects.",
        "category": category,
        "level": LEVELS[n % len(LEVELS)],
        "status": "published",
        "enrolled_count": enrolled,
        "published_at": datetime.now(UTC)
        - timedelta(days=rng.uniform(ENROLLMENT_DAYS, CATALOG_AGE_DAYS)),
    }


def lesson_row(module: dict[str, Any], module_id: int, n: int, shape: Shape) -> dict[str, Any]:
    row = {
        "module_id": module_id,
        "course_id": module["course_id"],
        "title": f"{module['title']}, lesson {n + 1}",
        "position": n,
        "duration_minutes": 5 + 5 * (n % 3),
        "content": None,
        "quiz": None,
    }
    if n == shape.lessons - 1:
        questions = [
            {
                "prompt": f"Question {q + 1}",
                "choices": [f"Choice {c + 1}" for c in range(CHOICES)],
                "answer_index": (module["position"] + q) % CHOICES,
            }
            for q in range(QUESTIONS)
        ]
        return row | {"kind": "quiz", "quiz": {"pass_score": PASS_SCORE, "questions": questions}}
    return row | {"kind": "video" if n % 2 == 0 else "text", "content": "Lesson notes."}


async def inserted_ids(session: AsyncSession, model: type, rows: list[dict[str, Any]]) -> list[int]:
    """Bulk insert; the new ids in the order of `rows`."""
    statement = insert(model).returning(model.id, sort_by_parameter_order=True)
    return list(await session.scalars(statement, rows))


async def seed_instructors(db: Database, count: int, tag: str) -> list[int]:
    async with db.unit_of_work() as uow:
        rows = user_rows(tag, "instructor", 0, count)
        ids = list(await uow.session.scalars(insert(User).returning(User.id), rows))
        profiles = [{"user_id": i, "bio": "Teaches on SmartCourse.", "expertise": []} for i in ids]
        await uow.session.execute(insert(InstructorProfile), profiles)
        await uow.commit()
    return ids


async def seed_courses(
    db: Database, shape: Shape, instructors: list[int], plan: list[list[int]], rng: random.Random
) -> list[SeededCourse]:
    """Published courses with their structure and search index, in one transaction."""
    enrolled = Counter(course for courses in plan for course in courses)
    rows = [
        course_row(n, instructors[n % len(instructors)], enrolled[n], rng)
        for n in range(shape.courses)
    ]
    async with db.unit_of_work() as uow:
        ids = await inserted_ids(uow.session, Course, rows)
        modules = [
            {"course_id": course_id, "title": f"{row['title']}, part {m + 1}", "position": m}
            for course_id, row in zip(ids, rows, strict=True)
            for m in range(shape.modules)
        ]
        module_ids = await inserted_ids(uow.session, Module, modules)
        lessons = [
            lesson_row(module, module_id, n, shape)
            for module_id, module in zip(module_ids, modules, strict=True)
            for n in range(shape.lessons)
        ]
        lesson_ids = await inserted_ids(uow.session, Lesson, lessons)
        repo = CourseRepository(uow.session)
        for course_id in ids:
            await repo.index_for_search(course_id)
        await uow.commit()
    courses = {
        course_id: SeededCourse(
            course_id, row["title"], row["category"], row["level"], enrolled[n], [], {}
        )
        for n, (course_id, row) in enumerate(zip(ids, rows, strict=True))
    }
    for lesson_id, lesson in zip(lesson_ids, lessons, strict=True):
        course = courses[lesson["course_id"]]
        course.lessons.append(lesson_id)
        if lesson["quiz"]:
            course.quizzes[lesson_id] = [q["answer_index"] for q in lesson["quiz"]["questions"]]
    return list(courses.values())


async def seed_students(db: Database, count: int, tag: str, progress: ProgressLine) -> list[int]:
    ids: list[int] = []
    for start in range(0, count, BATCH):
        async with db.unit_of_work() as uow:
            rows = user_rows(tag, "student", start, min(start + BATCH, count))
            ids += await inserted_ids(uow.session, User, rows)
            await uow.commit()
        progress.update("students", len(ids), count)
    return ids


def progress_of(course: SeededCourse, rng: random.Random) -> list[int]:
    """The lessons done in one enrollment: none, or the first few in order."""
    most = len(course.lessons) // 2
    if not most or rng.random() >= PROGRESSED:
        return []
    return course.lessons[: rng.randint(1, most)]


def enrollment_row(
    student: SeededStudent,
    course: SeededCourse,
    done: list[int],
    now: datetime,
    rng: random.Random,
) -> dict[str, Any]:
    enrolled_at = now - timedelta(days=rng.uniform(0, ENROLLMENT_DAYS))
    seen = enrolled_at + (now - enrolled_at) * rng.random() if done else enrolled_at
    return {
        "student_id": student.id,
        "course_id": course.id,
        "status": "active",
        "enrolled_at": enrolled_at,
        "last_accessed_at": seen,
        "completion_percentage": round(100 * len(done) / len(course.lessons), 2),
    }


async def seed_enrollments(
    db: Database,
    courses: list[SeededCourse],
    students: list[SeededStudent],
    plan: list[list[int]],
    rng: random.Random,
    progress: ProgressLine,
) -> None:
    """Active enrollments with their lessons done, passed quizzes and welcome notifications,
    one transaction per batch of students."""
    total, written = sum(map(len, plan)), 0
    now = datetime.now(UTC)
    # About BATCH enrollments per transaction.
    step = BATCH // max(1, total // max(1, len(students)))
    for start in range(0, len(students), step):
        stop = start + step
        batch = [
            (student, courses[c], progress_of(courses[c], rng))
            for student, chosen in zip(students[start:stop], plan[start:stop], strict=True)
            for c in chosen
        ]
        rows = [enrollment_row(student, course, done, now, rng) for student, course, done in batch]
        async with db.unit_of_work() as uow:
            ids = await inserted_ids(uow.session, Enrollment, rows)
            await write_progress(uow.session, ids, rows, batch)
            await uow.commit()
        for enrollment_id, (student, course, done) in zip(ids, batch, strict=True):
            student.enrollments.append(SeededEnrollment(enrollment_id, course.id, done))
        written += len(rows)
        progress.update("enrollments", written, total)


async def write_progress(
    session: AsyncSession,
    ids: list[int],
    rows: list[dict[str, Any]],
    batch: list[tuple[SeededStudent, SeededCourse, list[int]]],
) -> None:
    """The new enrollments' completions, passed quiz attempts and welcome notifications."""
    completions, attempts, notices = [], [], []
    for enrollment_id, row, (student, course, done) in zip(ids, rows, batch, strict=True):
        at = row["last_accessed_at"]
        for lesson_id in done:
            completions.append(
                {"enrollment_id": enrollment_id, "lesson_id": lesson_id, "completed_at": at}
            )
            if lesson_id in course.quizzes:
                answers = course.quizzes[lesson_id]
                attempts.append(
                    {"enrollment_id": enrollment_id, "lesson_id": lesson_id, "attempt": 1}
                    | {"score": 100, "passed": True, "answers": answers, "submitted_at": at}
                )
        notices.append(
            {
                "user_id": student.id,
                "kind": "enrollment_welcome",
                "title": f"Welcome to {course.title}",
                "body": "You are enrolled. Start with the first lesson whenever you are ready.",
                "read": bool(done),
                "dedupe_key": f"enrollment.created:{enrollment_id}",
                "created_at": row["enrolled_at"],
            }
        )
    for model, values in (
        (LessonCompletion, completions),
        (QuizAttempt, attempts),
        (Notification, notices),
    ):
        if values:
            await session.execute(insert(model), values)


async def seed(
    settings: Settings, shape: Shape = Shape(), progress: ProgressLine | None = None
) -> LoadPopulation:
    """Seed `shape` into the settings' database; the population with every student's token."""
    started = time.monotonic()
    progress = progress or ProgressLine()
    rng = random.Random(shape.seed)
    tag = uuid.uuid4().hex[:12]
    plan = plan_enrollments(shape, rng)
    db = Database(settings)
    try:
        instructor_count = max(1, shape.courses // COURSES_PER_INSTRUCTOR)
        instructors = await seed_instructors(db, instructor_count, tag)
        courses = await seed_courses(db, shape, instructors, plan, rng)
        progress.update("courses", len(courses), shape.courses)
        student_ids = await seed_students(db, shape.students, tag, progress)
        tokens = mint_tokens(settings, student_ids, Role.STUDENT)
        students = [SeededStudent(i, t) for i, t in zip(student_ids, tokens, strict=True)]
        await seed_enrollments(db, courses, students, plan, rng, progress)
    finally:
        await db.dispose()
    seconds = time.monotonic() - started
    progress.finish(seconds)
    terms = sorted({topic.lower() for topics in TOPICS.values() for topic in topics})
    instructor_tokens = mint_tokens(settings, instructors, Role.INSTRUCTOR)
    return LoadPopulation(courses, instructor_tokens, students, terms, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work_file", type=Path)
    for name, default in asdict(Shape()).items():
        parser.add_argument(f"--{name}", type=int, default=default)
    args = vars(parser.parse_args())
    work_file = args.pop("work_file")
    asyncio.run(seed(get_settings(), Shape(**args))).write(work_file)


if __name__ == "__main__":
    main()
