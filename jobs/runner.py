"""The job registry and the one way to run a job: connect to Ray, read, aggregate, write."""

import argparse
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import ray
import ray.data

from core.settings import Settings
from jobs import dropoff, funnel, leaderboard, time_to_complete
from jobs.archive import archive_source
from jobs.report import JobResult, period_text, write_report
from jobs.sizing import Sizing, Stages, cluster_cpus
from jobs.source import DatabaseSource, Source

log = logging.getLogger(__name__)

JOBS: dict[str, Callable[[Source, Stages], JobResult]] = {
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


@dataclass(frozen=True)
class JobRun:
    """What one run wrote and the line that sums it up."""

    path: Path
    rows: int
    seconds: float
    summary: str


def plan(source: Source, cpus: int, sizing: Sizing, progress_bars: bool) -> str:
    """Size the job from its largest table; the sizing, as words for the summary line."""
    rows = max(source.rows(table) for table in ("enrollments", "lesson_completions"))
    partitions = sizing.apply(rows, progress_bars)
    return f"{rows} rows in the largest table, {cpus} CPUs, {partitions} shuffle partitions"


def run_job(
    name: str,
    settings: Settings,
    out_dir: Path,
    *,
    events: Path | str | None = None,
    address: str | None = None,
    read_tasks: int | None = None,
    shuffle_partitions: int | None = None,
    progress_bars: bool = False,
) -> JobRun:
    """Run job `name` against the settings' database (or, for the event jobs, an event
    archive: a folder of JSON-lines envelopes, or the Parquet archive, `s3://…` or a folder)
    and write `out_dir/NAME.{parquet,md,png}`. Read tasks and shuffle partitions follow the
    data and the cluster (`jobs.sizing`) unless given.

    Blocking: from async code, call it in a thread."""
    check_job(name, events)
    connect_ray(address or settings.ray_address)
    stages = Stages(name)
    sizing = Sizing(cluster_cpus(), read_tasks, shuffle_partitions)
    with stages.stage("size"):
        source = checked_source(settings, sizing, events)
        sized = plan(source, sizing.cpus, sizing, progress_bars)
    log.info("event=job_started job=%s source=%s sizing=%r", name, events or "postgres", sized)
    result = JOBS[name](source, stages)
    result = replace(result, period=period_text(*source.period()))
    with stages.stage("write report"):
        path = write_report(result, out_dir)
    seconds, rows = stages.elapsed(), len(result.table)
    log.info("event=job_finished job=%s rows=%d seconds=%.2f", name, rows, seconds)
    summary = (
        f"{name}: {rows} result rows in {seconds:.1f} s ({sized}, {stages.count} stages) "
        f"-> {written(path)}"
    )
    return JobRun(path, rows, seconds, summary)


def checked_source(settings: Settings, sizing: Sizing, events: Path | str | None) -> Source:
    """The database, or the event archive when given; NothingToAnalyse without enrollments."""
    source: Source = DatabaseSource(settings, sizing)
    if events is not None:
        source = archive_source(events, settings, fallback=source)
    if not source.has_rows("enrollments"):
        raise NothingToAnalyse(
            f"no enrollments in {'the event archive' if events else 'the database'}: every "
            "job reports on enrollments and their progress"
        )
    return source


def written(path: Path) -> str:
    """The report's three files, for the summary line."""
    return f"{path}, {path.with_suffix('.md').name}, {path.with_suffix('.png').name}"


def check_job(name: str, events: Path | str | None) -> None:
    """ValueError unless `name` is a job that can read what it is given."""
    if name not in JOBS:
        raise ValueError(f"unknown job {name!r}; jobs: {', '.join(sorted(JOBS))}")
    if events is not None and name not in EVENT_JOBS:
        raise ValueError(f"job {name!r} reads the database only; --events serves {EVENT_JOBS}")


def add_job_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of one job run, shared by `python -m jobs` and `smartcourse job run`."""
    parser.add_argument("name", choices=sorted(JOBS))
    parser.add_argument("--out", type=Path, required=True, help="folder for the three outputs")
    parser.add_argument("--address", help="Ray address (default: running cluster, else local)")
    parser.add_argument(
        "--events",
        help="event archive read instead of the database, for "
        + ", ".join(sorted(EVENT_JOBS))
        + ": the Parquet archive (s3://BUCKET/PREFIX or a folder) or a folder of JSON lines",
    )
    parser.add_argument(
        "--read-tasks",
        type=int,
        help="read tasks per table (default: 1 per 50k rows up to the CPUs, <= 500k rows a task)",
    )
    parser.add_argument(
        "--shuffle-partitions",
        type=int,
        help="partitions per aggregation (default: 1 per 1M rows, <= CPUs)",
    )
    parser.add_argument(
        "--progress-bars", action="store_true", help="Ray Data's progress bars on stderr"
    )


def run_from_arguments(args: argparse.Namespace, settings: Settings) -> int:
    """Run the job the arguments name; the process exit code."""
    try:
        run = run_job(
            args.name,
            settings,
            args.out,
            events=args.events,
            address=args.address,
            read_tasks=args.read_tasks,
            shuffle_partitions=args.shuffle_partitions,
            progress_bars=args.progress_bars,
        )
    except NothingToAnalyse as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(run.summary)
    return 0
