"""Revoked login sessions, as Redis markers the gateway checks on every authenticated request.

PostgreSQL is the record of revocation (refresh tokens carry `revoked_at`); the marker only
makes a revoked session's still-unexpired access tokens stop working before they expire. A
marker lives as long as an access token can, after which every token of the session is dead.
"""

from collections.abc import Iterable

import redis.asyncio as aioredis

from storage.keyvalue import REDIS_ERRORS, fail_open


def revoked_session_key(session_id: str) -> str:
    return f"session_revoked:{session_id}"


class SessionRevocations:
    def __init__(self, redis: aioredis.Redis, access_token_ttl_seconds: int) -> None:
        self._redis = redis
        # One extra minute covers clock skew between the replica that issued and the one checking.
        self._ttl = access_token_ttl_seconds + 60

    async def revoke(self, session_ids: Iterable[str]) -> None:
        """Mark sessions revoked; when Redis is down their access tokens live out their
        (short) lifetime, while the database already refuses their refresh tokens."""
        keys = [revoked_session_key(sid) for sid in session_ids]
        if not keys:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.set(key, "1", ex=self._ttl)
                await pipe.execute()
        except REDIS_ERRORS as error:
            fail_open("session_revocation_write", error)
