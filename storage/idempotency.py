"""Enrollment idempotency keys in Redis (24 h): the client's `Idempotency-Key` header and the
seed's SHA256(student_id + course_id + date); both map to the enrollment they produced. The
unique (student, course) constraint stays the last line when Redis is down (fail open)."""

import hashlib
from datetime import UTC, datetime

import redis.asyncio as aioredis

from storage.keyvalue import REDIS_ERRORS, fail_open


def enrollment_keys(student_id: int, course_id: int, header: str | None) -> list[str]:
    day = datetime.now(UTC).date().isoformat()
    # The seed's SHA256(student_id + course_id + date), with separators: "1" + "23" and
    # "12" + "3" must not name the same enrollment.
    digest = hashlib.sha256(f"{student_id}:{course_id}:{day}".encode()).hexdigest()
    keys = [f"idempotency:enroll:{digest}"]
    if header:
        header_digest = hashlib.sha256(header.encode()).hexdigest()
        keys.insert(0, f"idempotency:{student_id}:{header_digest}")
    return keys


class IdempotencyKeys:
    def __init__(self, redis: aioredis.Redis, ttl_seconds: int) -> None:
        self._redis, self._ttl = redis, ttl_seconds

    async def find(self, keys: list[str]) -> int | None:
        try:
            found = await self._redis.mget(keys)
        except REDIS_ERRORS as error:
            fail_open("idempotency", error)
            return None
        return next((int(value) for value in found if value is not None), None)

    async def remember(self, keys: list[str], enrollment_id: int) -> None:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.set(key, enrollment_id, ex=self._ttl, nx=True)
                await pipe.execute()
        except REDIS_ERRORS as error:
            fail_open("idempotency", error)
