"""The machine a benchmark ran on, as its report names it: the CPUs, the memory, the platform,
and how fast this machine runs Python. The same CPU name covers machines of different speeds
(the "AMD EPYC" of 2026-12-07 ran a fixed Python loop at about half the speed of the one of
the day before), so only reports with the same speed reference compare."""

import os
import platform
import time
from functools import cache
from pathlib import Path

LOOP_STEPS = 2_000_000


@cache
def python_speed() -> float:
    """Million steps per second of a fixed pure-Python loop, the best of three runs (under a
    second in all)."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for step in range(LOOP_STEPS):
            total += step
        best = min(best, time.perf_counter() - started)
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
