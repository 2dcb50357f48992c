"""Where the CPU went during a benchmark phase: CPU seconds per kind of process on the machine
(psutil, which locust depends on), so a report can say what a request costs and where; and how
long each kind's threads were runnable but waiting for a CPU (the scheduler's run-queue time),
which is the latency a busy machine adds to a request beyond the work itself.

Ray names its workers after what they host (`ray::Shard`, `ray::ServeReplica:app:gateway`), so
each actor class and Serve deployment gets its own line; other processes are named after their
program (python ones after their module or script)."""

import os
import resource
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import psutil

# Processes that used less than this share of a phase's busy CPU are summed as "other".
MINOR_SHARE = 0.01


@dataclass
class CpuUsage:
    """Filled in when the `cpu_usage()` block ends."""

    seconds: float = 0.0
    busy_seconds: float = 0.0
    # CPU time the hypervisor gave to other guests while this one wanted it.
    steal_seconds: float = 0.0
    cores: int = psutil.cpu_count() or 1
    by_process: dict[str, float] = field(default_factory=dict)
    # Seconds the threads of each were runnable but not running, under the same labels (the
    # children, which ended within the block, have none).
    waiting_by_process: dict[str, float] = field(default_factory=dict)

    def share(self, cpu_seconds: float) -> float:
        """`cpu_seconds` as a share, 0..1, of all cores over the block."""
        return cpu_seconds / (self.seconds * self.cores) if self.seconds else 0.0

    @property
    def busy_share(self) -> float:
        """The machine's CPU that was busy."""
        return self.share(self.busy_seconds)

    @property
    def threads_waiting(self) -> float:
        """How many threads, on average over the block, were waiting for a CPU."""
        return sum(self.waiting_by_process.values()) / self.seconds if self.seconds else 0.0

    @property
    def steal_share(self) -> float:
        """The CPU the hypervisor took: runs of one code differ by more when it is high, so a
        report names it."""
        return self.share(self.steal_seconds)


def label(name: str, cmdline: list[str]) -> str:
    first = cmdline[0] if cmdline else name
    if first.startswith("ray::"):
        title = first.split()[0]
        # A replica retitles itself while it handles a request (`ray::SERVE_REPLICA::app#d#id:
        # ServeReplica:app:d`): its lines still add up under the deployment.
        replica = title.find("ServeReplica:")
        return ("ray::" + title[replica:] if replica > 0 else title).split(".")[0]
    if not cmdline and name.startswith("kworker/"):
        # A kernel worker's name ends in what it works on now (`kworker/u8:0-writeback`).
        return name.split("-")[0]
    program = Path(first).name if cmdline else name
    if program.startswith("python") and len(cmdline) > 1:
        if "-m" in cmdline[:-1]:
            return f"python -m {cmdline[cmdline.index('-m') + 1]}"
        if "-c" in cmdline:
            return "python -c"
        scripts = [arg for arg in cmdline[1:] if not arg.startswith("-")]
        return f"python {Path(scripts[0]).name}" if scripts else program
    if name.startswith("postgres"):
        return "postgres"
    return program or name


class Spent(NamedTuple):
    label: str
    cpu: float  # seconds, user + system
    waited: dict[int, int]  # by live thread: nanoseconds runnable but waiting for a CPU

    def waited_since(self, earlier: "Spent | None") -> float:
        """Seconds waited since `earlier` by the threads alive now (a thread that ended in
        between is not counted; one that started counts whole)."""
        before = earlier.waited if earlier is not None else {}
        return sum(ns - before.get(tid, 0) for tid, ns in self.waited.items()) / 1e9


def waited_ns(pid: int) -> dict[int, int]:
    """The run-queue time so far of each of the process's threads: the second field of its
    `/proc/<pid>/task/<tid>/schedstat`. Empty for a process that ended, or on a kernel without
    schedstats."""
    waited = {}
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return {}
    for thread in threads:
        try:
            waited[int(thread)] = int(
                Path(f"/proc/{pid}/task/{thread}/schedstat").read_text().split()[1]
            )
        except (OSError, IndexError, ValueError):
            continue
    return waited


def cpu_seconds() -> dict[int, Spent]:
    """Every process's label, CPU seconds and its threads' waits for a CPU so far."""
    seen = {}
    for process in psutil.process_iter(["name", "cmdline", "cpu_times"]):
        times = process.info["cpu_times"]
        if times is not None:
            seen[process.pid] = Spent(
                label(process.info["name"] or "?", process.info["cmdline"] or []),
                times.user + times.system,
                waited_ns(process.pid),
            )
    return seen


def busy(times) -> float:
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def children_seconds() -> float:
    spent = resource.getrusage(resource.RUSAGE_CHILDREN)
    return spent.ru_utime + spent.ru_stime


@contextmanager
def cpu_usage(children: str) -> Iterator[CpuUsage]:
    """CPU seconds per process label spent during the block. Processes started within it count
    whole; the children this process started and waited for within it (the load generator) are
    counted as `children`; any other process that ended within it is missed."""
    usage = CpuUsage()
    before, machine_before, started = cpu_seconds(), psutil.cpu_times(), time.monotonic()
    children_before = children_seconds()
    yield usage
    after, machine_after = cpu_seconds(), psutil.cpu_times()
    usage.seconds = time.monotonic() - started
    usage.busy_seconds = busy(machine_after) - busy(machine_before)
    usage.steal_seconds = getattr(machine_after, "steal", 0.0) - getattr(
        machine_before, "steal", 0.0
    )
    totals: dict[str, float] = defaultdict(float)
    waits: dict[str, float] = defaultdict(float)
    totals[children] = children_seconds() - children_before
    for pid, now in after.items():
        earlier = before.get(pid)
        same = earlier is not None and earlier.label == now.label
        totals[now.label] += now.cpu - (earlier.cpu if same else 0.0)
        waits[now.label] += now.waited_since(earlier if same else None)
    floor = MINOR_SHARE * max(usage.busy_seconds, 1e-9)
    for name, spent in sorted(totals.items(), key=lambda item: -item[1]):
        key = name if spent >= floor else "other"
        usage.by_process[key] = usage.by_process.get(key, 0.0) + spent
        if name in waits:
            usage.waiting_by_process[key] = usage.waiting_by_process.get(key, 0.0) + waits[name]
