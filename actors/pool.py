"""The system's named actors: shards, the events actor(s) (outbox relay and consumer groups)
and the Temporal worker host, created once and found by name.

Every actor is detached and created with `get_if_exists`, so `smartcourse up`, a Serve replica
on a cluster (KubeRay) or a test may all call `ensure_actors` and get the same ones."""

import time

import ray

from actors.events import EventsActor
from actors.placement import WORKER_HOST, actor_roles
from actors.shards import NAMESPACE, shard_handles
from actors.worker_host import WorkflowWorkerHost
from core.settings import Settings
from storage.telemetry import samples_environment

WORKER_START_SECONDS = 30


def worker_host(settings: Settings) -> ray.actor.ActorHandle:
    return WorkflowWorkerHost.options(
        name=WORKER_HOST,
        namespace=NAMESPACE,
        lifetime="detached",
        get_if_exists=True,
        runtime_env={"env_vars": samples_environment(settings)},
    ).remote(settings)


def events_actors(settings: Settings) -> dict[str, ray.actor.ActorHandle]:
    """The events actor (or, with `events_actor_per_group`, one per group and the relay's)."""
    return {
        name: EventsActor.options(
            name=name,
            namespace=NAMESPACE,
            lifetime="detached",
            get_if_exists=True,
            runtime_env={"env_vars": samples_environment(settings)},
        ).remote(settings, roles)
        for name, roles in actor_roles(settings).items()
    }


def ensure_actors(settings: Settings) -> None:
    """Create what is missing and wait until every actor answers and the worker has started."""
    handles = [*shard_handles(settings), *events_actors(settings).values()]
    ray.get([handle.stats.remote() for handle in handles])
    host = worker_host(settings)
    deadline = time.monotonic() + WORKER_START_SECONDS
    while not ray.get(host.ready.remote()):
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"the Temporal worker did not start within {WORKER_START_SECONDS} s: "
                f"is Temporal reachable at {settings.temporal_address}?"
            )
        time.sleep(0.1)
