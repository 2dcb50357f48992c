"""The Redis connection of a process, and the one way a Redis failure is tolerated (fail open).

Redis holds only derived, short-lived state here (rate-limit windows, revocation markers,
login-failure counters, caches), so an outage degrades protection instead of taking the API
down. Every such degradation is logged and counted in `smartcourse_redis_fail_open_total`.
"""

import json
import logging
from typing import Any

import redis.asyncio as aioredis
from prometheus_client import Counter
from redis.exceptions import RedisError

from core.settings import Settings

log = logging.getLogger(__name__)

FAIL_OPEN = Counter(
    "smartcourse_redis_fail_open_total",
    "Checks that let a request through because Redis did not answer",
    ["check"],
)
# How many batched Redis calls of one kind a process keeps on their way at once
# (storage/batching.py): more than one, so a call rarely waits for another's answer.
REDIS_BATCHES_IN_FLIGHT = 4
# What a Redis call can raise when the server is down, slow or gone mid-reply.
REDIS_ERRORS = (RedisError, OSError, TimeoutError)


def connect_redis(settings: Settings) -> aioredis.Redis:
    """A pooled client with short timeouts, so a hung Redis costs a request milliseconds.

    When every connection is in use, a call waits for one (at most the same timeout) instead
    of failing: redis-py's default pool raises at once past 100, and the checks fail open, so
    a burst of 128 users' requests skipped rate limits and cache reads (load-history.md)."""
    pool = aioredis.BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=settings.redis_max_connections,
        timeout=settings.redis_timeout_seconds,
        socket_timeout=settings.redis_timeout_seconds,
        socket_connect_timeout=settings.redis_timeout_seconds,
        decode_responses=True,
    )
    return aioredis.Redis.from_pool(pool)


def fail_open(check: str, error: BaseException) -> None:
    """Record that `check` was skipped because Redis failed."""
    FAIL_OPEN.labels(check).inc()
    log.warning("event=redis_fail_open check=%s error=%s", check, type(error).__name__)


async def get_json(redis: aioredis.Redis, key: str, check: str) -> Any | None:
    """The JSON value cached at `key`; None when absent or when Redis failed (fail open)."""
    try:
        cached = await redis.get(key)
    except REDIS_ERRORS as error:
        fail_open(check, error)
        return None
    return None if cached is None else json.loads(cached)
