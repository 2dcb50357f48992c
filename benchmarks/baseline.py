"""The baseline: a plain FastAPI + asyncpg app doing one transaction per lesson completion
against the same database and schema (JWT check, enrollment lookup, completion row, percentage,
outbox event), served by one uvicorn worker. `python -m benchmarks.baseline PORT`."""

import json
import os
import sys
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import asyncpg
import uvicorn
from fastapi import FastAPI, Header, HTTPException

from core.errors import Unauthorized
from core.events import ProgressUpdatedData, make_event
from core.settings import get_settings
from core.tokens import verify_access_token
from storage.migrate import plain_dsn
from storage.outbox import outbox_row

settings = get_settings()
pool: asyncpg.Pool | None = None

ENROLLMENT = """
SELECT e.id, e.course_id FROM enrollments e JOIN lessons l ON l.course_id = e.course_id
WHERE l.id = $1 AND e.student_id = $2 AND e.status = 'active'
"""
PROGRESS = """
SELECT (SELECT count(*) FROM lesson_completions WHERE enrollment_id = $1),
       (SELECT count(*) FROM lessons WHERE course_id = $2)
"""
UPDATE_PROGRESS = """
UPDATE enrollments SET completion_percentage = $2, last_accessed_at = $3 WHERE id = $1
"""
OUTBOX = """
INSERT INTO outbox (event_id, event_type, topic, key, payload) VALUES ($1, $2, $3, $4, $5)
"""


@asynccontextmanager
async def lifespan(_: FastAPI):
    global pool
    pool = await asyncpg.create_pool(plain_dsn(settings.database_url), min_size=10, max_size=20)
    yield
    await pool.close()


app = FastAPI(lifespan=lifespan)


@app.post("/lessons/{lesson_id}/complete")
async def complete(lesson_id: int, authorization: str = Header()) -> dict:
    try:
        claims = verify_access_token(
            settings.require_jwt_secret(), authorization.removeprefix("Bearer ")
        )
    except Unauthorized:
        raise HTTPException(401) from None
    async with pool.acquire() as conn, conn.transaction():
        found = await conn.fetchrow(ENROLLMENT, lesson_id, claims.user_id)
        if found is None:
            raise HTTPException(404)
        now = datetime.now(UTC)
        await conn.execute(
            "INSERT INTO lesson_completions VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            found["id"],
            lesson_id,
            now,
        )
        done, total = await conn.fetchrow(PROGRESS, found["id"], found["course_id"])
        percentage = round(100.0 * done / total, 2)
        await conn.execute(
            UPDATE_PROGRESS,
            found["id"],
            percentage,
            now,
        )
        data = ProgressUpdatedData(
            enrollment_id=found["id"],
            student_id=claims.user_id,
            course_id=found["course_id"],
            lesson_id=lesson_id,
            completion_percentage=percentage,
        )
        row = outbox_row(make_event("progress.updated", str(found["id"]), data, "baseline"))
        payload = json.dumps(row["payload"])
        await conn.execute(
            OUTBOX, row["event_id"], row["event_type"], row["topic"], row["key"], payload
        )
    return {"enrollment_id": found["id"], "completion_percentage": percentage}


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
