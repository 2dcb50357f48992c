"""The baseline's enrollment (active at once), lesson completion, quiz submission, progress
reads, my courses and notifications in plain SQL, one transaction per write; progress views are
computed by core.progress, as the shards compute them."""

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import asyncpg
from fastapi import APIRouter, HTTPException, Response

from benchmarks.baseline.context import Caller, connection, emit
from core.enrollments import EnrollmentRequest, QuizSubmission
from core.errors import ValidationFailed
from core.events import EnrollmentData, ProgressUpdatedData
from core.identity import Role
from core.progress import CourseStructure, ProgressView, modules_progress, percentage
from core.quizzes import score_quiz

router = APIRouter()
LESSON_ENROLLMENT = """
SELECT e.id, e.course_id, e.last_accessed_at FROM enrollments e
JOIN lessons l ON l.course_id = e.course_id
WHERE l.id = $1 AND e.student_id = $2 AND e.status IN ('active', 'completed')
"""
PROGRESS = """
SELECT m.id AS module_id, l.id AS lesson_id, c.lesson_id IS NOT NULL AS done
FROM modules m LEFT JOIN lessons l ON l.module_id = m.id
LEFT JOIN lesson_completions c ON c.enrollment_id = $1 AND c.lesson_id = l.id
WHERE m.course_id = $2 ORDER BY m.position, m.id, l.position, l.id
"""
UPDATE_PROGRESS = """
UPDATE enrollments SET completion_percentage = $2::float8, last_accessed_at = $3,
  status = CASE WHEN $2::float8 = 100 THEN 'completed' ELSE status END,
  completed_at = CASE WHEN $2::float8 = 100 THEN coalesce(completed_at, $3) ELSE completed_at END
WHERE id = $1
"""
# A module constant joined into statements (S608 is silenced where it is; no input is).
ENROLLMENT = """id, student_id, course_id, status, enrolled_at, completed_at, certificate_id,
last_accessed_at"""


async def progress(conn: asyncpg.Connection, enrollment: Mapping[str, Any]) -> dict[str, Any]:
    """The enrollment's progress view, computed by core.progress as the shards do."""
    rows = await conn.fetch(PROGRESS, enrollment["id"], enrollment["course_id"])
    modules: dict[int, list[int]] = {}
    for row in rows:
        lessons = modules.setdefault(row["module_id"], [])
        if row["lesson_id"] is not None:
            lessons.append(row["lesson_id"])
    structure = CourseStructure(
        enrollment["course_id"], {m: tuple(lessons) for m, lessons in modules.items()}
    )
    completed = {row["lesson_id"] for row in rows if row["done"]}
    seen = enrollment["last_accessed_at"]
    return ProgressView(
        enrollment_id=enrollment["id"],
        completion_percentage=percentage(structure, completed),
        completed_lessons=sorted(completed),
        modules=modules_progress(structure, completed),
        last_accessed_at=seen.isoformat() if seen else None,
    ).model_dump(mode="json")


def accepted(enrollment_id: int, status: str) -> dict[str, Any]:
    return {"enrollment_id": enrollment_id, "status": status.upper(), "workflow_id": None}


@router.post("/enrollments", status_code=202)
async def enroll(body: EnrollmentRequest, response: Response, caller: Caller) -> dict[str, Any]:
    if caller.role is not Role.STUDENT:
        raise HTTPException(403)
    async with connection() as conn, conn.transaction():
        existing = await conn.fetchrow(
            "SELECT id, status FROM enrollments WHERE student_id = $1 AND course_id = $2",
            caller.user_id,
            body.course_id,
        )
        if existing is not None:
            response.status_code = 200
            return accepted(existing["id"], existing["status"])
        await take_seat(conn, body.course_id, caller.user_id)
        enrollment_id = await conn.fetchval(
            "INSERT INTO enrollments (student_id, course_id, status, enrolled_at, "
            "last_accessed_at) VALUES ($1, $2, 'active', $3, $3) RETURNING id",
            caller.user_id,
            body.course_id,
            datetime.now(UTC),
        )
        data = EnrollmentData(
            enrollment_id=enrollment_id, student_id=caller.user_id, course_id=body.course_id
        )
        await emit(conn, "enrollment.created", enrollment_id, data)
    return accepted(enrollment_id, "active")


async def take_seat(conn: asyncpg.Connection, course_id: int, student_id: int) -> None:
    """A seat in a published course whose prerequisites the student completed; the row lock
    on the course serializes concurrent enrollments in it."""
    course = await conn.fetchrow(
        "SELECT status, enrollment_limit, enrolled_count FROM courses WHERE id = $1 FOR UPDATE",
        course_id,
    )
    if course is None:
        raise HTTPException(404)
    limit = course["enrollment_limit"]
    if course["status"] != "published" or (limit is not None and course["enrolled_count"] >= limit):
        raise HTTPException(409)
    missing = await conn.fetchval(
        "SELECT count(*) FROM course_prerequisites p WHERE p.course_id = $1 AND NOT EXISTS ("
        "SELECT 1 FROM enrollments e WHERE e.course_id = p.prerequisite_id "
        "AND e.student_id = $2 AND e.status = 'completed')",
        course_id,
        student_id,
    )
    if missing:
        raise HTTPException(409)
    await conn.execute(
        "UPDATE courses SET enrolled_count = enrolled_count + 1 WHERE id = $1", course_id
    )


async def record_completion(
    conn: asyncpg.Connection, found: asyncpg.Record, lesson_id: int, student_id: int
) -> dict[str, Any]:
    """The completion row, the new percentage and its outbox event; the progress view."""
    now = datetime.now(UTC)
    await conn.execute(
        "INSERT INTO lesson_completions VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        found["id"],
        lesson_id,
        now,
    )
    view = await progress(conn, dict(found) | {"last_accessed_at": now})
    done = view["completion_percentage"]
    await conn.execute(UPDATE_PROGRESS, found["id"], done, now)
    data = ProgressUpdatedData(
        enrollment_id=found["id"],
        student_id=student_id,
        course_id=found["course_id"],
        lesson_id=lesson_id,
        completion_percentage=done,
    )
    await emit(conn, "progress.updated", found["id"], data)
    return view


@router.post("/lessons/{lesson_id}/complete")
async def complete(lesson_id: int, caller: Caller) -> dict[str, Any]:
    async with connection() as conn, conn.transaction():
        found = await conn.fetchrow(LESSON_ENROLLMENT, lesson_id, caller.user_id)
        if found is None:
            raise HTTPException(404)
        return await record_completion(conn, found, lesson_id, caller.user_id)


@router.post("/quizzes/{lesson_id}/submit")
async def submit_quiz(lesson_id: int, body: QuizSubmission, caller: Caller) -> dict[str, Any]:
    async with connection() as conn, conn.transaction():
        found = await conn.fetchrow(LESSON_ENROLLMENT, lesson_id, caller.user_id)
        quiz = await conn.fetchval("SELECT quiz FROM lessons WHERE id = $1", lesson_id)
        if found is None or quiz is None:
            raise HTTPException(404)
        try:
            result = score_quiz(json.loads(quiz), body.answers)
        except ValidationFailed:
            raise HTTPException(422) from None
        attempt = await conn.fetchval(
            "INSERT INTO quiz_attempts (enrollment_id, lesson_id, attempt, score, passed, "
            "answers, submitted_at) SELECT $1, $2, coalesce(max(attempt), 0) + 1, $3, $4, "
            "$5::jsonb, now() FROM quiz_attempts WHERE enrollment_id = $1 AND lesson_id = $2 "
            "RETURNING attempt",
            found["id"],
            lesson_id,
            result.score,
            result.passed,
            json.dumps(body.answers),
        )
        if result.passed:
            view = await record_completion(conn, found, lesson_id, caller.user_id)
        else:
            view = await progress(conn, found)
    return {"score": result.score, "passed": result.passed, "attempt": attempt, "progress": view}


@router.get("/enrollments/my-courses")
async def my_courses(caller: Caller) -> dict[str, Any]:
    async with connection() as conn:
        rows = await conn.fetch(
            f"SELECT {ENROLLMENT} FROM enrollments WHERE student_id = $1 "  # noqa: S608
            "ORDER BY enrolled_at DESC, id DESC",
            caller.user_id,
        )
    return {"items": [enrollment_view(row) for row in rows]}


def enrollment_view(row: asyncpg.Record) -> dict[str, Any]:
    return {k: v for k, v in dict(row).items() if k != "last_accessed_at"}


@router.get("/enrollments/{enrollment_id}")
async def get_enrollment(enrollment_id: int, caller: Caller) -> dict[str, Any]:
    async with connection() as conn:
        row = await conn.fetchrow(
            f"SELECT {ENROLLMENT} FROM enrollments WHERE id = $1",  # noqa: S608
            enrollment_id,
        )
        if row is None or not caller.principal.may_act_for(row["student_id"]):
            raise HTTPException(404)
        return enrollment_view(row) | {"progress": await progress(conn, row)}


@router.get("/notifications")
async def notifications(caller: Caller, unread: bool = False) -> dict[str, Any]:
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT id, kind, title, body, read, created_at FROM notifications "
            "WHERE user_id = $1 AND (NOT $2 OR NOT read) "
            "ORDER BY created_at DESC, id DESC LIMIT 100",
            caller.user_id,
            unread,
        )
    return {"items": [dict(row) for row in rows]}
