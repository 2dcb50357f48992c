"""Scheduling priority of a background process (`Settings.background_niceness`)."""

import os


def run_in_background(niceness: int) -> None:
    """Give every thread of this process `niceness` (Linux nice levels are per thread; those
    started later inherit it from the thread that starts them)."""
    for thread in os.listdir("/proc/self/task"):
        os.setpriority(os.PRIO_PROCESS, int(thread), niceness)


def niced(argv: list[str], niceness: int) -> list[str]:
    """The command run at `niceness` through nice(1), which then execs it (same pid, same
    command line)."""
    return ["nice", "-n", str(niceness), *argv] if niceness else argv
