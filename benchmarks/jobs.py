"""The jobs' scale benchmark: `python -m benchmarks.jobs` (`make jobs-bench`).

For each size (lesson completions: 1,500 by default first, a few hundred enrollments like a
journey's database, then 10k, 1M and 10M) it seeds a database of its own through the bulk
path (benchmarks/jobs_seed.py, COPY), then times every Ray Data job (`jobs.run_job`, report
files included) and the same question asked of PostgreSQL as one SQL query
(benchmarks/jobs_sql.py), in the same run, with the peak memory each added. Ray is a local
one with a CPU per core. Writes benchmarks/results/jobs.md and jobs.png (time against rows);
each database is dropped afterwards.
"""

import argparse
import asyncio
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import psutil
import ray

from benchmarks.jobs_report import write_results
from benchmarks.jobs_seed import Shape, seed
from benchmarks.jobs_sql import QUERIES
from benchmarks.machine import machine, python_speed
from core.settings import Settings, get_settings
from jobs import JOBS, run_job
from storage import migrate
from storage.dsn import plain_dsn

SIZES = (1_500, 10_000, 1_000_000, 10_000_000)
RESULTS = Path(__file__).with_name("results")


@dataclass(frozen=True)
class Timing:
    rows: int
    job: str
    ray_seconds: float
    sql_seconds: float
    ray_peak_mb: float
    sql_peak_mb: float
    result_rows: int
    sql_rows: int
    # The machine's 1-minute load average after the pair: others' work skews the times.
    load: float


def tree_rss(roots: Callable[[], list[psutil.Process]]) -> int:
    """Resident bytes of the processes `roots` names and their descendants."""
    total = 0
    for root in roots():
        try:
            for process in [root, *root.children(recursive=True)]:
                total += process.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


@contextmanager
def peak_memory(roots: Callable[[], list[psutil.Process]]) -> Iterator[list[float]]:
    """Samples the processes' RSS every 0.1 s; yields a list that ends up holding the peak
    minus the RSS before, in MB (RSS counts shared memory touched: plasma, shared_buffers)."""
    before = tree_rss(roots)
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            peak[0] = max(peak[0], tree_rss(roots))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    result = [0.0]
    try:
        yield result
    finally:
        done.set()
        thread.join()
        peak[0] = max(peak[0], tree_rss(roots))
        result[0] = (peak[0] - before) / 2**20


def postgres_processes(backend: int) -> Callable[[], list[psutil.Process]]:
    """The query's backend and its parallel workers (titled `parallel worker for PID n`)."""

    def find() -> list[psutil.Process]:
        found = [psutil.Process(backend)]
        for process in psutil.process_iter(["cmdline"]):
            if f"parallel worker for PID {backend}" in " ".join(process.info["cmdline"] or []):
                found.append(process)
        return found

    return find


async def time_query(settings: Settings, sql: str) -> tuple[float, float, int]:
    """Seconds, peak MB and rows of one query on a fresh connection."""
    conn = await asyncpg.connect(plain_dsn(settings.database_url))
    try:
        backend = await conn.fetchval("SELECT pg_backend_pid()")
        with peak_memory(postgres_processes(backend)) as peak:
            started = time.perf_counter()
            rows = await conn.fetch(sql)
            seconds = time.perf_counter() - started
    finally:
        await conn.close()
    return seconds, peak[0], len(rows)


def ray_processes() -> list[psutil.Process]:
    return [psutil.Process()]


def measure(settings: Settings, rows: int, out: Path) -> list[Timing]:
    timings = []
    for name in JOBS:
        with peak_memory(ray_processes) as peak:
            run = run_job(name, settings, out)
        print(run.summary, flush=True)
        sql_seconds, sql_peak, sql_rows = asyncio.run(time_query(settings, QUERIES[name]))
        print(f"  sql {name}: {sql_seconds:.2f} s, {sql_rows} rows", flush=True)
        timings.append(
            Timing(
                rows,
                name,
                run.seconds,
                sql_seconds,
                peak[0],
                sql_peak,
                run.rows,
                sql_rows,
                os.getloadavg()[0],
            )
        )
    return timings


def one_size(base: Settings, completions: int, out: Path) -> tuple[list[Timing], float]:
    """Seed, measure and drop one size's database; (timings, seconds to seed)."""
    url = base.database_url.rsplit("/", 1)[0] + f"/smartcourse_jobs_bench_{completions}"
    settings = base.model_copy(update={"database_url": url})
    asyncio.run(migrate.drop_database(url))
    migrate.upgrade(settings)
    try:
        started = time.perf_counter()
        written = asyncio.run(seed(settings, Shape(completions)))
        seeded = time.perf_counter() - started
        print(f"seeded {written} lesson completions in {seeded:.1f} s", flush=True)
        return measure(settings, written, out), seeded
    finally:
        asyncio.run(migrate.drop_database(url))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.jobs", description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    python_speed()  # the speed reference, taken before this run starts anything
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    started = time.perf_counter()
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, logging_level="WARNING")
    ray_start = time.perf_counter() - started
    timings, seeding = [], {}
    try:
        with tempfile.TemporaryDirectory() as out:
            for size in args.sizes:
                found, seeding[size] = one_size(get_settings(), size, Path(out))
                timings += found
    finally:
        ray.shutdown()
    write_results(args.results, timings, seeding, machine(), ray_start)


if __name__ == "__main__":
    main()
