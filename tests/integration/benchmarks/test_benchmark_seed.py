"""The load benchmark's seeder in real PostgreSQL: exactly the population it is asked for, and
a work file whose tokens the gateway's verification accepts."""

import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Select, func, select

from benchmarks.seed import LoadPopulation, ProgressLine, Shape, seed
from core.identity import Role
from core.settings import Settings
from core.tokens import verify_access_token
from storage.db import Database
from storage.models.course import Course, Lesson, Module
from storage.models.enrollment import Enrollment, LessonCompletion
from storage.models.user import User

SHAPE = Shape(courses=5, students=50, enrollments=100)
PROGRESS = io.StringIO()


@pytest.fixture(scope="module")
async def population(database: Settings) -> AsyncIterator[LoadPopulation]:
    yield await seed(database, SHAPE, ProgressLine(PROGRESS))


async def scalar(db: Database, statement: Select) -> int:
    async with db.unit_of_work() as uow:
        return await uow.session.scalar(statement)


async def test_the_seeder_writes_exactly_the_population_asked_for(
    db: Database, population: LoadPopulation
) -> None:
    courses = [c.id for c in population.courses]
    students = [s.id for s in population.students]
    published = Course.id.in_(courses) & (Course.status == "published")
    assert await scalar(db, select(func.count()).where(published)) == 5
    assert await scalar(db, select(func.sum(Course.enrolled_count)).where(published)) == 100
    in_courses = Module.course_id.in_(courses)
    assert await scalar(db, select(func.count()).where(in_courses)) == 5 * SHAPE.modules
    lessons = select(func.count()).where(Lesson.course_id.in_(courses))
    assert await scalar(db, lessons) == 5 * SHAPE.modules * SHAPE.lessons
    role = User.id.in_(students) & (User.role == "student")
    assert await scalar(db, select(func.count()).where(role)) == 50
    active = Enrollment.course_id.in_(courses) & (Enrollment.status == "active")
    assert await scalar(db, select(func.count()).where(active)) == 100
    done = sum(len(e.completed) for s in population.students for e in s.enrollments)
    completions = (
        select(func.count())
        .select_from(LessonCompletion)
        .join(Enrollment, Enrollment.id == LessonCompletion.enrollment_id)
        .where(Enrollment.course_id.in_(courses))
    )
    assert await scalar(db, completions) == done
    assert "enrollments 100/100" in PROGRESS.getvalue()


async def test_the_work_file_holds_tokens_the_gateway_accepts(
    database: Settings, db: Database, population: LoadPopulation, tmp_path: Path
) -> None:
    work = json.loads(population.write(tmp_path / "work.json").read_text())
    secret = database.require_jwt_secret()
    for student in work["students"]:
        claims = verify_access_token(secret, student["token"])
        assert (claims.user_id, claims.role) == (student["id"], Role.STUDENT)
    assert {verify_access_token(secret, t).role for t in work["instructors"]} == {Role.INSTRUCTOR}
    listed = {(e["id"], s["id"]) for s in work["students"] for e in s["enrollments"]}
    async with db.unit_of_work() as uow:
        rows = await uow.session.execute(
            select(Enrollment.id, Enrollment.student_id).where(
                Enrollment.course_id.in_([c["id"] for c in work["courses"]])
            )
        )
    assert set(map(tuple, rows)) == listed
