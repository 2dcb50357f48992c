"""What the fault suite asserts after each fault: the acknowledged writes are stored once, each
event's effect happened exactly once (notifications, certificates with their PDFs, analytics
counters), /readyz named the fault while it lasted, and the system was ready again in time
without a hand on it."""

import asyncio
import time
from dataclasses import dataclass, field

import asyncpg
import httpx

from core.settings import Settings
from storage.dsn import plain_dsn
from storage.health import s3_client
from tests.faults.workload import Acks


@dataclass
class Readiness:
    """Polls /readyz in the background and keeps every answer: (time, status, message)."""

    http: httpx.AsyncClient
    seen: list[tuple[float, int, str]] = field(default_factory=list)
    task: asyncio.Task | None = None

    async def watch(self) -> None:
        while True:
            try:
                answer = await self.http.get("/readyz", timeout=10)
                message = answer.json()["error"]["message"] if answer.status_code != 200 else ""
                self.seen.append((time.monotonic(), answer.status_code, message))
            except httpx.HTTPError as error:
                self.seen.append((time.monotonic(), 0, type(error).__name__))
            await asyncio.sleep(0.25)

    def __enter__(self) -> "Readiness":
        self.task = asyncio.get_running_loop().create_task(self.watch())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()

    def named(self, since: float, names: set[str]) -> bool:
        return any(
            status == 503 and any(name in message for name in names)
            for at, status, message in self.seen
            if at >= since
        )

    def ready_after(self, since: float) -> float | None:
        """Seconds from `since` until /readyz answered 200 again (after any 503 it gave)."""
        later = [(at, status) for at, status, _ in self.seen if at >= since]
        last_bad = max((at for at, status in later if status != 200), default=since)
        good = [at for at, status in later if status == 200 and at >= last_bad]
        return None if not good else good[0] - since

    def unready(self, since: float) -> list[str]:
        return sorted({message for at, status, message in self.seen if at >= since and status})


async def rows(settings: Settings, query: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(plain_dsn(settings.database_url))
    try:
        return await conn.fetch(query, *args)
    finally:
        await conn.close()


async def stored_once(settings: Settings, course_id: int, acks: Acks) -> list[str]:
    """Every acknowledged enrollment and completion is in PostgreSQL, each exactly once."""
    problems = []
    found = await rows(
        settings, "SELECT student_id, id FROM enrollments WHERE course_id = $1", course_id
    )
    by_student: dict[int, list[int]] = {}
    for row in found:
        by_student.setdefault(row["student_id"], []).append(row["id"])
    for student, enrollment in acks.enrollments.items():
        if by_student.get(student) != [enrollment]:
            problems.append(
                f"student {student}: acked {enrollment}, stored {by_student.get(student)}"
            )
    done = await rows(
        settings,
        "SELECT enrollment_id, lesson_id FROM lesson_completions WHERE enrollment_id = ANY($1)",
        list(acks.enrollments.values()),
    )
    stored = {(row["enrollment_id"], row["lesson_id"]) for row in done}
    if missing := acks.completions - stored:
        problems.append(f"acked completions not stored: {sorted(missing)}")
    return problems


async def effect_problems(
    settings: Settings, course_id: int, acks: Acks, lessons: int, modules: int
) -> list[str]:
    """The events' effects, each exactly once, for what was acknowledged."""
    finished = {
        enrollment
        for enrollment in acks.enrollments.values()
        if sum(1 for e, _ in acks.completions if e == enrollment) == lessons
    }
    notes = await rows(
        settings,
        "SELECT user_id, kind, count(*) AS n FROM notifications WHERE user_id = ANY($1) "
        "GROUP BY user_id, kind",
        list(acks.enrollments),
    )
    counts = {(row["user_id"], row["kind"]): row["n"] for row in notes}
    students = {enrollment: student for student, enrollment in acks.enrollments.items()}
    problems = []
    for student in acks.enrollments:
        if counts.get((student, "enrollment_welcome")) != 1:
            problems.append(
                f"student {student}: welcome x{counts.get((student, 'enrollment_welcome'))}"
            )
    for enrollment in finished:
        student = students[enrollment]
        for kind, wanted in (("module_completed", modules), ("certificate_ready", 1)):
            if counts.get((student, kind)) != wanted:
                problems.append(f"student {student}: {kind} x{counts.get((student, kind))}")
    problems += await certificate_problems(settings, finished)
    figures = await rows(
        settings,
        "SELECT coalesce(sum(new_enrollments), 0) AS enrolled, "
        "coalesce(sum(completions), 0) AS completed FROM analytics_metrics WHERE course_id = $1",
        course_id,
    )
    counted = (figures[0]["enrolled"], figures[0]["completed"])
    if counted != (len(acks.enrollments), len(finished)):
        problems.append(
            f"analytics counted {counted}, wanted {(len(acks.enrollments), len(finished))}"
        )
    return problems


async def certificate_problems(settings: Settings, finished: set[int]) -> list[str]:
    certificates = await rows(
        settings,
        "SELECT enrollment_id, pdf_object_key FROM certificates WHERE enrollment_id = ANY($1)",
        list(finished),
    )
    keys = {row["enrollment_id"]: row["pdf_object_key"] for row in certificates}
    problems = [f"enrollment {e}: no certificate with a PDF" for e in finished if not keys.get(e)]
    if len(certificates) != len(keys):
        problems.append("an enrollment has two certificates")
    client = s3_client(settings)
    for enrollment, key in keys.items():
        if key:
            try:
                await asyncio.to_thread(client.head_object, Bucket=settings.s3_bucket, Key=key)
            except Exception as error:  # the row says rendered; the store must agree
                problems.append(f"enrollment {enrollment}: PDF {key} not in S3 ({error})")
    return problems


async def settled(
    settings: Settings,
    course_id: int,
    acks: Acks,
    lessons: int,
    modules: int,
    within: float = 90.0,
) -> list[str]:
    """The effects once they all happened, or what is still wrong at the deadline."""
    until = time.monotonic() + within
    while True:
        problems = await effect_problems(settings, course_id, acks, lessons, modules)
        if not problems or time.monotonic() > until:
            return problems
        await asyncio.sleep(1.0)
