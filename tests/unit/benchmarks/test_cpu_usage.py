"""The reports' shares of the machine: busy and stolen CPU over all cores of the block, and the
threads' waits for a CPU."""

import os
import subprocess
import sys
import time

from benchmarks.cpu import CpuUsage, cpu_usage


def test_the_shares_are_of_all_cores_over_the_block() -> None:
    usage = CpuUsage(seconds=10.0, busy_seconds=15.0, steal_seconds=2.0, cores=2)
    assert usage.busy_share == 0.75
    assert usage.steal_share == 0.1


def test_a_block_measures_the_machines_steal() -> None:
    with cpu_usage(children="children") as usage:
        sum(range(100_000))
    assert usage.seconds > 0
    assert 0.0 <= usage.steal_share <= 1.0


def test_a_block_measures_the_threads_waiting_for_a_cpu() -> None:
    """More busy processes than cores: the scheduler's run-queue time shows under their label,
    and on average at least one of them was waiting."""
    cores = os.cpu_count() or 1
    spin = "import time\nwhile True: time.perf_counter()"
    spinners = [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(cores + 2)]
    try:
        with cpu_usage(children="children") as usage:
            time.sleep(1.0)  # the block's length: the spinners run through it
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
    assert usage.waiting_by_process["python -c"] > 0.5
    assert usage.threads_waiting > 0.5
