"""The local stack's processes hold what their work needs and no more (benchmarks/footprint.py
measures what they cost): Serve's processes leave pandas out, and no idle Ray worker is kept."""

import time
from pathlib import Path

import psutil
import ray

from tests.conftest import System

SERVE_PROCESSES = ("ray::ServeController", "ray::ProxyActor", "ray::HAProxyManager")
SETTLE_SECONDS = 15


def ray_processes() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if p.name().startswith("ray::")]


def maps_pandas(process: psutil.Process) -> bool:
    return "/pandas/_libs/" in Path(f"/proc/{process.pid}/maps").read_text()


@ray.remote(num_cpus=0)
def pandas_importable() -> bool:
    try:
        import pandas  # noqa: F401
    except ImportError:
        return False
    return True


def test_serve_processes_leave_pandas_out_and_the_jobs_tasks_keep_it(system: System) -> None:
    serve = [
        p
        for p in ray_processes()
        if p.name().startswith(SERVE_PROCESSES) or p.name().startswith("ray::ServeReplica")
    ]
    assert {p.name() for p in serve} >= {*SERVE_PROCESSES, "ray::ServeReplica:smartcourse:gateway"}
    assert [p.name() for p in serve if maps_pandas(p)] == []
    # A Ray Data job run from the stack's driver still has it.
    assert ray.get(pandas_importable.remote())


def test_no_idle_ray_worker_is_kept(system: System) -> None:
    ray.get(pandas_importable.remote())  # leaves a worker idle behind it
    deadline = time.monotonic() + SETTLE_SECONDS
    while any(p.name() == "ray::IDLE" for p in ray_processes()):
        assert time.monotonic() < deadline, "an idle Ray worker outlived its task"
        time.sleep(0.2)
