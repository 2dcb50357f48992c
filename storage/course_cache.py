"""The catalog and course caches (seed 6.2): `courses:category:{cat}:page:{p}` for 5 minutes and
`course:{id}` for 10, dropped on publish, update and archive.

Only public views are cached (published or archived courses), never a draft or a quiz key.
Catalog keys also carry a digest of the rest of the query (level, text, page size); each
category remembers its catalog keys in a set, so a change drops that category's pages and the
all-categories pages in one round trip, and the other categories' pages stay.

A course's seat count lives beside its view in `course:{id}:enrolled`: an admission writes the
new count (the course's shard admits one at a time), a drop deletes it, and the view stays
cached through both. A view without its count is a miss. A reader fills the count only where
none is (`NX`), so a fill from a read older than an admission does not overwrite it. Catalog
pages keep the count they were built with (at most their 5 minutes).

Reads answer the stored JSON text, which the gateway sends as it is: a hit costs no parse,
no model validation and no serialisation. The count is spliced in front of the stored view.
Reads that arrive together share one MGET (storage/batching.py).

A Redis failure reads through to PostgreSQL (fail open).
"""

import hashlib
import json
from collections.abc import Iterable
from itertools import islice
from typing import Any

import redis.asyncio as aioredis

from core.courses import CatalogQuery
from storage.batching import Coalescer
from storage.keyvalue import REDIS_BATCHES_IN_FLIGHT, REDIS_ERRORS, fail_open

ALL_CATEGORIES = "*"


def course_key(course_id: int) -> str:
    return f"course:{course_id}"


def seats_key(course_id: int) -> str:
    return f"course:{course_id}:enrolled"


def catalog_keys(category: str) -> str:
    """The set of one category's cached catalog keys."""
    return f"courses:catalog:keys:{category}"


def catalog_key(query: CatalogQuery) -> str:
    rest = json.dumps([query.level, query.q, query.page_size]).encode()
    digest = hashlib.sha256(rest).hexdigest()[:16]
    return f"courses:category:{query.category or ALL_CATEGORIES}:page:{query.page}:{digest}"


class CourseCache:
    def __init__(self, redis: aioredis.Redis, course_ttl: int, catalog_ttl: int) -> None:
        self._redis, self._course_ttl, self._catalog_ttl = redis, course_ttl, catalog_ttl
        self._reads: Coalescer[tuple[str, ...], list[str | None]] = Coalescer(
            self._mget, in_flight=REDIS_BATCHES_IN_FLIGHT
        )

    async def course(self, course_id: int) -> str | None:
        """The course's public view as JSON text, with its current seat count."""
        values = await self._read(course_key(course_id), seats_key(course_id))
        if values is None:
            return None
        view, enrolled = values
        if view is None or enrolled is None:
            return None
        return f'{{"enrolled_count":{int(enrolled)},{view[1:]}'

    async def catalog(self, query: CatalogQuery) -> str | None:
        """The catalog page as JSON text."""
        values = await self._read(catalog_key(query))
        return None if values is None else values[0]

    async def _read(self, *keys: str) -> list[str | None] | None:
        """The keys' values; None when Redis failed (fail open)."""
        try:
            return await self._reads.submit(keys)
        except REDIS_ERRORS as error:
            fail_open("course_cache", error)
            return None

    async def _mget(self, reads: list[tuple[str, ...]]) -> list[list[str | None]]:
        """The reads that arrived while the last one was on its way, as one MGET."""
        values = iter(await self._redis.mget([key for keys in reads for key in keys]))
        return [list(islice(values, len(keys))) for keys in reads]

    async def put_course(self, course_id: int, view: dict[str, Any]) -> None:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                stored = {name: value for name, value in view.items() if name != "enrolled_count"}
                pipe.set(course_key(course_id), json.dumps(stored), ex=self._course_ttl)
                pipe.set(seats_key(course_id), view["enrolled_count"], ex=self._course_ttl, nx=True)
                await pipe.execute()
        except REDIS_ERRORS as error:
            fail_open("course_cache", error)

    async def put_catalog(self, query: CatalogQuery, page: dict[str, Any]) -> None:
        key, keys = catalog_key(query), catalog_keys(query.category or ALL_CATEGORIES)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.set(key, json.dumps(page), ex=self._catalog_ttl)
                pipe.sadd(keys, key)
                pipe.expire(keys, self._catalog_ttl)
                await pipe.execute()
        except REDIS_ERRORS as error:
            fail_open("course_cache", error)

    async def set_enrolled(self, course_id: int, enrolled: int) -> None:
        """The seat count after an admission committed."""
        try:
            await self._redis.set(seats_key(course_id), enrolled, ex=self._course_ttl)
        except REDIS_ERRORS as error:
            fail_open("course_cache", error)

    async def forget_enrolled(self, course_id: int) -> None:
        """After a drop (on the student's shard, unordered with admissions): the next read
        takes the count from PostgreSQL."""
        try:
            await self._redis.delete(seats_key(course_id))
        except REDIS_ERRORS as error:
            fail_open("course_cache", error)

    async def invalidate(self, course_id: int, categories: Iterable[str]) -> None:
        """Drop the course's view and the catalog pages it can appear on: those of its
        categories (old and new, when it moved) and those of all categories."""
        sets = [catalog_keys(category) for category in {*categories, ALL_CATEGORIES}]
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for keys in sets:
                    pipe.smembers(keys)
                pages = await pipe.execute()
            await self._redis.delete(course_key(course_id), *sets, *set().union(*pages))
        except REDIS_ERRORS as error:
            fail_open("course_cache", error)
