"""The course and catalog caches against real Redis: seat counts change without dropping the
course's view, and a course change drops only the catalog pages it can appear on."""

import json
import random
import uuid
from collections.abc import AsyncIterator

import pytest

from core.courses import CatalogQuery
from core.settings import Settings
from storage.course_cache import CourseCache
from storage.keyvalue import connect_redis


@pytest.fixture
async def cache(database: Settings) -> AsyncIterator[CourseCache]:
    """The session's Redis db, which the running system shares: ids and categories here are
    unique to each test, and nothing is flushed."""
    redis = connect_redis(database)
    yield CourseCache(redis, course_ttl=600, catalog_ttl=300)
    await redis.aclose()


@pytest.fixture
def course_id() -> int:
    return random.randrange(10**9, 2 * 10**9)


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def view(course_id: int, enrolled: int = 3) -> dict:
    return {"id": course_id, "title": "Rust", "category": "programming", "enrolled_count": enrolled}


async def test_an_admission_updates_the_seat_count_and_keeps_the_view(
    cache: CourseCache, course_id: int
) -> None:
    await cache.put_course(course_id, view(course_id))
    assert json.loads(await cache.course(course_id)) == view(course_id)
    await cache.set_enrolled(course_id, 4)
    assert json.loads(await cache.course(course_id)) == view(course_id, enrolled=4)


async def test_a_fill_from_an_older_read_keeps_the_newer_seat_count(
    cache: CourseCache, course_id: int
) -> None:
    await cache.set_enrolled(course_id, 5)
    await cache.put_course(course_id, view(course_id, enrolled=3))
    assert json.loads(await cache.course(course_id))["enrolled_count"] == 5


async def test_a_drop_makes_the_next_read_a_miss(cache: CourseCache, course_id: int) -> None:
    await cache.put_course(course_id, view(course_id))
    await cache.forget_enrolled(course_id)
    assert await cache.course(course_id) is None
    await cache.put_course(course_id, view(course_id, enrolled=2))
    assert json.loads(await cache.course(course_id))["enrolled_count"] == 2


async def test_a_course_change_drops_its_categories_pages_and_the_all_categories_pages(
    cache: CourseCache, course_id: int
) -> None:
    programming, art = unique("programming"), unique("art")
    pages = {
        "programming": CatalogQuery(category=programming),
        "programming search": CatalogQuery(category=programming, q="rust", page=2),
        "art": CatalogQuery(category=art),
        "all": CatalogQuery(q=unique("all")),
    }
    for name, query in pages.items():
        await cache.put_catalog(query, {"items": [], "name": name})
    await cache.put_course(course_id, view(course_id))

    await cache.invalidate(course_id, [programming])

    kept = {name for name, query in pages.items() if await cache.catalog(query) is not None}
    assert kept == {"art"}
    assert await cache.course(course_id) is None
