"""Progress snapshots in Redis (seed 6.2: `progress:{enrollment_id}`, 5 minutes), written by
the shard after each group commit so reads skip the actor; a miss or a Redis failure asks the
shard (fail open)."""

import json
from typing import Any

import redis.asyncio as aioredis

from storage.keyvalue import REDIS_ERRORS, fail_open, get_json


def progress_key(enrollment_id: int) -> str:
    return f"progress:{enrollment_id}"


class ProgressCache:
    def __init__(self, redis: aioredis.Redis, ttl_seconds: int) -> None:
        self._redis, self._ttl = redis, ttl_seconds

    async def get(self, enrollment_id: int) -> dict[str, Any] | None:
        return await get_json(self._redis, progress_key(enrollment_id), "progress_cache")

    async def put_many(self, snapshots: dict[int, dict[str, Any]]) -> None:
        if not snapshots:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for enrollment_id, snapshot in snapshots.items():
                    pipe.set(progress_key(enrollment_id), json.dumps(snapshot), ex=self._ttl)
                await pipe.execute()
        except REDIS_ERRORS as error:
            fail_open("progress_cache", error)

    async def forget(self, enrollment_ids: list[int], batch: int = 1000) -> None:
        """Drop snapshots (a revised course's percentages changed); fail open like a miss."""
        try:
            for start in range(0, len(enrollment_ids), batch):
                keys = [progress_key(x) for x in enrollment_ids[start : start + batch]]
                await self._redis.delete(*keys)
        except REDIS_ERRORS as error:
            fail_open("progress_cache", error)
