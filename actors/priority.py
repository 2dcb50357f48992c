"""Scheduling priority of an actor behind the writes (`Settings.background_niceness`)."""

import os


def run_in_background(niceness: int) -> None:
    """Give every thread of this process `niceness` (Linux nice levels are per thread; those
    started later inherit it from the thread that starts them)."""
    for thread in os.listdir("/proc/self/task"):
        os.setpriority(os.PRIO_PROCESS, int(thread), niceness)
