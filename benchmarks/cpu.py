"""Where the CPU went during a benchmark phase: CPU seconds per kind of process on the machine
(psutil, which locust depends on), so a report can say what a request costs and where.

Ray names its workers after what they host (`ray::Shard`, `ray::ServeReplica:app:gateway`), so
each actor class and Serve deployment gets its own line; other processes are named after their
program (python ones after their module or script)."""

import resource
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

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

    def share(self, cpu_seconds: float) -> float:
        """`cpu_seconds` as a share, 0..1, of all cores over the block."""
        return cpu_seconds / (self.seconds * self.cores) if self.seconds else 0.0

    @property
    def busy_share(self) -> float:
        """The machine's CPU that was busy."""
        return self.share(self.busy_seconds)

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


def cpu_seconds() -> dict[int, tuple[str, float]]:
    """Every process's label and CPU seconds so far (user + system)."""
    seen = {}
    for process in psutil.process_iter(["name", "cmdline", "cpu_times"]):
        times = process.info["cpu_times"]
        if times is not None:
            seen[process.pid] = (
                label(process.info["name"] or "?", process.info["cmdline"] or []),
                times.user + times.system,
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
    totals[children] = children_seconds() - children_before
    for pid, (name, spent) in after.items():
        earlier = before.get(pid)
        totals[name] += spent - (earlier[1] if earlier and earlier[0] == name else 0.0)
    floor = MINOR_SHARE * max(usage.busy_seconds, 1e-9)
    for name, spent in sorted(totals.items(), key=lambda item: -item[1]):
        key = name if spent >= floor else "other"
        usage.by_process[key] = usage.by_process.get(key, 0.0) + spent
