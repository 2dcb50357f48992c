"""Enrollment workflow time: from POST /enrollments to the enrollment reading `active` on
GET /enrollments/{id} (the EnrollmentWorkflow has run), for a sample of students arriving one
after another while the load benchmark's busiest step runs."""

import asyncio
import logging
import time

import httpx

log = logging.getLogger(__name__)
# The first student arrives once the step's users are all running, then one a second, so every
# sample starts well before the step ends.
START_SECONDS, ARRIVAL_SECONDS = 5.0, 1.0
TIMEOUT_SECONDS = 30.0
# A poll every 50 ms, or every tenth of the time so far once that is longer: a time is late by
# at most 50 ms or 10 %, and a 30 s wait takes about 50 polls, within the per-route limit.
FIRST_POLL_SECONDS = 0.05
POLL_SHARE = 0.1


async def time_enrollment(client: httpx.AsyncClient, token: str, course_id: int) -> float | None:
    """Seconds until the enrollment is active; None when it was refused or never got there."""
    headers = {"Authorization": f"Bearer {token}"}
    started = time.perf_counter()
    answer = await client.post("/enrollments", json={"course_id": course_id}, headers=headers)
    if answer.status_code not in (200, 202):
        log.warning("event=probe_enroll_refused status=%d", answer.status_code)
        return None
    path = f"/enrollments/{answer.json()['enrollment_id']}"
    while (elapsed := time.perf_counter() - started) < TIMEOUT_SECONDS:
        await asyncio.sleep(max(FIRST_POLL_SECONDS, POLL_SHARE * elapsed))
        read = await client.get(path, headers=headers)
        if read.status_code == 200 and read.json()["status"] in ("active", "completed"):
            return time.perf_counter() - started
    return None


async def measure_enrollment_workflow(
    host: str, enrollments: list[tuple[str, int]]
) -> list[float | None]:
    """The time of each (student token, course id) enrollment, the n-th starting
    START_SECONDS + n * ARRIVAL_SECONDS from now."""
    async with httpx.AsyncClient(base_url=host, timeout=TIMEOUT_SECONDS) as client:

        async def timed(n: int, token: str, course_id: int) -> float | None:
            await asyncio.sleep(START_SECONDS + n * ARRIVAL_SECONDS)
            return await time_enrollment(client, token, course_id)

        return await asyncio.gather(*(timed(n, *e) for n, e in enumerate(enrollments)))
