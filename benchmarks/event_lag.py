"""Event lag: from an enrollment's commit (its outbox row) to each consumer group's effect (its
processed-event row), for enrollments made over HTTP into a fresh course while the system is
otherwise idle. Part of `make bench`; the figures go into the same report."""

import asyncio
import logging

import httpx
from sqlalchemy import text

from benchmarks.population import seed_course
from core.settings import Settings
from storage.db import Database

log = logging.getLogger(__name__)
ENROLLMENTS = 200
CONCURRENCY = 8
LAG = text(
    """
    WITH lag AS (
      SELECT p.consumer_group AS grp, extract(epoch FROM p.processed_at - o.created_at) AS s
      FROM outbox o JOIN processed_events p ON p.event_id = o.event_id
      WHERE o.event_type = 'enrollment.created'
        AND (o.payload -> 'data' ->> 'course_id')::bigint = :course
    )
    SELECT grp, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY s),
           percentile_cont(0.99) WITHIN GROUP (ORDER BY s)
    FROM lag GROUP BY grp ORDER BY grp
    """
)


async def enroll_all(host: str, course_id: int, tokens: list[str]) -> None:
    gate = asyncio.Semaphore(CONCURRENCY)
    async with httpx.AsyncClient(base_url=host, timeout=30) as client:

        async def enroll(token: str) -> None:
            async with gate:
                answer = await client.post(
                    "/enrollments",
                    json={"course_id": course_id},
                    headers={"Authorization": f"Bearer {token}"},
                )
                answer.raise_for_status()

        await asyncio.gather(*(enroll(token) for token in tokens))


async def measure_event_lag(settings: Settings, tokens: list[str], host: str) -> list[tuple]:
    """(group, events, p50 seconds, p99 seconds) per consumer group of `enrollment.created`,
    for up to ENROLLMENTS students (their tokens) enrolling in a fresh course."""
    tokens = tokens[:ENROLLMENTS]
    db = Database(settings)
    try:
        course_id, _ = await seed_course(db, 1, 1)
        await enroll_all(host, course_id, tokens)
        log.info("event=event_lag_enrolled count=%d", len(tokens))
        for _ in range(600):
            async with db.unit_of_work() as uow:
                rows = (await uow.session.execute(LAG, {"course": course_id})).all()
            if len(rows) >= 2 and all(count >= len(tokens) for _, count, *_ in rows):
                return [tuple(row) for row in rows]
            await asyncio.sleep(0.1)  # polling the database with a deadline of 60 s
        return [tuple(row) for row in rows]
    finally:
        await db.dispose()
