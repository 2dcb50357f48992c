"""Building, publishing and enrolling in courses over HTTP, for the e2e tests that need one."""

import asyncio
import time
import uuid

import httpx

from tests.e2e.accounts import Account

QUIZ = {
    "pass_score": 50,
    "questions": [
        {"prompt": "2 + 2?", "choices": ["3", "4"], "answer_index": 1},
        {"prompt": "Capital of France?", "choices": ["Paris", "Rome"], "answer_index": 0},
    ],
}


async def poll(check, within: float = 30.0):
    """`check()`'s first truthy answer, polled until the deadline; the interval grows from
    50 ms to 1 s, so a slow wait stays far below the per-route rate limit."""
    deadline, interval = time.monotonic() + within, 0.05
    while True:
        answer = await check()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {within} s")
        await asyncio.sleep(interval)
        interval = min(interval * 1.5, 1.0)


async def draft_course(
    client: httpx.AsyncClient,
    owner: Account,
    *,
    modules: int = 2,
    lessons: int = 2,
    quiz: bool = False,
    **fields,
) -> dict:
    """A draft course with `modules` x `lessons` text lessons (and a quiz in the last module)."""
    body = {
        "title": f"Course {uuid.uuid4().hex[:8]}",
        "description": "Learn things step by step",
        "category": "testing",
        "level": "beginner",
    } | fields
    created = await client.post("/courses", json=body, headers=owner.headers)
    assert created.status_code == 201, created.text
    course = created.json()
    for m in range(modules):
        module = await client.post(
            f"/courses/{course['id']}/modules", json={"title": f"Module {m}"}, headers=owner.headers
        )
        assert module.status_code == 201, module.text
        for n in range(lessons):
            lesson = {"title": f"Lesson {m}.{n}", "kind": "text", "content": f"Text {m}.{n}"}
            added = await client.post(
                f"/courses/{course['id']}/modules/{module.json()['id']}/lessons",
                json=lesson,
                headers=owner.headers,
            )
            assert added.status_code == 201, added.text
        if quiz and m == modules - 1:
            added = await client.post(
                f"/courses/{course['id']}/modules/{module.json()['id']}/lessons",
                json={"title": "Check", "kind": "quiz", "quiz": QUIZ},
                headers=owner.headers,
            )
            assert added.status_code == 201, added.text
    return (await client.get(f"/courses/{course['id']}", headers=owner.headers)).json()


async def wait_for_status(
    client: httpx.AsyncClient, owner: Account, course_id: int, status: str
) -> dict:
    async def reached() -> dict | None:
        course = (await client.get(f"/courses/{course_id}", headers=owner.headers)).json()
        return course if course["status"] == status else None

    return await poll(reached)


async def published_course(client: httpx.AsyncClient, owner: Account, **kwargs) -> dict:
    course = await draft_course(client, owner, **kwargs)
    started = await client.post(f"/courses/{course['id']}/publish", headers=owner.headers)
    assert started.status_code == 202, started.text
    return await wait_for_status(client, owner, course["id"], "published")


async def active_enrollment(client: httpx.AsyncClient, student: Account, course_id: int) -> dict:
    answer = await client.post(
        "/enrollments", json={"course_id": course_id}, headers=student.headers
    )
    assert answer.status_code in (200, 202), answer.text
    enrollment_id = answer.json()["enrollment_id"]

    async def active() -> dict | None:
        found = await client.get(f"/enrollments/{enrollment_id}", headers=student.headers)
        assert found.status_code == 200, found.text
        return found.json() if found.json()["status"] == "active" else None

    return await poll(active)


def lesson_ids(course: dict) -> list[int]:
    return [lesson["id"] for module in course["modules"] for lesson in module["lessons"]]


async def enrolled(client: httpx.AsyncClient, student: Account, course_id: int) -> dict:
    """The student's active enrollment; a shard may still answer `publishing` for a moment
    after the course view says `published` (the entity reloads in the workflow's next step)."""

    async def admitted() -> bool:
        body = {"course_id": course_id}
        answer = await client.post("/enrollments", json=body, headers=student.headers)
        return answer.status_code in (200, 202)

    await poll(admitted)
    return await active_enrollment(client, student, course_id)
