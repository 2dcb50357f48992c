"""The local stack's processes hold what their work needs and no more (benchmarks/footprint.py
measures what they cost): Serve's processes leave pandas out, and the ingress starts no Ray
task where the actors exist. And each of ours writes its Prometheus samples where the
gateway's `/metrics` reads them."""

from pathlib import Path

import psutil
import ray
from ray.util.state import list_actors

from actors.ensure import exists
from actors.placement import actor_names
from storage.telemetry import SAMPLES_DIR
from tests.conftest import System

SERVE_PROCESSES = ("ray::ServeController", "ray::ProxyActor", "ray::HAProxyManager")


def actor_title(process: psutil.Process) -> str:
    """`ray::Class`: while an actor runs a method, Ray titles its process `ray::Class.method()`."""
    return process.name().partition(".")[0]


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
    actors = {actor_title(p) for p in serve}
    assert actors >= {*SERVE_PROCESSES, "ray::ServeReplica:smartcourse:gateway"}
    assert [p.name() for p in serve if maps_pandas(p)] == []
    # A Ray Data job run from the stack's driver still has it.
    assert ray.get(pandas_importable.remote())


def test_the_ingress_finds_every_actor_by_name_so_it_runs_no_task(system: System) -> None:
    # A replica runs actors.ensure's task only when an actor is missing; Ray would keep an idle
    # worker beside that task. So the names must be exactly those of the actors the stack made.
    named = {actor.name for actor in list_actors(filters=[("state", "=", "ALIVE")], limit=1000)}
    assert set(actor_names(system.settings)) <= named
    assert all(exists(name) for name in actor_names(system.settings))


def test_every_process_of_ours_writes_its_samples_where_the_scrape_reads(system: System) -> None:
    ours = (
        "ray::ServeReplica:smartcourse:gateway",
        "ray::Shard",
        "ray::EventsActor",
        "ray::WorkflowWorkerHost",
    )
    found = {
        actor_title(p): p.environ().get(SAMPLES_DIR)
        for p in ray_processes()
        if p.name().startswith(ours)
    }
    assert set(found) == set(ours)
    assert set(found.values()) == {str(system.settings.metrics_samples_dir())}
