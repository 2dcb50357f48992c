"""Making sure the named actors exist from a process that must stay light: the ingress runs
`ensure_actors` as a one-off Ray task in a worker process of its own, which exits after it, so
the ingress never loads the actors' libraries (the Kafka client, the Temporal worker and its
activities, Celery): about 100 MB less in every ingress replica. When every actor exists
already (`smartcourse up` created them before deploying) no task runs: Ray would start an idle
worker of 44 MB beside it and keep it."""

import ray

from actors.placement import actor_names
from actors.shards import NAMESPACE
from core.settings import Settings


@ray.remote(num_cpus=0, max_calls=1)
def ensure_actors_task(settings: Settings) -> None:
    # Imported here, in the task's process, on purpose (see the module's docstring).
    from actors.pool import ensure_actors

    ensure_actors(settings)


def exists(name: str) -> bool:
    try:
        ray.get_actor(name, namespace=NAMESPACE)
    except ValueError:
        return False
    return True


def ensure_actors_elsewhere(settings: Settings) -> None:
    """Create what is missing and wait until every actor answers (actors.pool.ensure_actors)."""
    if not all(exists(name) for name in actor_names(settings)):
        ray.get(ensure_actors_task.remote(settings))
