"""The gateway's admission check: a fixed-window rate limit per caller and route, plus the
revocation marker of the caller's session, answered in one Redis round trip.

Keys follow the seed: `rate_limit:{user_id}:{endpoint}`, where endpoint is the route template
(bounded cardinality) and an anonymous caller's `user_id` is `ip:<address>`. A Redis outage
admits the request (fail open, logged and counted): rate limiting protects capacity, and
refusing all traffic would be the very outage it guards against. Revocation fails open too:
an access token lives at most 15 minutes and refresh tokens are checked in PostgreSQL, so the
exposure is bounded, whereas failing closed would log every user out while Redis is down.
"""

from dataclasses import dataclass

import redis.asyncio as aioredis

from storage.keyvalue import REDIS_ERRORS, fail_open
from storage.revocations import revoked_session_key

WINDOW_SECONDS = 60


def rate_limit_key(subject: str, endpoint: str) -> str:
    return f"rate_limit:{subject}:{endpoint}"


@dataclass(frozen=True, slots=True)
class Admission:
    allowed: bool
    retry_after: int = 0
    session_revoked: bool = False


class AccessGate:
    def __init__(self, redis: aioredis.Redis, limit_per_minute: int) -> None:
        self._redis = redis
        self._limit = limit_per_minute

    async def admit(self, subject: str, endpoint: str, session_id: str | None = None) -> Admission:
        key = rate_limit_key(subject, endpoint)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.incr(key)
                # NX: the window starts at the first request and is not extended by later ones.
                pipe.expire(key, WINDOW_SECONDS, nx=True)
                pipe.ttl(key)
                if session_id is not None:
                    pipe.exists(revoked_session_key(session_id))
                results = await pipe.execute()
        except REDIS_ERRORS as error:
            fail_open("rate_limit", error)
            return Admission(allowed=True)
        count, ttl = int(results[0]), int(results[2])
        revoked = session_id is not None and bool(results[3])
        if count > self._limit:
            return Admission(False, retry_after=max(ttl, 1), session_revoked=revoked)
        return Admission(True, session_revoked=revoked)
