"""The Ray Data analytics jobs against a seeded PostgreSQL database, with answers worked out
by hand; the database is shared with other tests, so each check looks at the rows seeded here.

Seed (hours are from enrollment to completion; lessons in course order):
- course A (instructor I1, published): module 1 = a1, a2; module 2 = a3.
  e1, e2, e3 completed everything in 10, 20, 30 h; e4 active with a1, a2; e5 dropped with a1;
  e6 active with a1, a3; e7 pending with nothing.
- course B (I2, published), modules inserted out of order: "First" (position 1) = b2 (1), b1 (2);
  "Second" (position 2) = b3. f1 completed all in 5 h; f2 active with b2; f3 active with b1;
  f4 dropped with b2, b1.
- course C (I1, archived): one module = c1. g1 completed c1 in 2 h; g2 active with nothing.
- instructor I3 has no courses.
"""

import argparse
import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import ray
from sqlalchemy import insert

from core.events import (
    EnrollmentCompletedData,
    EnrollmentData,
    ProgressUpdatedData,
    make_event,
)
from core.settings import Settings
from jobs import JOBS, run_job
from jobs.runner import run_from_arguments
from serve import cli
from storage import migrate
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
    "C": [("Only", 1, [("c1", 1)])],
}
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
                .values(course_id=course_id, title=title, position=position)
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


@pytest.fixture(scope="module")
async def seed(db: Database) -> Seed:
    instructors = {
        "I1": await add_user(db, "Jobs I1", "instructor"),
        "I2": await add_user(db, "Jobs I2", "instructor"),
        "I3": await add_user(db, "Jobs I3", "instructor"),
    }
    courses, lessons = {}, {}
    for name, (owner, status) in OWNERS.items():
        courses[name], course_lessons = await add_course(db, name, instructors[owner], status)
        lessons |= course_lessons
    students = {f"S{i}": await add_user(db, f"Student {i}", "student") for i in range(1, 8)}
    enrollments = {}
    for name, plan in PLAN.items():
        student = students[student_of(name)]
        enrollments[name] = await add_enrollment(db, student, courses[plan[0]], plan, lessons)
    return Seed(instructors, courses, lessons, enrollments, students, PLAN)


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """A small local Ray, or the one another fixture of this session already started."""
    if ray.is_initialized():
        yield
        return
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def outputs(
    database: Settings, seed: Seed, local_ray: None, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, pd.DataFrame]:
    """Every job, run the way an operator runs it: `smartcourse job run NAME --out DIR`."""
    out = tmp_path_factory.mktemp("jobs")
    tables = {}
    for name in JOBS:
        assert cli.main(["job", "run", name, "--out", str(out)]) == 0
        for suffix in ("parquet", "md", "png"):
            assert (out / f"{name}.{suffix}").stat().st_size > 0
        tables[name] = pd.read_parquet(out / f"{name}.parquet")
        # Every report says which dates its data covers (the seed's enrollments are all at T0).
        assert f"Data: enrollments {T0:%Y-%m-%d} to " in (out / f"{name}.md").read_text()
    return tables


def ours(table: pd.DataFrame, seed: Seed) -> dict[str, pd.DataFrame]:
    """The rows of each seeded course, by course name."""
    return {name: table[table.course_id == cid] for name, cid in seed.courses.items()}


def test_funnel_counts_each_step_per_course_and_module(
    outputs: dict[str, pd.DataFrame], seed: Seed
) -> None:
    by_course = ours(outputs["funnel"], seed)
    stages = {
        name: list(zip(rows.stage, rows["count"], strict=True)) for name, rows in by_course.items()
    }
    assert stages == {
        "A": [
            ("enrolled", 7),
            ("started", 6),
            ("module 1: Basics", 4),
            ("module 2: Advanced", 4),
            ("completed", 3),
        ],
        "B": [
            ("enrolled", 4),
            ("started", 4),
            ("module 1: First", 2),
            ("module 2: Second", 1),
            ("completed", 1),
        ],
        "C": [("enrolled", 2), ("started", 1), ("module 1: Only", 1), ("completed", 1)],
    }
    assert by_course["A"].share_of_enrolled.iloc[-1] == pytest.approx(3 / 7)


def test_time_to_complete_reports_hours_per_course(
    outputs: dict[str, pd.DataFrame], seed: Seed
) -> None:
    columns = ["completed", "mean_hours", "p50_hours", "p90_hours", "min_hours", "max_hours"]
    stats = {
        name: rows[columns].iloc[0].tolist()
        for name, rows in ours(outputs["time_to_complete"], seed).items()
    }
    assert stats == {
        "A": pytest.approx([3, 20.0, 20.0, 28.0, 10.0, 30.0]),
        "B": pytest.approx([1, 5.0, 5.0, 5.0, 5.0, 5.0]),
        "C": pytest.approx([1, 2.0, 2.0, 2.0, 2.0, 2.0]),
    }


def test_dropoff_finds_the_first_missing_lesson_most_stop_at(
    outputs: dict[str, pd.DataFrame], seed: Seed
) -> None:
    lesson_names = {lesson_id: name for name, lesson_id in seed.lessons.items()}
    found = {
        name: (lesson_names[int(row.lesson_id)], row.stuck, row.open_enrollments)
        for name, rows in ours(outputs["dropoff"], seed).items()
        for row in rows.itertuples()
    }
    # A: a2 holds e5 and e6, a3 holds e4, a1 holds e7. B: one each on b2, b1, b3; the tie
    # goes to b2, first in course order. C: g2 never started.
    assert found == {"A": ("a2", 2, 4), "B": ("b2", 1, 3), "C": ("c1", 1, 1)}


def test_leaderboard_ranks_by_completions_then_enrollments(
    outputs: dict[str, pd.DataFrame], seed: Seed
) -> None:
    board = outputs["leaderboard"]
    names = {uid: name for name, uid in seed.instructors.items()}
    mine = board[board.instructor_id.isin(names)].sort_values("rank")
    rows = [
        (
            names[row.instructor_id],
            row.published_courses,
            row.courses,
            row.enrollments,
            row.completions,
            round(row.completion_rate, 4),
        )
        for row in mine.itertuples()
    ]
    assert rows == [
        ("I1", 1, 2, 9, 4, round(4 / 9, 4)),
        ("I2", 1, 1, 4, 1, 0.25),
        ("I3", 0, 0, 0, 0, 0.0),
    ]
    assert list(board["rank"]) == list(range(1, len(board) + 1))


def write_archive(folder: Path, seed: Seed) -> None:
    """Course A's history as events: created, progress, completed/dropped; one event is
    delivered twice and one line is not an event at all."""
    lines = ["not json"]
    for name, (course, status, hours, done) in seed.plan.items():
        if course != "A":
            continue
        ids = EnrollmentData(
            enrollment_id=seed.enrollments[name],
            student_id=seed.students[student_of(name)],
            course_id=seed.courses["A"],
        )
        events = [(make_event("enrollment.created", name, ids, "test"), T0)]
        for step, lesson in enumerate(done):
            data = ProgressUpdatedData(
                **ids.model_dump(), lesson_id=seed.lessons[lesson], completion_percentage=0
            )
            at = T0 + timedelta(minutes=step + 1)
            events.append((make_event("progress.updated", name, data, "test"), at))
        if hours is not None:
            finished = T0 + timedelta(hours=hours)
            data = EnrollmentCompletedData(**ids.model_dump(), completed_at=finished)
            events.append((make_event("enrollment.completed", name, data, "test"), finished))
        if status == "dropped":
            events.append((make_event("enrollment.dropped", name, ids, "test"), T0))
        lines += [event.model_copy(update={"time": at}).model_dump_json() for event, at in events]
    lines.append(lines[-1])
    (folder / "part-0.jsonl").write_text("\n".join(lines) + "\n")


def test_funnel_and_time_to_complete_read_an_event_archive(
    database: Settings, seed: Seed, local_ray: None, tmp_path: Path
) -> None:
    archive = tmp_path / "events"
    archive.mkdir()
    write_archive(archive, seed)
    out = tmp_path / "out"
    funnel = pd.read_parquet(run_job("funnel", database, out, events=archive).path)
    times = pd.read_parquet(run_job("time_to_complete", database, out, events=archive).path)
    assert set(funnel.course_id) == {seed.courses["A"]}
    assert list(funnel["count"]) == [7, 6, 4, 4, 3]
    assert times[["completed", "p50_hours", "p90_hours"]].iloc[0].tolist() == pytest.approx(
        [3, 20.0, 28.0]
    )


def test_a_database_without_enrollments_is_a_clear_error(
    database: Settings, local_ray: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing to report is said in one line (exit 1), not a stack trace from an empty frame."""
    empty = database.model_copy(update={"database_url": database.database_url + "_jobs_empty"})
    migrate.upgrade(empty)
    try:
        args = argparse.Namespace(
            name="funnel",
            out=tmp_path,
            events=None,
            address=None,
            read_tasks=2,
            shuffle_partitions=None,
            progress_bars=False,
        )
        assert run_from_arguments(args, empty) == 1
    finally:
        asyncio.run(migrate.drop_database(empty.database_url))
    assert "no enrollments in the database" in capsys.readouterr().err
    assert not (tmp_path / "funnel.parquet").exists()
