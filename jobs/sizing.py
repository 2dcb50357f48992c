"""How many read tasks and shuffle partitions a job uses, from its data and its cluster.

Ray Data's defaults suit large data: at least 200 read blocks and 200 hash-shuffle partitions
per aggregation. On the few hundred rows of a small course catalogue each of those partitions
is a task (and a worker process to start), so a job that should take seconds took minutes.
Here a table is read in one task per 50k rows up to the cluster's CPUs, and more tasks when
each would hold over 500k rows; aggregations shuffle into one partition per 1M rows of the
largest table, at most the CPUs. A small job runs one task per stage, a 10M-row job spreads
over every CPU in bounded pieces. Options override both.

Each stage a job runs is logged as one line (`event=job_stage`), so a long job shows progress.
"""

import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import ray
import ray.data

log = logging.getLogger(__name__)

# A read task holds its rows in memory at once: at most this many; and it is worth starting a
# task on another CPU only for this many.
ROWS_PER_READ_TASK = 500_000
MIN_ROWS_PER_READ_TASK = 50_000
ROWS_PER_PARTITION = 1_000_000


def cluster_cpus() -> int:
    """The cluster's CPUs (logical, as Ray schedules them), at least one."""
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


@dataclass(frozen=True)
class Sizing:
    """The parallelism of one job; `read_tasks` / `shuffle_partitions` fixed by options, or
    None to follow the data."""

    cpus: int
    read_tasks: int | None = None
    shuffle_partitions: int | None = None

    def tasks_for(self, rows: int) -> int:
        """Read tasks for a table of `rows` rows."""
        if self.read_tasks is not None:
            return max(1, self.read_tasks)
        spread = min(self.cpus, math.ceil(rows / MIN_ROWS_PER_READ_TASK))
        return max(1, spread, math.ceil(rows / ROWS_PER_READ_TASK))

    def partitions_for(self, rows: int) -> int:
        """Shuffle partitions for aggregations over at most `rows` rows."""
        if self.shuffle_partitions is not None:
            return max(1, self.shuffle_partitions)
        return min(self.cpus, max(1, math.ceil(rows / ROWS_PER_PARTITION)))

    def apply(self, rows: int, progress_bars: bool) -> int:
        """Set Ray Data's shuffle parallelism for a job whose largest table has `rows` rows;
        returns the partitions chosen."""
        partitions = self.partitions_for(rows)
        context = ray.data.DataContext.get_current()
        context.default_hash_shuffle_parallelism = partitions
        # The (older) actor-based hash shuffle starts one aggregator per partition.
        context.max_hash_shuffle_aggregators = partitions
        context.enable_progress_bars = progress_bars
        context.enable_operator_progress_bars = progress_bars
        context.verbose_stats_logs = False
        return partitions


class Stages:
    """A line per stage of a job, with its number, name and seconds."""

    def __init__(self, job: str) -> None:
        self.job = job
        self.count = 0
        self.started = time.perf_counter()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.count += 1
        begun = time.perf_counter()
        log.info("event=job_stage job=%s stage=%d name=%r", self.job, self.count, name)
        yield
        log.info(
            "event=job_stage_done job=%s stage=%d name=%r seconds=%.2f",
            self.job,
            self.count,
            name,
            time.perf_counter() - begun,
        )

    def elapsed(self) -> float:
        return time.perf_counter() - self.started
