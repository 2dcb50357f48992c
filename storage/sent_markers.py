"""The sent markers in Redis: at most once per dedupe key, for the message tasks (email, SMS,
push, in workflows/tasks): a redelivered or retried task finds its key's marker and does not
send again.

One Redis client per worker process, its connection pool shared by the pool's threads: a client
made and closed per task cost a connection and its handshake per message, a quarter of an email
task's CPU (py-spy, `make bench`'s module notices)."""

import functools
from collections.abc import Callable

import redis

from core.settings import Settings


@functools.cache
def markers(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def send_once(settings: Settings, key: str | None, send: Callable[[], None]) -> bool:
    """Run `send` unless `key` is marked sent, then mark it for the idempotency TTL; False for a
    duplicate. Without a key it always sends."""
    client = markers(settings.redis_url)
    if key is not None and client.exists(key):
        return False
    send()
    if key is not None:
        client.set(key, 1, ex=settings.idempotency_ttl_seconds)
    return True
