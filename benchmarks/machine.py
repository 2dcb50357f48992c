"""The machine a benchmark ran on, as its report names it: the CPUs, the memory, the platform,
and how fast this machine runs Python. The same CPU name covers machines of different speeds
(the "AMD EPYC" of 2026-12-07 ran `make bench` at about 40 % of the peaks of the one of the
day before), so only reports with the same speed reference compare.

The reference is this thread's CPU time for the loop, so the other processes on the machine
slow it less than they would a wall-clock time, yet they still do (caches, a busy sibling core):
each benchmark takes it first, before it starts anything (`python_speed()` is cached), and its
report reads that figure. On 2026-12-07 the loop measured 26.7-28.6 M steps/s on a quiet
machine, and 16.7 by the wall clock at the end of a load run, with the stack still busy.
It names the machine; it does not measure the host's other guests: on that day two load runs
15 minutes apart, both with a reference of 25.6-28.6, differed by 27 % in the baseline's CPU
per request (benchmarks/results/load-history.md)."""

import os
import platform
import time
from functools import cache
from pathlib import Path

LOOP_STEPS = 1_000_000


@cache
def python_speed() -> float:
    """Million steps per second of a fixed pure-Python loop, the best of five runs by this
    thread's CPU time (under half a second in all)."""
    best = float("inf")
    for _ in range(5):
        started = time.thread_time()
        total = 0
        for step in range(LOOP_STEPS):
            total += step
        best = min(best, time.thread_time() - started)
    return LOOP_STEPS / best / 1e6


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = next(
        line
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    kib = int(memory.split()[1])
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {kib / 1024 / 1024:.0f} GiB RAM, {platform.platform()}; "
        f"Python speed reference {python_speed():.1f} M loop steps/s"
    )
