"""Failed-login throttling in Redis that slows attackers without locking owners out.

Three counters, none of which is a lock:
- per (account, address) pair: after a few free failures each further one doubles a backoff,
  capped at `backoff_max_seconds` (a minute), during which that pair is refused (429);
- per address, across accounts: a budget of failures per `ip_window_seconds` (a minute), so
  one address cannot spray passwords over many accounts;
- per account, across addresses: crossing `alarm_failures` in `alarm_window_seconds` raises an
  alarm (the caller logs and counts it) and refuses nothing, so nobody can lock an account.
An owner is therefore never refused for longer than a minute, from any address.

Account keys are a hash of the normalised email, so they exist for unknown emails too (an
attacker cannot tell accounts apart by which ones get throttled) and no email sits in Redis.
A Redis outage lets logins through (fail open, logged and counted): bcrypt's cost still slows
guessing, and refusing every login would be an outage of its own.
"""

import hashlib
import math
from dataclasses import dataclass

import redis.asyncio as aioredis

from core.errors import RateLimited
from storage.keyvalue import REDIS_ERRORS, fail_open

PREFIX = "login_failures"


@dataclass(frozen=True, slots=True)
class LoginLimits:
    free_failures: int = 3
    backoff_base_seconds: float = 1.0
    backoff_max_seconds: float = 60.0
    per_ip: int = 30
    ip_window_seconds: int = 60
    alarm_failures: int = 20
    alarm_window_seconds: int = 15 * 60


def account_hash(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()[:32]


def account_key(email: str) -> str:
    return f"{PREFIX}:account:{account_hash(email)}"


def ip_key(client_ip: str) -> str:
    return f"{PREFIX}:ip:{client_ip}"


def pair_keys(email: str, client_ip: str) -> tuple[str, str]:
    """The pair's failure counter and its backoff marker (which expires when backoff ends)."""
    base = f"{PREFIX}:pair:{account_hash(email)}:{client_ip}"
    return f"{base}:count", f"{base}:until"


def backoff_seconds(failures: int, limits: LoginLimits) -> float:
    """How long a pair waits after its `failures`-th failure: 0 while free, then doubling."""
    extra = failures - limits.free_failures
    if extra <= 0:
        return 0.0
    return min(limits.backoff_base_seconds * 2 ** (extra - 1), limits.backoff_max_seconds)


class LoginThrottle:
    def __init__(self, redis: aioredis.Redis, limits: LoginLimits) -> None:
        self._redis = redis
        self._limits = limits

    async def check(self, email: str, client_ip: str) -> None:
        """Raise RateLimited while the pair backs off or the address has spent its budget."""
        _, until = pair_keys(email, client_ip)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.pttl(until)
                pipe.get(ip_key(client_ip))
                pipe.ttl(ip_key(client_ip))
                backoff_ms, ip_failures, ip_ttl = await pipe.execute()
        except REDIS_ERRORS as error:
            fail_open("login_throttle", error)
            return
        if int(backoff_ms) > 0:
            raise RateLimited(
                "Too many failed logins; try again shortly",
                retry_after=max(math.ceil(int(backoff_ms) / 1000), 1),
            )
        if int(ip_failures or 0) >= self._limits.per_ip:
            raise RateLimited(
                "Too many failed logins from this address; try again shortly",
                retry_after=max(int(ip_ttl), 1),
            )

    async def record_failure(self, email: str, client_ip: str) -> bool:
        """Count a failure; True when it makes the account cross its alarm threshold."""
        count, until = pair_keys(email, client_ip)
        limits = self._limits
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key, window in (
                    (count, limits.alarm_window_seconds),
                    (ip_key(client_ip), limits.ip_window_seconds),
                    (account_key(email), limits.alarm_window_seconds),
                ):
                    pipe.incr(key)
                    pipe.expire(key, window, nx=True)
                results = await pipe.execute()
            delay = backoff_seconds(int(results[0]), limits)
            if delay > 0:
                await self._redis.set(until, 1, px=int(delay * 1000))
        except REDIS_ERRORS as error:
            fail_open("login_throttle", error)
            return False
        return int(results[4]) == limits.alarm_failures

    async def clear_pair(self, email: str, client_ip: str) -> None:
        """A successful login forgives that pair (not the address's budget, not the alarm)."""
        try:
            await self._redis.delete(*pair_keys(email, client_ip))
        except REDIS_ERRORS as error:
            fail_open("login_throttle", error)
