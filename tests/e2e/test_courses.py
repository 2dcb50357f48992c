"""Course authoring, publishing and archiving over real HTTP, through the Temporal workflows."""

import httpx
from sqlalchemy import func, select

from storage.db import Database
from storage.models.course import Course, Module, PublishFailure
from tests.conftest import System
from tests.e2e.accounts import account
from tests.e2e.catalog import draft_course, poll, published_course, wait_for_status
from tests.e2e.test_gateway import assert_envelope


async def test_published_course_is_listed_in_the_catalog(
    client: httpx.AsyncClient, system: System
) -> None:
    owner = await account(system.settings, "instructor")
    course = await published_course(client, owner, quiz=True, category="physics-e2e")
    assert course["published_at"] and [len(m["lessons"]) for m in course["modules"]] == [2, 3]
    # Quiz keys never leave the services.
    lessons = [lesson for module in course["modules"] for lesson in module["lessons"]]
    assert all(set(x) == {"id", "title", "kind", "position", "duration_minutes"} for x in lessons)
    assert "answer_index" not in str(course)
    page = (await client.get("/courses", params={"category": "physics-e2e"})).json()
    assert [item["id"] for item in page["items"]] == [course["id"]]
    assert page["total"] == 1 and page["page"] == 1 and page["page_size"] == 20
    public = await client.get(f"/courses/{course['id']}")
    assert public.status_code == 200 and public.json()["status"] == "published"


async def test_full_text_search_and_newest_first(client: httpx.AsyncClient, system: System) -> None:
    owner = await account(system.settings, "instructor")
    older = await published_course(client, owner, title="Quantum gardening", category="search-e2e")
    newer = await published_course(client, owner, title="Gardening basics", category="search-e2e")
    found = (
        await client.get("/courses", params={"q": "gardening", "category": "search-e2e"})
    ).json()
    assert [item["id"] for item in found["items"]] == [newer["id"], older["id"]]
    found = (await client.get("/courses", params={"q": "quantum", "category": "search-e2e"})).json()
    assert [item["id"] for item in found["items"]] == [older["id"]]
    paged = (
        await client.get("/courses", params={"category": "search-e2e", "page_size": 1, "page": 2})
    ).json()
    assert [item["id"] for item in paged["items"]] == [older["id"]] and paged["total"] == 2


async def test_empty_course_fails_publishing_and_returns_to_draft(
    client: httpx.AsyncClient, system: System, db: Database
) -> None:
    owner = await account(system.settings, "instructor")
    course = await draft_course(client, owner, modules=1, lessons=0)
    started = await client.post(f"/courses/{course['id']}/publish", headers=owner.headers)
    assert started.status_code == 202
    assert started.json() == {"workflow_id": f"publish-course-{course['id']}", "status": "QUEUED"}

    async def failed() -> dict | None:
        found = (await client.get(f"/courses/{course['id']}", headers=owner.headers)).json()
        return found if found["status"] == "draft" and found["publish_error"] else None

    reverted = await poll(failed)
    assert "has no lessons" in reverted["publish_error"]
    async with db.unit_of_work() as uow:
        failures = await uow.session.scalar(
            select(func.count()).where(PublishFailure.course_id == course["id"])
        )
    assert failures == 1

    async def told() -> list:
        notes = (await client.get("/notifications", headers=owner.headers)).json()["items"]
        return [n["kind"] for n in notes]

    assert await poll(told) == ["course_publish_failed"]


async def test_archive_ends_enrollments_and_leaves_the_catalog(
    client: httpx.AsyncClient, system: System
) -> None:
    owner = await account(system.settings, "instructor")
    course = await published_course(client, owner, category="archive-e2e")
    answer = await client.delete(f"/courses/{course['id']}", headers=owner.headers)
    assert (
        answer.status_code == 202
        and answer.json()["workflow_id"] == f"archive-course-{course['id']}"
    )
    await wait_for_status(client, owner, course["id"], "archived")
    page = (await client.get("/courses", params={"category": "archive-e2e"})).json()
    assert page["items"] == []
    student = await account(system.settings)
    refused = await client.post(
        "/enrollments", json={"course_id": course["id"]}, headers=student.headers
    )
    assert_envelope(refused, 409, "conflict")


async def test_authorization_and_validation_write_nothing(
    client: httpx.AsyncClient, system: System, db: Database
) -> None:
    owner, other, student = (
        await account(system.settings, "instructor"),
        await account(system.settings, "instructor"),
        await account(system.settings),
    )
    course = await draft_course(client, owner, modules=1, lessons=1)
    cid = course["id"]
    base = {"title": "T", "description": "D", "category": "c", "level": "beginner"}
    assert_envelope(
        await client.post("/courses", json=base, headers=student.headers), 403, "forbidden"
    )
    assert_envelope(await client.post("/courses", json=base), 401, "unauthorized")
    bad = await client.post("/courses", json=base | {"level": "expert"}, headers=owner.headers)
    assert_envelope(bad, 422, "validation_error")
    assert bad.json()["error"]["details"][0]["field"].endswith("level")
    unknown = await client.post(
        "/courses", json=base | {"prerequisite_ids": [2**40]}, headers=owner.headers
    )
    assert_envelope(unknown, 422, "validation_error")
    # Drafts are invisible to everyone but their owner (404), and only the owner changes them.
    assert_envelope(await client.get(f"/courses/{cid}", headers=other.headers), 404, "not_found")
    assert_envelope(await client.get(f"/courses/{cid}"), 404, "not_found")
    assert_envelope(
        await client.put(f"/courses/{cid}", json={"title": "X"}, headers=other.headers),
        404,
        "not_found",
    )
    assert_envelope(
        await client.post(f"/courses/{cid}/modules", json={"title": "M"}, headers=other.headers),
        404,
        "not_found",
    )
    assert_envelope(
        await client.post(f"/courses/{cid}/publish", headers=student.headers), 404, "not_found"
    )
    lesson = {"title": "Q", "kind": "quiz"}
    module_id = course["modules"][0]["id"]
    no_quiz = await client.post(
        f"/courses/{cid}/modules/{module_id}/lessons", json=lesson, headers=owner.headers
    )
    assert_envelope(no_quiz, 422, "validation_error")
    bad_key = lesson | {
        "quiz": {
            "pass_score": 50,
            "questions": [{"prompt": "p", "choices": ["a", "b"], "answer_index": 5}],
        }
    }
    assert_envelope(
        await client.post(
            f"/courses/{cid}/modules/{module_id}/lessons", json=bad_key, headers=owner.headers
        ),
        422,
        "validation_error",
    )
    async with db.unit_of_work() as uow:
        stored = await uow.session.get(Course, cid)
        modules = await uow.session.scalar(select(func.count()).where(Module.course_id == cid))
    assert stored.title == course["title"] and modules == 1
    # Once published, other instructors see it but get 403 on change.
    await client.post(f"/courses/{cid}/publish", headers=owner.headers)
    await wait_for_status(client, owner, cid, "published")
    assert_envelope(
        await client.put(f"/courses/{cid}", json={"title": "X"}, headers=other.headers),
        403,
        "forbidden",
    )
    assert_envelope(
        await client.post(f"/courses/{cid}/publish", headers=owner.headers), 409, "conflict"
    )
    # A live course may be revised (issue 18); other instructors still may not.
    late = await client.post(
        f"/courses/{cid}/modules", json={"title": "late"}, headers=owner.headers
    )
    assert late.status_code == 201, late.text
    assert_envelope(
        await client.post(f"/courses/{cid}/modules", json={"title": "x"}, headers=other.headers),
        403,
        "forbidden",
    )
    updated = await client.put(f"/courses/{cid}", json={"title": "Renamed"}, headers=owner.headers)
    assert updated.status_code == 200 and updated.json()["title"] == "Renamed"
    assert (await client.get(f"/courses/{cid}")).json()["title"] == "Renamed"


async def test_materials_upload_type_and_size(client: httpx.AsyncClient, system: System) -> None:
    owner = await account(system.settings, "instructor")
    course = await draft_course(client, owner, modules=1, lessons=1)
    url = f"/courses/{course['id']}/materials"
    files = {"file": ("notes.md", b"# Notes\nphotosynthesis in plants", "text/markdown")}
    uploaded = await client.post(url, files=files, headers=owner.headers)
    assert uploaded.status_code == 201, uploaded.text
    body = uploaded.json()
    assert body["filename"] == "notes.md" and body["content_type"] == "text/markdown"
    assert body["size"] == 32
    async with httpx.AsyncClient() as plain:
        assert (await plain.get(body["url"])).content == b"# Notes\nphotosynthesis in plants"
    fake = {"file": ("virus.pdf", b"MZ\x90\x00", "application/pdf")}
    assert_envelope(
        await client.post(url, files=fake, headers=owner.headers), 422, "validation_error"
    )
    exe = {"file": ("tool.exe", b"MZ", "application/octet-stream")}
    assert_envelope(
        await client.post(url, files=exe, headers=owner.headers), 422, "validation_error"
    )
    huge = {"file": ("big.txt", b"x" * (51 * 1024 * 1024), "text/plain")}
    assert_envelope(
        await client.post(url, files=huge, headers=owner.headers), 413, "payload_too_large"
    )
