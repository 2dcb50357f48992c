"""The progress benchmark: durable lesson completions per second through the gateway, with
p50/p95/p99, next to the baseline (plain FastAPI + asyncpg, one transaction per completion)
in the same run, against the same PostgreSQL. `make bench` runs it and writes
benchmarks/results/progress.md.

Each target gets closed-loop runs (every locust user sends its next completion as soon as the
last one answered: the peak), taking turns with the other target (`BENCH_ROUNDS`), then an
open run at half of its mean peak for the latencies there. Every request is a new (student,
lesson) pair, and the acknowledged count is checked against the rows in PostgreSQL afterwards.
"""

import asyncio
import csv
import json
import logging
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psutil
import ray
import redis
from sqlalchemy import func, select

from benchmarks.cpu import CpuUsage, busy, cpu_usage
from benchmarks.entity_memory import ENTITIES
from benchmarks.entity_memory import table as entity_table
from benchmarks.event_lag import CONCURRENCY as LAG_CONCURRENCY
from benchmarks.event_lag import ENROLLMENTS, measure_event_lag
from benchmarks.machine import machine, python_speed
from benchmarks.population import Population, seed_population
from core.settings import Settings, get_settings
from serve import runtime
from serve.stack import LocalStack
from storage import migrate
from storage.db import Database
from storage.models.enrollment import LessonCompletion
from tests.conftest import test_environment

log = logging.getLogger("benchmarks.progress")
RESULTS = Path(__file__).with_name("results")
LOCUST = "locust (the load generator)"
USERS = int(os.environ.get("BENCH_USERS", "64"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "20"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
STUDENTS = int(os.environ.get("BENCH_STUDENTS", "2000"))
MODULES, LESSONS = 5, 10
# The machine counts as quiet once a second passes with under this much of one core busy (the
# idle stack takes 13-19 %); a phase waits for it at most SETTLE_LIMIT_SECONDS.
QUIET_CORE_SHARE = 0.4
SETTLE_LIMIT_SECONDS = 120


@dataclass
class Run:
    target: str
    phase: str
    users: int
    requests: int
    failures: int
    rps: float
    p50: float
    p95: float
    p99: float


@dataclass
class Leftover:
    """What a phase left to do: the seconds until the machine was quiet again after it, and the
    busy CPU seconds of the machine in that time (events relayed, notices and emails sent)."""

    target: str
    phase: str
    seconds: float
    busy_seconds: float


def settle() -> tuple[float, float]:
    """Wait until the machine is quiet (QUIET_CORE_SHARE), so that the next phase does not run
    beside the work the last one deferred; answer the seconds waited and the busy CPU seconds
    in them."""
    started, first = time.monotonic(), busy(psutil.cpu_times())
    while time.monotonic() - started < SETTLE_LIMIT_SECONDS:
        before = busy(psutil.cpu_times())
        time.sleep(1)  # the measurement: the machine's busy CPU over one second
        if busy(psutil.cpu_times()) - before < QUIET_CORE_SHARE:
            break
    return time.monotonic() - started, busy(psutil.cpu_times()) - first


def locust_command(locustfile: str, host: str, users: int, seconds: int, prefix: Path) -> list[str]:
    """Headless locust writing `{prefix}_stats.csv`, niced: the load generator yields the CPU to
    the systems under test (same 2 cores)."""
    return [
        "nice",
        "-n",
        "19",
        str(Path(sys.executable).with_name("locust")),
        "-f",
        str(Path(__file__).with_name(locustfile)),
        "--headless",
        "-u",
        str(users),
        "-r",
        str(users),
        "-t",
        f"{seconds}s",
        "--host",
        host,
        "--csv",
        str(prefix),
        "--only-summary",
        "--stop-timeout",
        "5",
        "--loglevel",
        "WARNING",
    ]


def locust_stats(prefix: Path, table: str = "stats") -> list[dict[str, str]]:
    """The rows of a locust run's CSV `table`: for `stats`, one per request name, then
    `Aggregated`; for `failures`, one per request and error."""
    with open(f"{prefix}_{table}.csv") as rows:
        return list(csv.DictReader(rows))


def locust(target: str, phase: str, host: str, work: Path, rate: float, out: Path) -> Run:
    prefix = out / f"{target}-{phase.replace(' ', '')}"
    env = os.environ | {"BENCH_WORK": str(work), "BENCH_USER_RATE": str(rate)}
    command = locust_command("locust_progress.py", host, USERS, SECONDS, prefix)
    log.info(
        "event=locust target=%s phase=%s users=%d rate_per_user=%.1f", target, phase, USERS, rate
    )
    subprocess.run(command, env=env, check=False, capture_output=True)
    row = next(r for r in locust_stats(prefix) if r["Name"] == "Aggregated")
    run = Run(
        target,
        phase,
        USERS,
        int(row["Request Count"]),
        int(row["Failure Count"]),
        float(row["Requests/s"]),
        float(row["50%"]),
        float(row["95%"]),
        float(row["99%"]),
    )
    log.info("event=locust_done %s", run)
    return run


def work_file(population: Population, start: int, out: Path, name: str) -> Path:
    path = out / f"{name}.json"
    path.write_text(
        json.dumps({"tokens": population.tokens, "lessons": population.lesson_ids, "start": start})
    )
    return path


def measure(
    hosts: dict[str, str], populations: dict[str, Population], out: Path
) -> tuple[list[Run], dict[str, tuple[CpuUsage, CpuUsage]], list[Leftover]]:
    """Each target's warm-up; then ROUNDS of closed-loop peaks, the targets taking turns and the
    order flipping every round, so a drift in the machine's speed favours neither; then each
    target's open run at half of its mean peak. Every phase starts on a quiet machine: after
    each, the next waits until what it deferred is done (`settle`), or SmartCourse's relayed
    events, notices and emails would run in the baseline's phase after it. The CPU is measured
    during the first round: each peak alone, and with the wait after it, which includes what
    it deferred."""
    slices = ROUNDS + 1  # each phase of a target gets its own (student, lesson) pairs

    def phase(target: str, name: str, index: int, rate: float) -> Run:
        population = populations[target]
        students = len(population.tokens)  # the first lesson's pairs are the warm-up's
        per_run = students * (len(population.lesson_ids) - 1) // slices
        work = work_file(population, students + (index - 1) * per_run, out, f"{target}-{index}")
        return locust(target, name, hosts[target], work, rate, out)

    runs = [
        asyncio.run(activate_all(target, hosts[target], populations[target])) for target in hosts
    ]
    settle()
    usage: dict[str, tuple[CpuUsage, CpuUsage]] = {}
    leftovers: list[Leftover] = []
    for n in range(1, ROUNDS + 1):
        for target in list(hosts)[:: 1 if n % 2 else -1]:
            with cpu_usage(children=LOCUST) as spent:
                with cpu_usage(children=LOCUST) as during:
                    runs.append(phase(target, f"peak {n}", n, 0))
                leftovers.append(Leftover(target, f"peak {n}", *settle()))
            usage.setdefault(target, (during, spent))
    for target in hosts:
        rate = mean_peak(runs, target) / 2 / USERS
        runs.append(phase(target, "half", ROUNDS + 1, rate))
        leftovers.append(Leftover(target, "half", *settle()))
    return runs, usage, leftovers


async def activate_all(target: str, host: str, population: Population) -> Run:
    """The warm-up: every student completes the first lesson, USERS at a time, so each student's
    entity is active before the measured phases and those time completions, not activations."""
    client = httpx.AsyncClient(
        base_url=host, timeout=60, limits=httpx.Limits(max_connections=USERS)
    )
    gate = asyncio.Semaphore(USERS)
    lesson = population.lesson_ids[0]

    async def complete(token: str) -> tuple[bool, float]:
        async with gate:
            started = time.perf_counter()
            answer = await client.post(
                f"/lessons/{lesson}/complete", headers={"Authorization": f"Bearer {token}"}
            )
            return answer.status_code == 200, time.perf_counter() - started

    started = time.monotonic()
    async with client:
        answers = await asyncio.gather(*(complete(token) for token in population.tokens))
    elapsed = time.monotonic() - started
    ok = sum(done for done, _ in answers)
    cuts = statistics.quantiles([seconds * 1000 for _, seconds in answers], n=100)
    run = Run(
        target,
        "warm-up",
        USERS,
        len(answers),
        len(answers) - ok,
        len(answers) / elapsed,
        cuts[49],
        cuts[94],
        cuts[98],
    )
    log.info("event=warmed_up %s", run)
    return run


def peaks(runs: list[Run], target: str) -> list[Run]:
    return [r for r in runs if r.target == target and r.phase.startswith("peak")]


def mean_peak(runs: list[Run], target: str) -> float:
    return statistics.fmean(r.rps for r in peaks(runs, target))


async def stored_completions(settings: Settings, population: Population) -> int:
    db = Database(settings)
    try:
        async with db.unit_of_work() as uow:
            return await uow.session.scalar(
                select(func.count())
                .select_from(LessonCompletion)
                .where(LessonCompletion.lesson_id.in_(population.lesson_ids))
            )
    finally:
        await db.dispose()


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def report(runs: list[Run], acknowledged: dict[str, tuple[int, int]], elapsed: float) -> str:
    half = next(r for r in runs if (r.target, r.phase) == ("smartcourse", "half"))
    system, baseline = mean_peak(runs, "smartcourse"), mean_peak(runs, "baseline")
    rounds = [
        a.rps / b.rps if b.rps else float("nan")
        for a, b in zip(peaks(runs, "smartcourse"), peaks(runs, "baseline"), strict=True)
    ]
    ratio = system / baseline if baseline else float("nan")
    lines = [
        "# Progress benchmark: durable lesson completions",
        "",
        f"Machine: {machine()}. Python {platform.python_version()}, Ray {ray.__version__}.",
        f"Run: {USERS} locust users, {SECONDS} s per phase, {STUDENTS} students per target x "
        f"{MODULES * LESSONS} lessons; run took {elapsed:.0f} s. "
        "Locust ran on the same machine, so it shares the 2 cores with the system under test.",
        f"The peaks ran in {ROUNDS} rounds, the targets taking turns (the order flips every "
        "round); the half phase is an open run (Poisson arrivals) at half of the mean peak. "
        "Every phase began on a quiet machine, once the work the phase before deferred was done "
        "(below).",
        "",
        "| target | phase | requests | failures | completions/s | p50 ms | p95 ms | p99 ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.target} | {r.phase} | {r.requests} | {r.failures} | {r.rps:.0f} "
        f"| {r.p50:.0f} | {r.p95:.0f} | {r.p99:.0f} |"
        for r in runs
        if r.phase != "warm-up"
    ]
    lines += [
        "",
        f"Throughput ratio SmartCourse / baseline, mean peaks: **{ratio:.2f}x** (by round: "
        + ", ".join(f"{r:.2f}x" for r in rounds)
        + ").",
        "",
        "Targets (issue #5) on this machine:",
        f"- >= 1,500 durable completions/s: {system:.0f}/s ({verdict(system >= 1500)}).",
        f"- p99 <= 50 ms at half of the peak: {half.p99:.0f} ms ({verdict(half.p99 <= 50)}).",
        f"- at least the baseline's throughput: {verdict(ratio >= 1)} ({ratio:.2f}x).",
        "",
        "Durability check over all phases (warm-up included): every acknowledged completion must",
        "be stored; more may be stored than counted, as locust does not count the requests it",
        "cuts off when a phase ends.",
    ]
    lines += [
        f"- {t}: {ok} acknowledged, {rows} stored ({verdict(rows >= ok)})."
        for t, (ok, rows) in acknowledged.items()
    ]
    return "\n".join(lines) + "\n"


@contextmanager
def running_baseline() -> Iterator[str]:
    """The baseline serving for the block on a socket bound here; yields its URL."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        fd = listener.fileno()
        baseline = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.baseline", str(fd)],
            env=os.environ.copy(),
            pass_fds=[fd],
        )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        baseline.terminate()
        baseline.wait(10)


def cpu_report(usage: dict[str, tuple[CpuUsage, CpuUsage]], peaks: dict[str, Run]) -> str:
    """Per target, the CPU its peak phase cost the machine per completion: during the peak, and
    with what it deferred, by process."""
    lines = [
        "",
        "Where the CPU went during the first round's peaks, each with the wait until the machine "
        "was quiet after it (CPU ms per completion, by process):",
    ]
    for target, (during, spent) in usage.items():
        done = peaks[target].requests - peaks[target].failures
        per = 1000 / done if done else float("nan")
        lines += [
            "",
            f"{target}: during the peak the {during.cores} cores were {during.busy_share:.0%} "
            f"busy, {during.busy_seconds * per:.2f} CPU ms per completion; with the wait after "
            f"it, {spent.busy_share:.0%} busy and {spent.busy_seconds * per:.2f} CPU ms per "
            f"completion in all; the hypervisor took {spent.steal_share:.1%} (steal). During "
            f"the peak {during.threads_waiting:.1f} threads were waiting for a CPU on average "
            f"({spent.threads_waiting:.1f} with the wait after it).",
            "",
            "| process | CPU ms per completion | share of the busy CPU | waited for a CPU, ms "
            "per completion |",
            "|---|---|---|---|",
        ]
        waited = spent.waiting_by_process
        lines += [
            f"| `{name}` | {seconds * per:.2f} | {seconds / spent.busy_seconds:.0%} | "
            + (f"{waited[name] * per:.2f} |" if name in waited else " |")
            for name, seconds in spent.by_process.items()
            if spent.busy_seconds
        ]
    return "\n".join(lines) + "\n"


def leftover_report(leftovers: list[Leftover]) -> str:
    lines = [
        "",
        "What each phase deferred: the seconds until the machine was quiet again after it (under "
        f"{QUIET_CORE_SHARE:.0%} of a core busy for a second; the next phase waited for it) and "
        "the machine's busy CPU seconds in them:",
        "",
        "| target | phase | seconds until quiet | busy CPU seconds |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {left.target} | {left.phase} | {left.seconds:.0f} | {left.busy_seconds:.1f} |"
        for left in leftovers
    ]
    return "\n".join(lines) + "\n"


def lag_report(lags: list[tuple]) -> str:
    lines = [
        "",
        f"Event lag, commit of `enrollment.created` to each consumer group's effect "
        f"({ENROLLMENTS} enrollments over HTTP, {LAG_CONCURRENCY} at a time, after the load):",
        "",
        "| consumer group | events | p50 ms | p99 ms |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {group} | {n} | {p50 * 1000:.0f} | {p99 * 1000:.0f} |" for group, n, p50, p99 in lags
    ]
    return "\n".join(lines) + "\n"


def entity_report() -> str:
    lines = [
        "",
        "Shard memory per active enrollment entity (benchmarks/entity_memory.py: one student's "
        f"entity holding one enrollment, {ENTITIES:,} of them, tracemalloc; goal <= 1,024 bytes "
        "with 10 lessons done):",
        "",
        *entity_table(ENTITIES),
    ]
    return "\n".join(lines) + "\n"


def spare_redis_url(url: str) -> str:
    """The URL of a Redis database holding no keys. Ids repeat in a fresh PostgreSQL database,
    so an earlier run's cached rows must not be read, and a test session's must not be
    cleared; the benchmark empties it again when it ends (`clear_redis`)."""
    client = redis.Redis.from_url(url)
    try:
        used = {int(name.removeprefix("db")) for name in client.info("keyspace")}
        count = int(client.config_get("databases")["databases"])
    finally:
        client.close()
    spare = next((n for n in range(1, count) if n not in used), None)
    if spare is None:
        raise RuntimeError(f"every Redis database at {url} holds keys; none is free for the run")
    return urlunsplit(urlsplit(url)._replace(path=f"/{spare}"))


def clear_redis(settings: Settings) -> None:
    client = redis.Redis.from_url(settings.redis_url)
    try:
        client.flushdb()
    finally:
        client.close()


@contextmanager
def deployed_stack(settings: Settings) -> Iterator[None]:
    """A benchmark's own SmartCourse for the block: its servers, schema, Ray and Serve app;
    afterwards Ray is down, the database dropped and the Redis database emptied."""
    # Serve's driver lines (starting Serve, "is ready") are routine here: its warnings only.
    logging.getLogger("ray.serve").setLevel(logging.WARNING)
    with LocalStack(settings, ephemeral=True, headless=True):
        migrate.upgrade(settings)
        runtime.start_ray(settings)
        try:
            runtime.deploy(settings)
            yield
        finally:
            runtime.shutdown(settings)
            asyncio.run(migrate.drop_database(settings.database_url))
            clear_redis(settings)


def bench_settings(out: Path, extra: dict[str, str] | None = None) -> Settings:
    """Settings for a benchmark's own stack: free ports, a PostgreSQL and a Redis database of
    its own, `extra` env."""
    env = test_environment(out)
    env |= {
        "SMARTCOURSE_DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:5432/"
        f"smartcourse_bench_{os.getpid()}",
        "SMARTCOURSE_REDIS_URL": spare_redis_url(env["SMARTCOURSE_REDIS_URL"]),
        "SMARTCOURSE_ENVIRONMENT": "local",
        "SMARTCOURSE_RAY_NUM_CPUS": "2",
        "SMARTCOURSE_LOG_LEVEL": "WARNING",
    }
    os.environ.update(env | (extra or {}))
    get_settings.cache_clear()
    return get_settings()


def main() -> None:
    python_speed()  # the speed reference, taken before this run starts anything
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    started = time.monotonic()
    out = Path(tempfile.mkdtemp(prefix="sc-bench-"))
    settings = bench_settings(out)
    with deployed_stack(settings):
        populations = {
            target: asyncio.run(seed_population(settings, STUDENTS, MODULES, LESSONS))
            for target in ("smartcourse", "baseline")
        }
        with running_baseline() as baseline_host:
            hosts = {
                "smartcourse": f"http://127.0.0.1:{settings.http_port}",
                "baseline": baseline_host,
            }
            runs, usage, leftovers = measure(hosts, populations, out)
        lags = asyncio.run(
            measure_event_lag(settings, populations["smartcourse"].tokens, hosts["smartcourse"])
        )
        acknowledged = {
            target: (
                sum(r.requests - r.failures for r in runs if r.target == target),
                asyncio.run(stored_completions(settings, populations[target])),
            )
            for target in hosts
        }
    RESULTS.mkdir(exist_ok=True)
    firsts = {target: peaks(runs, target)[0] for target in usage}
    text = (
        report(runs, acknowledged, time.monotonic() - started)
        + cpu_report(usage, firsts)
        + leftover_report(leftovers)
        + lag_report(lags)
        + entity_report()
    )
    (RESULTS / "progress.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
