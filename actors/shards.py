"""The shard actors by name: their handles (created if missing) and what is asked of all of
them at once. Kept apart from actors/pool.py so that the actors the pool creates (the Temporal
worker host) can reach the shards without importing the pool."""

import asyncio

import ray

from actors.ops import ReloadCourse
from actors.placement import shard_name
from actors.shard import Shard
from core.settings import Settings

NAMESPACE = "smartcourse"


def shard_handles(settings: Settings) -> list[ray.actor.ActorHandle]:
    return [
        Shard.options(
            name=shard_name(index),
            namespace=NAMESPACE,
            lifetime="detached",
            get_if_exists=True,
            # On a cluster the shards go to different nodes, so one node's loss moves few.
            scheduling_strategy="SPREAD",
        ).remote(settings, index)
        for index in range(settings.shard_count)
    ]


async def reload_course(settings: Settings, course_id: int) -> None:
    """Every shard forgets its copy of the course (status, seats, structure)."""
    await asyncio.gather(
        *(s.call.remote([ReloadCourse(course_id)]) for s in shard_handles(settings))
    )
