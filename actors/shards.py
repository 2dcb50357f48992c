"""The shard actors by name: their handles (created if missing) and what is asked of all of
them at once. Kept apart from actors/pool.py so that the actors the pool creates (the Temporal
worker host) can reach the shards without importing the pool."""

import asyncio

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from actors.ops import ReloadCourse
from actors.placement import shard_name
from actors.shard import Shard
from core.settings import Settings

NAMESPACE = "smartcourse"


def shard_handles(settings: Settings) -> list[ray.actor.ActorHandle]:
    """The shards, created where missing. On a cluster they are dealt out over the nodes alive
    at creation, so one node's loss moves few: "SPREAD" does not spread actors that reserve no
    CPU (ray-project/ray#27577; seen here as all four shards on one of three nodes). The
    affinity is soft, so a shard restarted after its node is gone goes to another."""
    nodes = sorted(n["NodeID"] for n in ray.nodes() if n["Alive"])
    return [
        Shard.options(
            name=shard_name(index),
            namespace=NAMESPACE,
            lifetime="detached",
            get_if_exists=True,
            scheduling_strategy=NodeAffinitySchedulingStrategy(
                nodes[index % len(nodes)], soft=True
            ),
        ).remote(settings, index)
        for index in range(settings.shard_count)
    ]


async def reload_course(settings: Settings, course_id: int) -> None:
    """Every shard forgets its copy of the course (status, seats, structure)."""
    await asyncio.gather(
        *(s.call.remote([ReloadCourse(course_id)]) for s in shard_handles(settings))
    )
