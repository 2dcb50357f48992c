"""What the in-process services of one ingress replica share: one database pool, one Redis
client, one batching client to the shards and one Temporal connection.

The services are plain objects in the ingress's own process (DESIGN.md, Processes): a request
calls them directly instead of taking a Serve handle hop to another replica.
"""

from dataclasses import dataclass
from typing import Self

import redis.asyncio as aioredis

from actors.client import ShardClient
from core.settings import Settings
from storage.db import Database
from storage.keyvalue import connect_redis
from storage.temporal import TemporalConnection


@dataclass(frozen=True)
class Resources:
    settings: Settings
    db: Database
    redis: aioredis.Redis
    shards: ShardClient
    temporal: TemporalConnection

    @classmethod
    def open(cls, settings: Settings) -> Self:
        return cls(
            settings=settings,
            db=Database(settings),
            redis=connect_redis(settings),
            shards=ShardClient(settings),
            temporal=TemporalConnection(settings),
        )
