"""The job registry and the one way to run a job: connect to Ray, read, aggregate, write."""

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import ray
import ray.data

from core.settings import Settings
from jobs import dropoff, funnel, leaderboard, time_to_complete
from jobs.archive import EventArchiveSource
from jobs.report import JobResult, write_report
from jobs.source import DatabaseSource, Source

log = logging.getLogger(__name__)

JOBS: dict[str, Callable[[Source], JobResult]] = {
    "funnel": funnel.run,
    "time_to_complete": time_to_complete.run,
    "dropoff": dropoff.run,
    "leaderboard": leaderboard.run,
}
# Jobs that only read enrollments, lesson completions and course structure, so an event
# archive can stand in for the first two.
EVENT_JOBS = frozenset({"funnel", "time_to_complete"})


class NothingToAnalyse(Exception):
    """The source holds no enrollments, so no job has anything to report."""


def connect_ray(address: str | None = None) -> None:
    """Reuse a connected Ray; else join `address`, else a running cluster, else start one here."""
    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if address:
        ray.init(address=address)
    else:
        try:
            ray.init(address="auto")
        except ConnectionError:
            ray.init(include_dashboard=False)
    log.info("event=ray_connected resources=%s", ray.cluster_resources())
    free = ray.available_resources().get("CPU", 0.0)
    if free < 1:
        # Read and aggregate tasks take a CPU each; without one they wait, silently.
        log.warning(
            "event=job_short_of_cpus available=%.2f hint='the cluster's CPUs are held by the "
            "running system: add a node, or give a local Ray more (SMARTCOURSE_RAY_NUM_CPUS)'",
            free,
        )


def run_job(
    name: str,
    settings: Settings,
    out_dir: Path,
    *,
    events: Path | None = None,
    address: str | None = None,
    partitions: int = 4,
) -> Path:
    """Run job `name` against the settings' database (or, for the event jobs, an archive
    folder of JSON-lines event envelopes) and write `out_dir/NAME.{parquet,md,png}`.

    Blocking: from async code, call it in a thread. Returns the parquet path."""
    if name not in JOBS:
        raise ValueError(f"unknown job {name!r}; jobs: {', '.join(sorted(JOBS))}")
    if events is not None and name not in EVENT_JOBS:
        raise ValueError(f"job {name!r} reads the database only; --events serves {EVENT_JOBS}")
    connect_ray(address or settings.ray_address)
    ray.data.DataContext.get_current().enable_progress_bars = False
    source: Source = DatabaseSource(settings, partitions)
    if events is not None:
        source = EventArchiveSource(events, fallback=source)
    if not source.has_rows("enrollments"):
        raise NothingToAnalyse(
            f"no enrollments in {'the event archive' if events else 'the database'}: every job "
            "reports on enrollments and their progress"
        )
    started = time.perf_counter()
    log.info("event=job_started job=%s source=%s", name, events or "postgres")
    result = JOBS[name](source)
    path = write_report(result, out_dir)
    log.info(
        "event=job_finished job=%s rows=%d seconds=%.2f out=%s",
        name,
        len(result.table),
        time.perf_counter() - started,
        path,
    )
    return path


def add_job_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of one job run, shared by `python -m jobs` and `smartcourse job run`."""
    parser.add_argument("name", choices=sorted(JOBS))
    parser.add_argument("--out", type=Path, required=True, help="folder for the three outputs")
    parser.add_argument("--address", help="Ray address (default: running cluster, else local)")
    parser.add_argument(
        "--events",
        type=Path,
        help="folder of JSON-lines event envelopes read instead of the database, for "
        + ", ".join(sorted(EVENT_JOBS)),
    )
    parser.add_argument("--partitions", type=int, default=4, help="read tasks per table")


def run_from_arguments(args: argparse.Namespace, settings: Settings) -> int:
    """Run the job the arguments name; the process exit code."""
    try:
        path = run_job(
            args.name,
            settings,
            args.out,
            events=args.events,
            address=args.address,
            partitions=args.partitions,
        )
    except NothingToAnalyse as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {path}, {path.with_suffix('.md')} and {path.with_suffix('.png')}")
    return 0
