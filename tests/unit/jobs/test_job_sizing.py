"""Jobs size themselves from row counts and CPUs (jobs/sizing.py), and read key ranges that
cover the table exactly once (jobs/source.py)."""

import itertools

from jobs.sizing import Sizing
from jobs.source import split


def test_small_data_runs_in_one_task_and_one_partition() -> None:
    sizing = Sizing(cpus=8)
    assert sizing.tasks_for(142) == 1
    assert sizing.partitions_for(3_000) == 1


def test_large_data_spreads_over_the_cpus_in_bounded_pieces() -> None:
    sizing = Sizing(cpus=2)
    assert sizing.tasks_for(120_000) == 2
    assert sizing.tasks_for(10_000_000) == 20  # at most 500k rows a task
    assert sizing.partitions_for(10_000_000) == 2


def test_options_override_the_sizing() -> None:
    sizing = Sizing(cpus=2, read_tasks=7, shuffle_partitions=3)
    assert (sizing.tasks_for(10), sizing.partitions_for(10)) == (7, 3)


def test_key_ranges_cover_every_key_once() -> None:
    ranges = split(5, 105, 3)
    assert ranges[0][0] == 5 and ranges[-1][1] == 105
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
    assert split(0, 2, 8) == [(0, 1), (1, 2)]
    assert split(0, 0, 4) == [(0, 0)]
