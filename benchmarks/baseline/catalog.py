"""The baseline's catalog (list, detail) and authoring (course, module, lesson, and a publish
that happens at once) in plain SQL."""

import json
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, Query

from benchmarks.baseline.context import Caller, connection, optional_claims
from core.courses import CourseCreate, LessonCreate, ModuleCreate
from core.identity import Role
from core.tokens import AccessClaims
from storage.temporal import publish_workflow_id

router = APIRouter()
# Module constants joined into statements (S608 is silenced where they are; no input is).
COURSE = """id, title, description, category, level, status, instructor_id, enrollment_limit,
enrolled_count, pass_threshold, publish_error, published_at, created_at"""
CATALOG_FILTER = """status = 'published' AND ($1::text IS NULL OR category = $1)
AND ($2::text IS NULL OR level = $2)
AND ($3::text IS NULL OR search_vector @@ websearch_to_tsquery('english', $3))"""
SEARCH = """setweight(to_tsvector('english', title), 'A')
|| setweight(to_tsvector('english', category || ' ' || description), 'B')"""


async def course_views(conn: asyncpg.Connection, rows: list[asyncpg.Record]) -> list[dict]:
    """The courses with their prerequisite ids, read in one query."""
    found: dict[int, list[int]] = {row["id"]: [] for row in rows}
    for course_id, prerequisite_id in await conn.fetch(
        "SELECT course_id, prerequisite_id FROM course_prerequisites "
        "WHERE course_id = ANY($1::bigint[]) ORDER BY prerequisite_id",
        list(found),
    ):
        found[course_id].append(prerequisite_id)
    return [dict(row) | {"prerequisite_ids": found[row["id"]]} for row in rows]


@router.get("/courses")
async def list_courses(
    _: Annotated[AccessClaims | None, Depends(optional_claims)],
    category: str | None = None,
    q: str | None = None,
    level: str | None = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    async with connection() as conn:
        total = await conn.fetchval(
            f"SELECT count(*) FROM courses WHERE {CATALOG_FILTER}",  # noqa: S608
            category,
            level,
            q,
        )
        rows = await conn.fetch(
            f"SELECT {COURSE} FROM courses WHERE {CATALOG_FILTER} "  # noqa: S608
            "ORDER BY published_at DESC, id DESC OFFSET $4 LIMIT $5",
            category,
            level,
            q,
            (page - 1) * page_size,
            page_size,
        )
        items = await course_views(conn, rows)
    return {"items": items, "page": page, "page_size": page_size, "total": total}


@router.get("/courses/{course_id}")
async def get_course(
    course_id: int, caller: Annotated[AccessClaims | None, Depends(optional_claims)]
) -> dict[str, Any]:
    async with connection() as conn:
        row = await conn.fetchrow(f"SELECT {COURSE} FROM courses WHERE id = $1", course_id)  # noqa: S608
        visible = row is not None and (
            row["status"] in ("published", "archived")
            or (caller is not None and caller.principal.may_act_for(row["instructor_id"]))
        )
        if not visible:
            raise HTTPException(404)
        modules = await conn.fetch(
            "SELECT id, title, position FROM modules WHERE course_id = $1 ORDER BY position, id",
            course_id,
        )
        lessons = await conn.fetch(
            "SELECT id, module_id, title, kind, position, duration_minutes FROM lessons "
            "WHERE course_id = $1 ORDER BY position, id",
            course_id,
        )
        view = (await course_views(conn, [row]))[0]
    view["modules"] = [
        dict(m) | {"lessons": [lesson_view(x) for x in lessons if x["module_id"] == m["id"]]}
        for m in modules
    ]
    return view


def lesson_view(row: asyncpg.Record) -> dict[str, Any]:
    return {k: row[k] for k in ("id", "title", "kind", "position", "duration_minutes")}


# The columns a new course takes from its body, in the statement's order.
CREATED = (
    "title",
    "description",
    "category",
    "level",
    "enrollment_limit",
    "pass_threshold",
    "waitlist",
)


@router.post("/courses", status_code=201)
async def create_course(body: CourseCreate, caller: Caller) -> dict[str, Any]:
    if caller.role not in (Role.INSTRUCTOR, Role.ADMIN):
        raise HTTPException(403)
    fields = body.model_dump(include=set(CREATED))
    async with connection() as conn, conn.transaction():
        row = await conn.fetchrow(
            f"INSERT INTO courses (instructor_id, {', '.join(CREATED)}, status, enrolled_count) "  # noqa: S608
            f"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'draft', 0) RETURNING {COURSE}",
            caller.user_id,
            *(fields[name] for name in CREATED),
        )
        await conn.executemany(
            "INSERT INTO course_prerequisites (course_id, prerequisite_id) VALUES ($1, $2)",
            [(row["id"], p) for p in set(body.prerequisite_ids)],
        )
    return dict(row) | {"prerequisite_ids": sorted(set(body.prerequisite_ids)), "modules": []}


async def own_draft(conn: asyncpg.Connection, course_id: int, caller: AccessClaims) -> None:
    row = await conn.fetchrow(
        "SELECT instructor_id, status FROM courses WHERE id = $1 FOR UPDATE", course_id
    )
    if row is None:
        raise HTTPException(404)
    if not caller.principal.may_act_for(row["instructor_id"]):
        raise HTTPException(403)
    if row["status"] != "draft":
        raise HTTPException(409)


@router.post("/courses/{course_id}/modules", status_code=201)
async def add_module(course_id: int, body: ModuleCreate, caller: Caller) -> dict[str, Any]:
    async with connection() as conn, conn.transaction():
        await own_draft(conn, course_id, caller)
        row = await conn.fetchrow(
            "INSERT INTO modules (course_id, title, position) VALUES ($1, $2, coalesce($3, "
            "(SELECT coalesce(max(position) + 1, 0) FROM modules WHERE course_id = $1))) "
            "RETURNING id, title, position",
            course_id,
            body.title,
            body.position,
        )
    return dict(row) | {"lessons": []}


@router.post("/courses/{course_id}/modules/{module_id}/lessons", status_code=201)
async def add_lesson(
    course_id: int, module_id: int, body: LessonCreate, caller: Caller
) -> dict[str, Any]:
    quiz = json.dumps(body.quiz.model_dump()) if body.quiz else None
    async with connection() as conn, conn.transaction():
        await own_draft(conn, course_id, caller)
        row = await conn.fetchrow(
            "INSERT INTO lessons (module_id, course_id, title, kind, content, duration_minutes, "
            "position, quiz) SELECT m.id, m.course_id, $3, $4, $5, $6, coalesce($7, "
            "(SELECT coalesce(max(position) + 1, 0) FROM lessons WHERE module_id = m.id)), "
            "$8::jsonb FROM modules m WHERE m.id = $1 AND m.course_id = $2 "
            "RETURNING id, module_id, title, kind, position, duration_minutes, content",
            module_id,
            course_id,
            body.title,
            body.kind,
            body.content,
            body.duration_minutes,
            body.position,
            quiz,
        )
    if row is None:
        raise HTTPException(404)
    return dict(row)


@router.post("/courses/{course_id}/publish", status_code=202)
async def publish(course_id: int, caller: Caller) -> dict[str, Any]:
    async with connection() as conn, conn.transaction():
        await own_draft(conn, course_id, caller)
        await conn.execute(
            "UPDATE courses SET status = 'published', published_at = now(), "  # noqa: S608
            f"search_vector = {SEARCH} WHERE id = $1",
            course_id,
        )
    return {"workflow_id": publish_workflow_id(course_id), "status": "QUEUED"}
