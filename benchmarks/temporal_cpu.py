"""CPU per enrollment workflow on the Temporal dev server and in the worker, for the server as
the local stack starts it and for the alternatives weighed (issue 14).

Each round starts a fresh server (the stack's own `temporal_command`, or a variant of it), runs
the real EnrollmentWorkflow with stand-in activities of the same names (no database: this
measures the engine, not the steps' SQL), and times `--workflows` runs from start to result:
16 at a time, or started at a steady rate, as enrollments arrive under the load mix (about 8 a
second at 64-128 users). The server's CPU comes from /proc, the starter's and worker's (one
process here) from getrusage. Configurations alternate round by round, so a noisy machine (the
steal time is reported) weighs on each alike; the report gives each one's median.

`python -m benchmarks.temporal_cpu [--rounds 3] [--workflows 300] [--report
benchmarks/results/temporal.md]` (about four minutes; not part of any test run).
"""

import argparse
import asyncio
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import psutil
from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from benchmarks.machine import machine, python_speed
from benchmarks.rounds import alternate, medians
from core.settings import Settings
from serve.processes import free_port
from serve.stack import TEMPORAL_WAL, LocalStack
from storage.temporal import ENROLLMENT, EnrollmentRequest
from workflows.enrollment.workflow import EnrollmentWorkflow

CONCURRENT = 16


@activity.defn(name="set_up_enrollment")
async def set_up_enrollment(request: EnrollmentRequest) -> None:
    """Stand-in: the real step is two conditional UPDATEs in one transaction."""


@dataclass(frozen=True)
class Configuration:
    name: str
    wal: bool
    eager: bool  # the starter shares the worker's client, so the first task comes back inline
    per_second: float | None = None  # started at this rate; None: 16 at a time

    def __str__(self) -> str:
        return self.name


CONFIGURATIONS = (
    Configuration("rollback journal (SQLite's default; before)", wal=False, eager=False),
    Configuration("write-ahead log (the stack now)", wal=True, eager=False),
    Configuration("write-ahead log + eager start (not adopted)", wal=True, eager=True),
    Configuration("write-ahead log, 8 started a second", wal=True, eager=False, per_second=8),
)


def own_cpu() -> float:
    spent = resource.getrusage(resource.RUSAGE_SELF)
    return spent.ru_utime + spent.ru_stime


def server_command(settings: Settings, data_dir: Path, wal: bool) -> list[str]:
    """The stack's command for its Temporal server, or the same without the write-ahead log."""
    stack = LocalStack(settings.model_copy(update={"data_dir": data_dir}), headless=True)
    command = stack.temporal_command()
    if wal:
        return command
    at = command.index(TEMPORAL_WAL[0])
    return command[:at] + command[at + len(TEMPORAL_WAL) :]


class Server(NamedTuple):
    settings: Settings  # its address
    process: psutil.Process
    data_dir: Path  # its database, removed with it


@contextmanager
def fresh_server(wal: bool) -> Iterator[Server]:
    """The stack's Temporal server (`wal`: as the stack starts it, or without the write-ahead
    log) on free ports and an empty database, stopped and removed after the block."""
    settings = Settings(temporal_address=f"127.0.0.1:{free_port()}", temporal_ui_port=free_port())
    data_dir = Path(tempfile.mkdtemp())
    process = subprocess.Popen(
        server_command(settings, data_dir, wal),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield Server(settings, psutil.Process(process.pid), data_dir)
    finally:
        process.terminate()
        process.wait(30)
        shutil.rmtree(data_dir, ignore_errors=True)


def one_round(configuration: Configuration, workflows: int) -> dict[str, float]:
    """One fresh server of `configuration`, measured over `workflows` runs."""
    with fresh_server(configuration.wal) as server:
        return asyncio.run(measure(server.settings, server.process, configuration, workflows))


async def measure(
    settings: Settings, server: psutil.Process, configuration: Configuration, workflows: int
) -> dict[str, float]:
    """Per workflow: the server's CPU ms, the starter's and worker's (this process), and the
    runs per second and their p50 from start to result."""
    client = await connect_when_up(settings.temporal_address)
    queue = f"bench-{uuid.uuid4().hex}"
    activities = [set_up_enrollment]
    async with Worker(
        client, task_queue=queue, workflows=[EnrollmentWorkflow], activities=activities
    ):
        await run_workflows(client, queue, 1, configuration)  # warm
        server_before, worker_before = sum(server.cpu_times()[:2]), own_cpu()
        started = time.perf_counter()
        times = await run_workflows(client, queue, workflows, configuration)
        elapsed = time.perf_counter() - started
        server_spent = sum(server.cpu_times()[:2]) - server_before
        worker_spent = own_cpu() - worker_before
    return {
        "server_ms": 1000 * server_spent / workflows,
        "worker_ms": 1000 * worker_spent / workflows,
        "per_second": workflows / elapsed,
        "p50_ms": 1000 * statistics.median(times),
    }


async def connect_when_up(address: str) -> Client:
    deadline = time.monotonic() + 60
    while True:
        try:
            return await Client.connect(address)
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def run_workflows(
    client: Client, queue: str, count: int, configuration: Configuration
) -> list[float]:
    slots, times = asyncio.Semaphore(CONCURRENT), []

    async def one(n: int) -> None:
        async with slots:
            started = time.perf_counter()
            handle = await client.start_workflow(
                ENROLLMENT,
                EnrollmentRequest(n, n, n),
                id=f"bench-{uuid.uuid4().hex}",
                task_queue=queue,
                request_eager_start=configuration.eager,
            )
            await handle.result()
            times.append(time.perf_counter() - started)

    if configuration.per_second is None:
        await asyncio.gather(*(one(n) for n in range(count)))
        return times
    runs, first, gap = [], time.perf_counter(), 1 / configuration.per_second
    for n in range(count):
        runs.append(asyncio.create_task(one(n)))
        await asyncio.sleep(max(0.0, first + (n + 1) * gap - time.perf_counter()))
    await asyncio.gather(*runs)
    return times


def report(
    results: dict[Configuration, list[dict[str, float]]], steal: float, workflows: int
) -> str:
    lines = [
        "# Temporal: CPU per enrollment workflow",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `python -m benchmarks.temporal_cpu` "
        f"on {machine()}; {len(next(iter(results.values())))} rounds of {workflows:,} "
        f"EnrollmentWorkflow runs per configuration, {CONCURRENT} at a time unless the "
        "configuration names a rate, configurations "
        f"alternating; the hypervisor took {steal:.0%} of the machine's CPU time (steal) "
        "during the run. Stand-in activities: the engine's cost, not the steps' SQL.",
        "",
        "| configuration | server CPU ms per workflow | starter + worker CPU ms | "
        "workflows/s | p50 start to result ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for configuration, rounds in results.items():
        median = medians(rounds)
        lines.append(
            f"| {configuration.name} | {median['server_ms']:.1f} | {median['worker_ms']:.1f} | "
            f"{median['per_second']:.0f} | {median['p50_ms']:.0f} |"
        )
    lines += [
        "",
        "Medians over the rounds. At a steady 8 a second, as under the load mix, each run costs "
        "the server more than in bursts of 16 (`python -m benchmarks.temporal_profile` gives "
        "where its CPU goes at that rate). Eager start needs the starter and "
        "the worker in one process. Here that would mean the gateway starting each enrollment "
        "through the worker host: a Ray call per enrollment, and enrolling would then depend on "
        "the worker host being up. The server CPU it saves is the difference between the second "
        "and third rows; at the load mix's 4 % enrollments that is a fraction of a millisecond "
        "per request, so it is not adopted yet.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workflows", type=int, default=300)
    parser.add_argument("--report", type=Path, default=Path("benchmarks/results/temporal.md"))
    args = parser.parse_args()
    python_speed()  # the speed reference, taken before this run starts anything
    before = psutil.cpu_times()
    results = alternate(
        CONFIGURATIONS, args.rounds, lambda configuration: one_round(configuration, args.workflows)
    )
    after = psutil.cpu_times()
    steal = (after.steal - before.steal) / max(1e-9, sum(after) - sum(before))
    args.report.write_text(report(results, steal, args.workflows))
    print(f"wrote {args.report}")


if __name__ == "__main__":
    main()
