"""Gradebook at size: the CSV of a 100k-enrollment course streams with flat memory.

Seeds a database of its own with one bulk INSERT ... SELECT per table (a 10k and a 100k
enrollment course over the same students; 4 modules x 5 lessons, 2 of them quizzes; each
enrollment has completed some lessons and tried the quizzes), starts a server process with the
gateway's roster route and the roster service, streams both CSVs from it over HTTP, and samples
the server's RSS (psutil, every 20 ms). Flat means the 100k stream peaks where the 10k one does.

`python -m benchmarks.gradebook [--enrollments 100000] [--report benchmarks/results/gradebook.md]`
(about a minute; not part of any test run).
"""

import argparse
import asyncio
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psutil
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import text

from core.identity import Principal, Role
from core.settings import Settings, get_settings
from serve.processes import free_port
from storage import migrate
from storage.db import Database

DATABASE = "smartcourse_bench_gradebook"
SMALL = 10_000
SEED = [
    """INSERT INTO users (email, password_hash, full_name, role)
       SELECT 'gb-' || n || '@example.com', '!', 'Student ' || n, 'student'
       FROM generate_series(0, :students) AS n""",
    """INSERT INTO courses (title, description, category, level, status, instructor_id)
       SELECT 'Gradebook ' || size, 'Benchmark', 'bench', 'beginner', 'published',
              (SELECT min(id) FROM users)
       FROM unnest(CAST(:sizes AS INTEGER[])) AS size""",
    """INSERT INTO modules (course_id, title, position)
       SELECT c.id, 'Module ' || m, m FROM courses c, generate_series(0, 3) AS m""",
    """INSERT INTO lessons (module_id, course_id, title, kind, position, quiz)
       SELECT md.id, md.course_id, 'Lesson ' || md.position || '.' || n,
              CASE WHEN n = 4 AND md.position IN (1, 3) THEN 'quiz' ELSE 'text' END, n,
              CASE WHEN n = 4 AND md.position IN (1, 3)
                   THEN '{"pass_score": 50, "questions": []}'::jsonb END
       FROM modules md, generate_series(0, 4) AS n""",
    """INSERT INTO enrollments (student_id, course_id, status, enrolled_at, completion_percentage)
       SELECT u.id, c.id, 'active', now(), 0
       FROM courses c
       JOIN LATERAL (SELECT id FROM users WHERE role = 'student' ORDER BY id
                     LIMIT CAST(substring(c.title FROM 11) AS INTEGER)) u ON true""",
    """INSERT INTO lesson_completions (enrollment_id, lesson_id, completed_at)
       SELECT e.id, l.id, now() FROM enrollments e
       JOIN lessons l ON l.course_id = e.course_id
       WHERE (l.id + e.id) % 3 <> 0""",
    """INSERT INTO quiz_attempts
           (enrollment_id, lesson_id, attempt, score, passed, answers, submitted_at)
       SELECT e.id, l.id, 1, (e.id * 7 + l.id) % 101, true, '[]', now() FROM enrollments e
       JOIN lessons l ON l.course_id = e.course_id AND l.kind = 'quiz'""",
    """UPDATE enrollments e SET completion_percentage = round(100.0 * (
           SELECT count(*) FROM lesson_completions lc WHERE lc.enrollment_id = e.id) / 20, 2)""",
]


def bench_settings(base: Settings) -> Settings:
    url = base.database_url.rsplit("/", 1)[0] + f"/{DATABASE}"
    return base.model_copy(update={"database_url": url})


async def seed(settings: Settings, enrollments: int) -> dict[int, int]:
    """Fresh database, seeded: course id by its number of enrollments."""
    await migrate.drop_database(settings.database_url)
    await asyncio.to_thread(migrate.upgrade, settings)
    db = Database(settings)
    try:
        async with db.unit_of_work() as uow:
            for statement in SEED:
                await uow.session.execute(
                    text(statement), {"students": enrollments - 1, "sizes": [SMALL, enrollments]}
                )
            await uow.commit()
            rows = await uow.session.execute(
                text("SELECT course_id, count(*) FROM enrollments GROUP BY course_id")
            )
            return {count: course_id for course_id, count in rows}
    finally:
        await db.dispose()


def serve(settings: Settings, port: int) -> None:
    """The server process: the gateway's roster route over the roster service, as an admin."""
    from ray.serve.handle import DeploymentHandle

    from gateway.auth import current_principal
    from gateway.context import GatewayContext, context
    from gateway.errors import install_error_handlers
    from gateway.routes import roster

    app = FastAPI()
    install_error_handlers(app)
    app.include_router(roster.router)
    app.dependency_overrides[current_principal] = lambda: Principal(1, Role.ADMIN)
    # No Serve here: the context the Gateway deployment would hold, with a materials handle that
    # the roster route never calls, and a secret of its own for the users service it builds (no
    # token is verified: the principal is overridden).
    own = settings.model_copy(update={"jwt_secret": SecretStr(secrets.token_urlsafe(32))})
    held = GatewayContext.open(own, DeploymentHandle("materials", "smartcourse"))
    app.dependency_overrides[context] = lambda: held
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


class RssSampler:
    def __init__(self, pid: int) -> None:
        self.process, self.peak, self.running = psutil.Process(pid), 0, True
        self.thread = threading.Thread(target=self.sample, daemon=True)

    def sample(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.02)

    def __enter__(self) -> "RssSampler":
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.running = False
        self.thread.join()


def stream(port: int, course_id: int, pid: int) -> dict:
    """Stream one CSV, counting its lines; the server's RSS before and at its peak."""
    before = psutil.Process(pid).memory_info().rss
    started, lines, size = time.perf_counter(), 0, 0
    with RssSampler(pid) as sampler:
        url = f"http://127.0.0.1:{port}/courses/{course_id}/gradebook.csv"
        with httpx.stream("GET", url, timeout=300) as answer:
            answer.raise_for_status()
            for chunk in answer.iter_bytes():
                lines, size = lines + chunk.count(b"\n"), size + len(chunk)
    return {
        "rows": lines - 1,
        "bytes": size,
        "seconds": time.perf_counter() - started,
        "rss_before": before,
        "rss_peak": sampler.peak,
    }


def wait_until_listening(port: int, deadline: float = 30.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("the gradebook server did not start")


def report(results: dict[int, dict], settings: Settings) -> str:
    mib = 1024 * 1024
    lines = [
        "# Gradebook at size",
        "",
        "`python -m benchmarks.gradebook` on this machine (2 cores), PostgreSQL local; the",
        "server is one process with the gateway's roster route and the roster service (the code",
        "an ingress replica runs for `GET /courses/{id}/gradebook.csv`), keyset pages of",
        f"{settings.gradebook_page_rows} enrollments. RSS of that process, sampled every 20 ms.",
        "",
        "| enrollments | rows | MiB streamed | seconds | RSS before (MiB) | peak RSS (MiB) |",
        "|---|---|---|---|---|---|",
    ]
    for size, r in sorted(results.items()):
        lines.append(
            f"| {size:,} | {r['rows']:,} | {r['bytes'] / mib:.1f} | {r['seconds']:.1f} | "
            f"{r['rss_before'] / mib:.1f} | {r['rss_peak'] / mib:.1f} |"
        )
    small, large = results[min(results)], results[max(results)]
    growth = (large["rss_peak"] - small["rss_peak"]) / mib
    lines += [
        "",
        f"Peak RSS grows by {growth:.1f} MiB from the {min(results):,} to the "
        f"{max(results):,} enrollment course while the CSV grows "
        f"{large['bytes'] / small['bytes']:.0f}x: memory is flat in the course's size.",
        "The RSS before is the process's imports (Ray, SQLAlchemy, FastAPI) and its pools;",
        "each page of rows is rendered, sent and dropped before the next is read.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enrollments", type=int, default=100_000)
    parser.add_argument("--report", type=Path, default=Path("benchmarks/results/gradebook.md"))
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    settings = bench_settings(get_settings())
    if args.serve:
        serve(settings, args.serve)
        return
    courses = asyncio.run(seed(settings, args.enrollments))
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.gradebook", "--serve", str(port)], env=os.environ
    )
    try:
        wait_until_listening(port)
        stream(port, courses[SMALL], server.pid)  # warm-up: imports, pool, first plans
        results = {size: stream(port, course_id, server.pid) for size, course_id in courses.items()}
    finally:
        server.terminate()
        server.wait(timeout=30)
    text_report = report(results, settings)
    args.report.write_text(text_report)
    print(text_report)


if __name__ == "__main__":
    main()
