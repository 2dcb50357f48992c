"""The load benchmark's baseline (benchmarks/baseline) on the test database: its authoring route
takes every course field the gateway's does (a course field added to the gateway once made
every POST /courses of the baseline a 500, and the load report counted them as failures)."""

import httpx

from core.settings import Settings
from tests.e2e.accounts import account


async def test_the_baseline_creates_a_course_with_every_field(database: Settings) -> None:
    from benchmarks.baseline import app  # reads the settings when imported

    owner = await account(database, "instructor")
    body = {
        "title": "Baseline course",
        "description": "Written by the baseline",
        "category": "testing",
        "level": "beginner",
        "enrollment_limit": 5,
        "pass_threshold": 60,
        "waitlist": True,
    }
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://baseline") as client,
    ):
        created = await client.post("/courses", json=body, headers=owner.headers)
    assert created.status_code == 201, created.text
    course = created.json()
    assert course["status"] == "draft" and course["pass_threshold"] == 60
    assert course["enrollment_limit"] == 5 and course["modules"] == []
