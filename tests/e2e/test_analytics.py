"""Analytics over HTTP: who may read what, and the analytics consumer moving the figures after
an enrollment (through the outbox, the relay and Kafka)."""

import httpx

from tests.conftest import System
from tests.e2e.accounts import account
from tests.e2e.catalog import active_enrollment, lesson_ids, poll, published_course
from tests.e2e.test_gateway import assert_envelope


async def test_enrollment_moves_platform_and_course_analytics(
    client: httpx.AsyncClient, system: System
) -> None:
    admin = await account(system.settings, "admin")
    owner, student = await account(system.settings, "instructor"), await account(system.settings)
    course = await published_course(client, owner, modules=1, lessons=1)

    async def today() -> dict:
        trend = await client.get(
            "/analytics/enrollments", params={"granularity": "day"}, headers=admin.headers
        )
        assert trend.status_code == 200, trend.text
        items = trend.json()["items"]
        return items[-1] if items else {"new_enrollments": 0, "completions": 0}

    before = await today()
    await active_enrollment(client, student, course["id"])
    await client.post(f"/lessons/{lesson_ids(course)[0]}/complete", headers=student.headers)

    async def counted() -> dict | None:
        now = await today()
        moved = now["new_enrollments"] > before["new_enrollments"]
        return now if moved and now["completions"] > before["completions"] else None

    await poll(counted)
    figures = await client.get(f"/analytics/courses/{course['id']}", headers=owner.headers)
    assert figures.json() | {"avg_time_to_complete_hours": None} == {
        "course_id": course["id"],
        "enrollments": 1,
        "active": 0,
        "completed": 1,
        "dropped": 0,
        "completion_rate": 1.0,
        "avg_time_to_complete_hours": None,
    }
    overview = (await client.get("/analytics/overview", headers=admin.headers)).json()
    assert overview["total_courses_published"] >= 1 and overview["total_enrollments"] >= 1
    popular = await client.get("/analytics/courses/popular", headers=student.headers)
    assert popular.status_code == 200 and popular.json()["items"]


async def test_analytics_authorization(client: httpx.AsyncClient, system: System) -> None:
    owner, other = await account(system.settings, "instructor"), await account(system.settings)
    course = await published_course(client, owner, modules=1, lessons=1)
    assert_envelope(
        await client.get("/analytics/overview", headers=other.headers), 403, "forbidden"
    )
    assert_envelope(
        await client.get("/analytics/enrollments", headers=owner.headers), 403, "forbidden"
    )
    assert_envelope(
        await client.get(f"/analytics/courses/{course['id']}", headers=other.headers),
        404,
        "not_found",
    )
    assert_envelope(await client.get("/analytics/courses/popular"), 401, "unauthorized")
    bad = await client.get(
        "/analytics/enrollments", params={"granularity": "year"}, headers=owner.headers
    )
    assert_envelope(bad, 422, "validation_error")
