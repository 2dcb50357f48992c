"""Unknown-code counters for public certificate verification, per client IP over a fixed window.

Only misses are counted, and only a miss is ever refused: a real code is looked up first and
always answered, so a student or employer sharing an address with a guesser is never turned
away. Past the limit an address gets 429 instead of 404 for its unknown codes, which ends the
cheap "no such code" answer; the codes themselves (128 random bits) are what makes guessing
hopeless, this is a second line. A Redis outage lets lookups through (fail open, logged and
counted).
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

    async def record_miss(self, client_ip: str) -> None:
        """Count an unknown code; raise RateLimited once the address is past its limit."""
        key = misses_key(client_ip)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.incr(key)
                pipe.expire(key, self._window, nx=True)
                pipe.ttl(key)
                misses, _, ttl = await pipe.execute()
        except REDIS_ERRORS as error:
            fail_open("certificate_verify", error)
            return
        if int(misses) > self._limit:
            raise RateLimited(
                "Too many unknown verification codes; try again later", retry_after=max(ttl, 1)
            )
