"""Unknown-code counters for public certificate verification, per client IP over a fixed window.

Verification is public, so its codes are the only secret; counting misses per IP and refusing
an address that keeps guessing makes enumeration slow, while a student checking a real code is
never counted. A Redis outage lets lookups through (fail open, logged and counted): the codes are
long random strings, so the throttle is a second line, not the only one.
"""

import redis.asyncio as aioredis

from core.errors import RateLimited
from storage.keyvalue import REDIS_ERRORS, fail_open


def misses_key(client_ip: str) -> str:
    return f"certificate_verify_misses:{client_ip}"


class VerifyThrottle:
    def __init__(self, redis: aioredis.Redis, misses_per_ip: int, window_seconds: int) -> None:
        self._redis = redis
        self._limit = misses_per_ip
        self._window = window_seconds

    async def check(self, client_ip: str) -> None:
        """Raise RateLimited while the address is at its limit of unknown codes."""
        key = misses_key(client_ip)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.get(key)
                pipe.ttl(key)
                misses, ttl = await pipe.execute()
        except REDIS_ERRORS as error:
            fail_open("certificate_verify", error)
            return
        if int(misses or 0) >= self._limit:
            raise RateLimited(
                "Too many unknown verification codes; try again later", retry_after=max(ttl, 1)
            )

    async def record_miss(self, client_ip: str) -> None:
        key = misses_key(client_ip)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.incr(key)
                pipe.expire(key, self._window, nx=True)
                await pipe.execute()
        except REDIS_ERRORS as error:
            fail_open("certificate_verify", error)
