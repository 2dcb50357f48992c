"""Heartbeats of the long-running loops (outbox relay, consumer groups, Temporal worker, ...).

Each loop calls `Heartbeats.beat(name)` as it goes round; the key expires after
`heartbeat_ttl_seconds`, so a loop that stopped, hung or died with its process disappears from
Redis on its own, and readiness (`/readyz`, `/status`) names it without asking the loop itself.
A beat is written at most once a second per name, so a hot loop costs Redis next to nothing.
"""

import time

import redis.asyncio as aioredis

from core.settings import Settings
from storage.keyvalue import REDIS_ERRORS, fail_open

PREFIX = "smartcourse:heartbeat:"
MIN_INTERVAL_SECONDS = 1.0


class Heartbeats:
    def __init__(self, redis: aioredis.Redis, settings: Settings) -> None:
        self.redis = redis
        self.ttl = max(1, round(settings.heartbeat_ttl_seconds))
        self.last: dict[str, float] = {}

    async def beat(self, name: str) -> None:
        """Record that loop `name` is alive now (fail open: a Redis outage is readiness's
        own finding, not the loop's)."""
        now = time.monotonic()
        if now - self.last.get(name, float("-inf")) < MIN_INTERVAL_SECONDS:
            return
        try:
            await self.redis.set(PREFIX + name, time.time(), ex=self.ttl)
        except REDIS_ERRORS as error:
            fail_open("heartbeat", error)
            return
        self.last[name] = now

    async def ages(self, names: list[str]) -> dict[str, float | None]:
        """Seconds since each loop's last beat; None for a loop with no live heartbeat."""
        if not names:
            return {}
        values = await self.redis.mget([PREFIX + name for name in names])
        now = time.time()
        return {
            name: None if value is None else max(0.0, now - float(value))
            for name, value in zip(names, values, strict=True)
        }
