"""The load benchmark, `python -m benchmarks.run` (`make loadtest`): starts its own SmartCourse
on free ports as benchmarks/progress.py does, seeds a realistic population (benchmarks/seed.py),
and runs the locust scenario (benchmarks/locustfile.py) at stepped loads against SmartCourse,
then against the baseline (benchmarks/baseline) on the same database. Around the load it times
the enrollment workflow (during the busiest step), the event lag and the course cache's hit
rate; it writes benchmarks/results/load.md and load.png.

Sizes come from env vars, for short trial runs: LOAD_STEPS (users per step, "8,16,32,64,128"),
LOAD_STEP_SECONDS (45), LOAD_WARMUP_SECONDS (15), LOAD_COURSES, LOAD_STUDENTS and
LOAD_ENROLLMENTS (the seeder's defaults).
"""

import asyncio
import logging
import os
import platform
import random
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from importlib.metadata import version
from pathlib import Path

import asyncpg
import ray

from benchmarks.cache_hits import cache_lookups, settled_cache_lookups
from benchmarks.cpu import cpu_usage
from benchmarks.enrollment_workflow import measure_enrollment_workflow
from benchmarks.event_lag import measure_event_lag
from benchmarks.footprint import measure
from benchmarks.load_report import LoadResult, Step, write_report
from benchmarks.machine import python_speed
from benchmarks.progress import (
    RESULTS,
    bench_settings,
    deployed_stack,
    locust_command,
    locust_stats,
    running_baseline,
)
from benchmarks.seed import LoadPopulation, SeededStudent, Shape, seed
from core.settings import Settings
from storage.dsn import plain_dsn

log = logging.getLogger("benchmarks.run")
STEPS = tuple(int(n) for n in os.environ.get("LOAD_STEPS", "8,16,32,64,128").split(","))
STEP_SECONDS = int(os.environ.get("LOAD_STEP_SECONDS", "45"))
WARMUP_SECONDS = int(os.environ.get("LOAD_WARMUP_SECONDS", "15"))
SHAPE = Shape(
    **{
        f.name: int(os.environ[f"LOAD_{f.name.upper()}"])
        for f in fields(Shape)
        if f"LOAD_{f.name.upper()}" in os.environ
    }
)
TARGETS = ("smartcourse", "baseline")
# Each (target, step) run acts as its own slice of the students; the last slice is the probes'.
SLICES = len(TARGETS) * (len(STEPS) + 1) + 1
WORKFLOW_SAMPLE = 20


def run_step(step: Step, host: str, work: Path, index: int, out: Path) -> Step:
    """One headless locust run of the scenario; its summary goes into `step`."""
    prefix = out / f"{step.target}-{index}-{step.users}u"
    env = os.environ | {"BENCH_WORK": str(work), "BENCH_SLICE": f"{index}/{SLICES}"}
    command = locust_command("locustfile.py", host, step.users, step.seconds, prefix)
    with (
        open(f"{prefix}.log", "w") as output,
        cpu_usage(children="locust (the load generator)") as spent,
    ):
        subprocess.run(command, env=env, check=False, stdout=output, stderr=subprocess.STDOUT)
    step.cpu, step.steal = spent.by_process, spent.steal_share
    step.waited, step.threads_waiting = spent.waiting_by_process, spent.threads_waiting
    step.rows = locust_stats(prefix)
    step.failures = locust_stats(prefix, "failures")
    return step


Probe = Callable[[], list[float | None]]


def run_target(
    target: str,
    host: str,
    work: Path,
    out: Path,
    clock: Callable[[], float],
    probe: Probe | None = None,
) -> tuple[list[Step], list[float | None]]:
    """The warm-up and every step against one target; `probe` runs in a thread during the
    busiest step, and its answer comes back with the steps."""
    loads = [("warm-up", STEPS[0], WARMUP_SECONDS)] + [("load", u, STEP_SECONDS) for u in STEPS]
    first = TARGETS.index(target) * len(loads)
    steps: list[Step] = []
    probed: list[float | None] = []
    for n, (phase, users, seconds) in enumerate(loads):
        log.info(
            "event=step target=%s step=%d/%d phase=%s users=%d seconds=%d elapsed=%.0fs",
            *(target, n, len(loads) - 1, phase, users, seconds, clock()),
        )
        step = Step(target, phase, users, seconds, [])
        with ThreadPoolExecutor(max_workers=1) as pool:
            busiest = probe is not None and n == len(loads) - 1
            future = pool.submit(probe) if busiest else None
            steps.append(run_step(step, host, work, first + n, out))
            probed = future.result() if future else probed
        log.info(
            "event=step_done target=%s users=%d requests=%d failures=%d rps=%.0f p50=%.0f "
            "p95=%.0f p99=%.0f elapsed=%.0fs",
            *(target, users, step.requests, step.failed, step.rps),
            *(step.latency("p50"), step.latency("p95"), step.latency("p99"), clock()),
        )
    return steps, probed


def workflow_probe(population: LoadPopulation, probes: list[SeededStudent], host: str) -> Probe:
    """Each probe student enrolls in a course they are not in yet, drawn by popularity."""
    rng = random.Random(0)
    pairs = []
    for student in probes[:WORKFLOW_SAMPLE]:
        taken = {e.course_id for e in student.enrollments}
        choices = [c for c in population.courses if c.id not in taken]
        course = rng.choices(choices, [c.enrolled + 1 for c in choices])[0]
        pairs.append((student.token, course.id))

    def probe() -> list[float | None]:
        times = asyncio.run(measure_enrollment_workflow(host, pairs))
        log.info("event=enrollment_workflow times=%s", [t and round(t, 2) for t in times])
        return times

    return probe


async def postgres_version(settings: Settings) -> str:
    conn = await asyncpg.connect(plain_dsn(settings.database_url))
    try:
        return await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()


def seeded_counts(population: LoadPopulation) -> dict[str, int]:
    enrollments = [e for s in population.students for e in s.enrollments]
    return {
        "courses": len(population.courses),
        "lessons": sum(len(c.lessons) for c in population.courses),
        "quizzes": sum(len(c.quizzes) for c in population.courses),
        "instructors": len(population.instructors),
        "students": len(population.students),
        "enrollments": len(enrollments),
        "enrollments with progress": sum(1 for e in enrollments if e.completed),
        "lessons done": sum(len(e.completed) for e in enrollments),
    }


def benchmark(settings: Settings, out: Path, clock: Callable[[], float]) -> LoadResult:
    """Seed, then both targets and the probes, on a deployed stack."""
    footprint = measure()
    log.info(
        "event=footprint idle=%.1f%% memory_mb=%.0f elapsed=%.0fs",
        100 * footprint.idle_core_share,
        footprint.pss_mb,
        clock(),
    )
    population = asyncio.run(seed(settings, SHAPE))
    work = population.write(out / "work.json")
    log.info("event=seeded seconds=%.1f elapsed=%.0fs", population.seconds, clock())
    probes = population.students[SLICES - 1 :: SLICES]
    host = f"http://127.0.0.1:{settings.http_port}"
    before = cache_lookups(settings)
    steps, workflow = run_target(
        "smartcourse", host, work, out, clock, workflow_probe(population, probes, host)
    )
    lag_tokens = [s.token for s in probes[WORKFLOW_SAMPLE:]]
    lags = asyncio.run(measure_event_lag(settings, lag_tokens, host))
    log.info("event=event_lag groups=%s elapsed=%.0fs", lags, clock())
    cache = settled_cache_lookups(settings)
    cache.subtract(before)
    with running_baseline() as baseline:
        steps += run_target("baseline", baseline, work, out, clock)[0]
    versions = {
        "Python": platform.python_version(),
        "Ray": ray.__version__,
        "FastAPI": version("fastapi"),
        "locust": version("locust"),
        "PostgreSQL": asyncio.run(postgres_version(settings)),
    }
    counts = seeded_counts(population)
    result = LoadResult(counts, population.seconds, steps, workflow, lags, cache, versions)
    result.footprint = footprint
    return result


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    # Progress lines: this run's steps and the stack's start; not every request and email.
    for name in ("benchmarks", "serve.stack"):
        logging.getLogger(name).setLevel(logging.INFO)
    python_speed()  # the speed reference, taken before this run starts anything
    started = time.monotonic()

    def clock() -> float:
        return time.monotonic() - started

    out = Path(tempfile.mkdtemp(prefix="sc-load-"))
    log.info("event=start work_dir=%s", out)
    settings = bench_settings(out, {"SMARTCOURSE_TRUST_FORWARDED_FOR": "true"})
    with deployed_stack(settings):
        log.info("event=deployed elapsed=%.0fs", clock())
        result = benchmark(settings, out, clock)
    result.elapsed = clock()
    write_report(result, RESULTS)
    log.info("event=done elapsed=%.0fs report=%s", result.elapsed, RESULTS / "load.md")


if __name__ == "__main__":
    main()
