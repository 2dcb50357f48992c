"""Where work runs. Which shard hosts an entity: a stable hash of its placement key over a fixed
shard count, so no entity is ever active in two shards. Which events actor runs the outbox relay
and each consumer group. The named actors are named here, apart from their classes, so that the
ingress can find and probe them without loading the actors' libraries."""

import zlib

from actors.handlers import CONSUMERS
from core.settings import Settings

RELAY = "relay"
LOCAL_ACTOR = "events"
WORKER_HOST = "temporal-worker"


def shard_index(key: int, shard_count: int) -> int:
    return zlib.crc32(str(key).encode()) % shard_count


def shard_name(index: int) -> str:
    return f"shard-{index}"


def shard_names(settings: Settings) -> list[str]:
    return [shard_name(index) for index in range(settings.shard_count)]


def actor_roles(settings: Settings) -> dict[str, list[str]]:
    """Events actor name -> what it runs: `relay` and/or consumer group names."""
    if settings.events_actor_per_group:
        return {f"events-{RELAY}": [RELAY], **{f"events-{group}": [group] for group in CONSUMERS}}
    return {LOCAL_ACTOR: [RELAY, *CONSUMERS]}


def actor_names(settings: Settings) -> list[str]:
    """Every named actor of the system: the shards, the events actor(s), the worker host."""
    return [*shard_names(settings), *actor_roles(settings), WORKER_HOST]
