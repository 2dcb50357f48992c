"""The `user:{id}` cache (seed: 15 minutes, dropped on profile update).

Cached values are the public user view, never the password hash. A Redis failure reads
through to PostgreSQL (fail open). Updates drop the key after their commit, so a reader can
re-cache the old value only in the moment between the commit and the delete.
"""

import json
from typing import Any

import redis.asyncio as aioredis

from storage.keyvalue import REDIS_ERRORS, fail_open, get_json


def user_key(user_id: int) -> str:
    return f"user:{user_id}"


class UserCache:
    def __init__(self, redis: aioredis.Redis, ttl_seconds: int) -> None:
        self._redis = redis
        self._ttl = ttl_seconds

    async def get(self, user_id: int) -> dict[str, Any] | None:
        return await get_json(self._redis, user_key(user_id), "user_cache")

    async def put(self, user_id: int, user: dict[str, Any]) -> None:
        try:
            await self._redis.set(user_key(user_id), json.dumps(user), ex=self._ttl)
        except REDIS_ERRORS as error:
            fail_open("user_cache", error)

    async def drop(self, user_id: int) -> None:
        try:
            await self._redis.delete(user_key(user_id))
        except REDIS_ERRORS as error:
            fail_open("user_cache", error)
