"""The catalog and course caches (seed 6.2): `courses:category:{cat}:page:{p}` for 5 minutes and
`course:{id}` for 10, dropped on publish, update and archive.

Only public views are cached (published or archived courses), never a draft or a quiz key.
Catalog keys also carry a digest of the rest of the query (level, text, page size), and every
catalog key is remembered in one set, so an invalidation drops them all in one round trip. A
Redis failure reads through to PostgreSQL (fail open).
"""

import hashlib
import json
from typing import Any

import redis.asyncio as aioredis

from core.courses import CatalogQuery
from storage.keyvalue import REDIS_ERRORS, fail_open

CATALOG_KEYS = "courses:catalog:keys"


def course_key(course_id: int) -> str:
    return f"course:{course_id}"


def catalog_key(query: CatalogQuery) -> str:
    rest = json.dumps([query.level, query.q, query.page_size]).encode()
    digest = hashlib.sha256(rest).hexdigest()[:16]
    return f"courses:category:{query.category or '*'}:page:{query.page}:{digest}"


class CourseCache:
    def __init__(self, redis: aioredis.Redis, course_ttl: int, catalog_ttl: int) -> None:
        self._redis, self._course_ttl, self._catalog_ttl = redis, course_ttl, catalog_ttl

    async def _get(self, key: str) -> dict[str, Any] | None:
        try:
            cached = await self._redis.get(key)
        except REDIS_ERRORS as error:
            fail_open("course_cache", error)
            return None
        return None if cached is None else json.loads(cached)

    async def course(self, course_id: int) -> dict[str, Any] | None:
        return await self._get(course_key(course_id))

    async def catalog(self, query: CatalogQuery) -> dict[str, Any] | None:
        return await self._get(catalog_key(query))

    async def put_course(self, course_id: int, view: dict[str, Any]) -> None:
        try:
            await self._redis.set(course_key(course_id), json.dumps(view), ex=self._course_ttl)
        except REDIS_ERRORS as error:
            fail_open("course_cache", error)

    async def put_catalog(self, query: CatalogQuery, page: dict[str, Any]) -> None:
        key = catalog_key(query)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.set(key, json.dumps(page), ex=self._catalog_ttl)
                pipe.sadd(CATALOG_KEYS, key)
                pipe.expire(CATALOG_KEYS, self._catalog_ttl)
                await pipe.execute()
        except REDIS_ERRORS as error:
            fail_open("course_cache", error)

    async def invalidate_course(self, course_id: int) -> None:
        """Drop the course's view only (its seat count changed; catalog pages may lag 5 min)."""
        try:
            await self._redis.delete(course_key(course_id))
        except REDIS_ERRORS as error:
            fail_open("course_cache", error)

    async def invalidate(self, course_id: int) -> None:
        """Drop the course and every catalog page (a change can move any page)."""
        try:
            keys = await self._redis.smembers(CATALOG_KEYS)
            await self._redis.delete(course_key(course_id), CATALOG_KEYS, *keys)
        except REDIS_ERRORS as error:
            fail_open("course_cache", error)
