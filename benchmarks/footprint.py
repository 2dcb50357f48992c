"""What the running stack costs when nothing happens: the memory of every process it started
(PSS, from /proc/<pid>/smaps_rollup, so pages shared between Ray's workers count once) and its
idle CPU, as a share of one core.

"The stack" is every descendant of this process once the stack is up (the broker, Temporal,
S3, the SMTP sink's thread, Celery, Ray's head processes and workers); PostgreSQL, Redis and
RabbitMQ run before it and are not counted. `python -m benchmarks.footprint` starts a stack of
its own, measures it, then measures Ray and Serve alone (started as the stack starts them, with
no application, actor or server of ours: the floor that fewer processes of ours cannot go
below), and writes both to benchmarks/results/footprint.md (about four minutes)."""

import logging
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from benchmarks.cpu import label
from core.settings import Settings
from serve import runtime

log = logging.getLogger(__name__)
IDLE_SECONDS = 60
# A fresh stack is still settling (consumer groups joining, Serve's first health checks).
SETTLE_SECONDS = 20


@dataclass
class Footprint:
    processes: int = 0
    pss_mb: float = 0.0
    idle_core_share: float = 0.0
    idle_seconds: float = 0.0
    pss_by_label: dict[str, float] = field(default_factory=dict)
    cpu_by_label: dict[str, float] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """The report's lines: the two totals, then the processes by memory."""
        rows = sorted(self.pss_by_label.items(), key=lambda item: -item[1])
        table = [
            f"| {name} | {mb:.0f} | {100 * self.cpu_by_label.get(name, 0.0):.1f} |"
            for name, mb in rows
        ]
        return [
            f"- Idle: {100 * self.idle_core_share:.1f} % of one core "
            f"(over {self.idle_seconds:.0f} s with nothing running).",
            f"- Memory: {self.pss_mb:.0f} MB (PSS summed over the {self.processes} processes "
            "the stack started).",
            "",
            "| process | PSS MB | idle CPU % of a core |",
            "|---|---|---|",
            *table,
        ]


def stack_processes() -> list[psutil.Process]:
    return psutil.Process().children(recursive=True)


def pss_kb(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def named(process: psutil.Process) -> str:
    try:
        return label(process.name(), process.cmdline())
    except psutil.Error:
        return "?"


def cpu_seconds(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
    except psutil.Error:
        return 0.0
    return times.user + times.system


def measure(seconds: float = IDLE_SECONDS) -> Footprint:
    """The stack's PSS and its CPU over `seconds`, once it settled (nothing else may run)."""
    time.sleep(SETTLE_SECONDS)
    processes = stack_processes()
    result = Footprint(processes=len(processes), idle_seconds=seconds)
    pss: dict[str, float] = defaultdict(float)
    for process in processes:
        pss[named(process)] += pss_kb(process.pid) / 1024
    before = {p.pid: cpu_seconds(p) for p in processes}
    time.sleep(seconds)  # the measurement itself: the stack's CPU while nothing happens
    cpu: dict[str, float] = defaultdict(float)
    for process in processes:
        cpu[named(process)] += (cpu_seconds(process) - before[process.pid]) / seconds
    result.pss_by_label, result.cpu_by_label = dict(pss), dict(cpu)
    result.pss_mb = sum(pss.values())
    result.idle_core_share = sum(cpu.values())
    return result


def ray_and_serve_alone(settings: Settings) -> Footprint:
    """Ray (its dashboard included) and Serve (controller, HAProxy, proxies) started as the stack
    starts them, with nothing deployed and no server of ours running."""
    runtime.start_ray(settings)
    try:
        runtime.start_serve(settings)
        log.info("event=ray_and_serve_started; measuring %d s of idle", IDLE_SECONDS)
        return measure()
    finally:
        runtime.shutdown(settings)


def main() -> None:
    from benchmarks.machine import machine, python_speed
    from benchmarks.progress import RESULTS, bench_settings, deployed_stack

    python_speed()  # the speed reference, taken before this run starts anything
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    settings = bench_settings(Path(tempfile.mkdtemp(prefix="sc-footprint-")))
    # Ray's logical CPUs as `make run` has them (the benchmarks pin 2).
    settings = settings.model_copy(update={"ray_num_cpus": None})
    with deployed_stack(settings):
        log.info("event=deployed; measuring %d s of idle", IDLE_SECONDS)
        result = measure()
    floor = ray_and_serve_alone(settings)
    lines = [
        "# Footprint of the local stack",
        "",
        f"Machine: {machine()}. Measured by `python -m benchmarks.footprint` on a fresh stack "
        "(benchmarks' settings, Ray's CPUs as `make run` sets them), right after deployment.",
        "",
        *result.lines(),
        "",
        "## Ray and Serve alone",
        "",
        "The same Ray and Serve, started the same way right after, with no application, actor "
        "or server of ours: what the stack costs before any process of ours exists.",
        "",
        *floor.lines(),
    ]
    (RESULTS / "footprint.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
