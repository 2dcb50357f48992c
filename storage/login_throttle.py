"""Failed-login counters in Redis, per account and per client IP, over a fixed window.

The account key is a hash of the normalised email, so it exists for unknown emails too (an
attacker cannot tell accounts apart by which ones get throttled) and no address sits in Redis.
A Redis outage lets logins through (fail open, logged and counted): bcrypt's cost still slows
guessing, and refusing every login would be an outage of its own.
"""

import hashlib

import redis.asyncio as aioredis

from core.errors import RateLimited
from storage.keyvalue import REDIS_ERRORS, fail_open


def account_key(email: str) -> str:
    return f"login_failures:account:{hashlib.sha256(email.encode()).hexdigest()[:32]}"


def ip_key(client_ip: str) -> str:
    return f"login_failures:ip:{client_ip}"


class LoginThrottle:
    def __init__(
        self, redis: aioredis.Redis, per_account: int, per_ip: int, window_seconds: int
    ) -> None:
        self._redis = redis
        self._limits = (per_account, per_ip)
        self._window = window_seconds

    async def check(self, email: str, client_ip: str) -> None:
        """Raise RateLimited while either counter is at its limit."""
        keys = (account_key(email), ip_key(client_ip))
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.get(key)
                    pipe.ttl(key)
                results = await pipe.execute()
        except REDIS_ERRORS as error:
            fail_open("login_throttle", error)
            return
        for index, limit in enumerate(self._limits):
            failures, ttl = int(results[2 * index] or 0), int(results[2 * index + 1])
            if failures >= limit:
                raise RateLimited(
                    "Too many failed logins; try again later", retry_after=max(ttl, 1)
                )

    async def record_failure(self, email: str, client_ip: str) -> None:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in (account_key(email), ip_key(client_ip)):
                    pipe.incr(key)
                    pipe.expire(key, self._window, nx=True)
                await pipe.execute()
        except REDIS_ERRORS as error:
            fail_open("login_throttle", error)

    async def clear_account(self, email: str) -> None:
        """A successful login forgives the account's failures (not the IP's)."""
        try:
            await self._redis.delete(account_key(email))
        except REDIS_ERRORS as error:
            fail_open("login_throttle", error)
