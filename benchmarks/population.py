"""Seeding a benchmark population straight through the storage layer: one published course and
students with active enrollments, in bulk, with progress logged as counts."""

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select

from core.identity import Role
from core.settings import Settings
from core.tokens import issue_access_token, new_session_id
from storage.db import Database
from storage.models.course import Course, Lesson, Module
from storage.models.enrollment import Enrollment
from storage.models.user import User

log = logging.getLogger(__name__)
BATCH = 1000
# The tokens only need to outlive the run; no password is ever checked.
TOKEN_TTL_SECONDS = 3600
# Matches no password: benchmark students sign in with minted tokens only.
UNUSABLE_HASH = "!"


@dataclass
class Population:
    course_id: int
    lesson_ids: list[int]
    student_ids: list[int]
    tokens: list[str]


async def seed_course(db: Database, modules: int, lessons: int) -> tuple[int, list[int]]:
    now = datetime.now(UTC)
    async with db.unit_of_work() as uow:
        tag = uuid.uuid4().hex[:12]
        instructor = await uow.session.scalar(
            insert(User)
            .values(
                email=f"bench-{tag}@example.com",
                password_hash=UNUSABLE_HASH,
                full_name="Bench",
                role="instructor",
            )
            .returning(User.id)
        )
        course_id = await uow.session.scalar(
            insert(Course)
            .values(
                instructor_id=instructor,
                title=f"Benchmark {tag}",
                description="Load",
                category="benchmark",
                level="beginner",
                status="published",
                published_at=now,
            )
            .returning(Course.id)
        )
        lesson_ids: list[int] = []
        for m in range(modules):
            module_id = await uow.session.scalar(
                insert(Module)
                .values(course_id=course_id, title=f"M{m}", position=m)
                .returning(Module.id)
            )
            rows = [
                {
                    "module_id": module_id,
                    "course_id": course_id,
                    "title": f"L{m}.{n}",
                    "kind": "text",
                    "position": n,
                }
                for n in range(lessons)
            ]
            lesson_ids += list(await uow.session.scalars(insert(Lesson).returning(Lesson.id), rows))
        await uow.commit()
    return course_id, lesson_ids


def user_rows(tag: str, role: str, start: int, stop: int) -> list[dict[str, str]]:
    """Users `start..stop` of a seeded batch; `tag` keeps their emails apart from other runs'."""
    return [
        {
            "email": f"bench-{tag}-{role}-{n}@example.com",
            "password_hash": UNUSABLE_HASH,
            "full_name": f"{role.title()} {n}",
            "role": role,
        }
        for n in range(start, stop)
    ]


def mint_tokens(settings: Settings, user_ids: Iterable[int], role: Role) -> list[str]:
    """Access tokens as a login would issue them, without the login (and its bcrypt)."""
    secret = settings.require_jwt_secret()
    return [
        issue_access_token(
            secret,
            user_id=i,
            role=role,
            session_id=new_session_id(),
            ttl_seconds=TOKEN_TTL_SECONDS,
        )
        for i in user_ids
    ]


async def seed_students(db: Database, course_id: int, count: int) -> list[int]:
    now = datetime.now(UTC)
    student_ids: list[int] = []
    tag = uuid.uuid4().hex[:12]
    for start in range(0, count, BATCH):
        rows = user_rows(tag, "student", start, min(start + BATCH, count))
        async with db.unit_of_work() as uow:
            ids = list(await uow.session.scalars(insert(User).returning(User.id), rows))
            enrollments = [
                {"student_id": i, "course_id": course_id, "status": "active", "enrolled_at": now}
                for i in ids
            ]
            await uow.session.execute(insert(Enrollment), enrollments)
            await uow.commit()
        student_ids += ids
        log.info("event=seeded students=%d/%d", len(student_ids), count)
    return student_ids


async def seed_population(
    settings: Settings, students: int, modules: int, lessons: int
) -> Population:
    db = Database(settings)
    try:
        course_id, lesson_ids = await seed_course(db, modules, lessons)
        student_ids = await seed_students(db, course_id, students)
        async with db.unit_of_work() as uow:
            assert (
                await uow.session.scalar(select(Course.status).where(Course.id == course_id))
                == "published"
            )
    finally:
        await db.dispose()
    tokens = mint_tokens(settings, student_ids, Role.STUDENT)
    return Population(course_id, lesson_ids, student_ids, tokens)
