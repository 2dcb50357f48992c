"""The fault suite's writers: students who enroll in a course and complete its lessons over
HTTP, concurrently, retrying through whatever the fault does, and recording every write the
system acknowledged (in the style of Ray's chaos tests: the test then kills things and checks
that every acknowledged write is there exactly once)."""

import asyncio
import collections
import random
import time
from dataclasses import dataclass, field

import httpx

from tests.e2e.accounts import Account

# Answers a retry may get past: the fault itself (5xx, a refused connection) and throttling.
RETRIED = {429, 500, 502, 503, 504}
PAUSE_SECONDS = 0.4


@dataclass
class Acks:
    """What the system said it stored: each student's enrollment, each completed lesson."""

    enrollments: dict[int, int] = field(default_factory=dict)
    completions: set[tuple[int, int]] = field(default_factory=set)
    retried: collections.Counter = field(default_factory=collections.Counter)

    def total(self) -> int:
        return len(self.enrollments) + len(self.completions)


class Workload:
    """`students` enroll in `course_id` and complete `lessons` in order, each at its own pace,
    within `deadline_seconds`; `run()` returns when all are done (or the deadline passed)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        students: list[Account],
        course_id: int,
        lessons: list[int],
        deadline_seconds: float = 90.0,
    ) -> None:
        self.http, self.students = http, students
        self.course_id, self.lessons = course_id, lessons
        self.deadline = time.monotonic() + deadline_seconds
        self.acks = Acks()
        self.writes = len(students) * (1 + len(lessons))

    async def run(self) -> Acks:
        await asyncio.gather(*(self.learner(n, student) for n, student in enumerate(self.students)))
        return self.acks

    async def acknowledged(self, share: float, running: asyncio.Task, within: float = 30.0) -> None:
        """Wait until `share` of the writes were acknowledged: the fault then hits mid-run."""
        until = time.monotonic() + within
        while self.acks.total() < share * self.writes:
            if running.done():
                await running  # its error, if it failed
                return
            if time.monotonic() > until:
                raise AssertionError(f"only {self.acks.total()} of {self.writes} writes acked")
            await asyncio.sleep(0.05)

    async def call(
        self, student: Account, method: str, path: str, extra: dict | None = None, **kw
    ) -> httpx.Response | None:
        """The first answer that is not a fault's; None once the deadline passed."""
        headers = {**student.headers, **(extra or {})}
        while time.monotonic() < self.deadline:
            try:
                answer = await self.http.request(method, path, headers=headers, **kw)
            except httpx.HTTPError as error:
                self.acks.retried[type(error).__name__] += 1
            else:
                if answer.status_code not in RETRIED:
                    assert answer.status_code < 400, f"{method} {path}: {answer.text}"
                    return answer
                self.acks.retried[answer.status_code] += 1
            await asyncio.sleep(PAUSE_SECONDS)
        return None

    async def learner(self, index: int, student: Account) -> None:
        await asyncio.sleep(index * PAUSE_SECONDS / 2 + random.random() * PAUSE_SECONDS)
        key = {"Idempotency-Key": f"fault-{student.id}-{self.course_id}"}
        body = {"course_id": self.course_id}
        answer = await self.call(student, "POST", "/enrollments", key, json=body)
        if answer is None:
            return
        enrollment_id = answer.json()["enrollment_id"]
        self.acks.enrollments[student.id] = enrollment_id
        if not await self.active(student, enrollment_id):
            return
        for lesson in self.lessons:
            await asyncio.sleep(PAUSE_SECONDS)
            if await self.call(student, "POST", f"/lessons/{lesson}/complete", json={}) is None:
                return
            self.acks.completions.add((enrollment_id, lesson))

    async def active(self, student: Account, enrollment_id: int) -> bool:
        while time.monotonic() < self.deadline:
            found = await self.call(student, "GET", f"/enrollments/{enrollment_id}")
            if found is not None and found.json()["status"] == "active":
                return True
            await asyncio.sleep(PAUSE_SECONDS)
        return False
