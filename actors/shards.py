"""The shard actors by name: their handles (created if missing) and what is asked of all of
them at once. Kept apart from actors/pool.py so that the actors the pool creates (the Temporal
worker host) can reach the shards without importing the pool."""

import asyncio

import ray

from actors.ops import ReloadCourse
from actors.placement import shard_name
from actors.shard import Shard
from core.settings import Settings
from storage.telemetry import samples_environment

NAMESPACE = "smartcourse"
# What a shard reserves: no CPU (its work is I/O-bound and its node's cores stay whole for
# tasks), but some memory, which makes SPREAD spread them: Ray does not spread actors that
# reserve nothing (ray-project/ray#27577).
SHARD_MEMORY_BYTES = 64 * 1024 * 1024


def shard_handles(settings: Settings) -> list[ray.actor.ActorHandle]:
    """The shards, created where missing, spread over the nodes so one node's loss moves few
    (with no reservation a multi-node run put all four on one of three nodes; soft node
    affinity placed them no better, a CPU share starved the nodes' one-CPU tasks)."""
    return [
        Shard.options(
            name=shard_name(index),
            namespace=NAMESPACE,
            lifetime="detached",
            get_if_exists=True,
            memory=SHARD_MEMORY_BYTES,
            scheduling_strategy="SPREAD",
            runtime_env={"env_vars": samples_environment(settings)},
        ).remote(settings, index)
        for index in range(settings.shard_count)
    ]


async def reload_course(settings: Settings, course_id: int) -> None:
    """Every shard forgets its copy of the course (status, seats, structure)."""
    await asyncio.gather(
        *(s.call.remote([ReloadCourse(course_id)]) for s in shard_handles(settings))
    )
