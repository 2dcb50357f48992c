"""Revising a published course over HTTP: lessons and modules added, edited, removed and
reordered on a live course; percentages recomputed over the new structure, no completion lost,
finished learners stay finished with their certificate; `course.updated` carries the change and
the content store is re-indexed. And the revision under load."""

import asyncio
import random

import httpx
from sqlalchemy import select

from storage.db import Database
from storage.models.course import ContentChunk
from storage.models.enrollment import Enrollment, LessonCompletion
from storage.models.outbox import OutboxEvent
from tests.conftest import System
from tests.e2e.accounts import Account, account, many_accounts
from tests.e2e.catalog import active_enrollment, enrolled, lesson_ids, poll, published_course
from tests.e2e.test_gateway import assert_envelope


async def course_of(client: httpx.AsyncClient, owner: Account, course_id: int) -> dict:
    answer = await client.get(f"/courses/{course_id}", headers=owner.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def complete(client: httpx.AsyncClient, student: Account, lesson_id: int) -> dict:
    answer = await client.post(f"/lessons/{lesson_id}/complete", headers=student.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def progress(client: httpx.AsyncClient, student: Account, enrollment_id: int) -> float:
    answer = await client.get(f"/enrollments/{enrollment_id}/progress", headers=student.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["completion_percentage"]


async def stored_percentage(db: Database, enrollment_id: int) -> float:
    async with db.unit_of_work() as uow:
        return (await uow.session.get(Enrollment, enrollment_id)).completion_percentage


async def completions(db: Database, enrollment_id: int) -> set[int]:
    async with db.unit_of_work() as uow:
        rows = await uow.session.scalars(
            select(LessonCompletion.lesson_id).where(
                LessonCompletion.enrollment_id == enrollment_id
            )
        )
        return set(rows)


async def updates(db: Database, course_id: int) -> list[dict]:
    async with db.unit_of_work() as uow:
        rows = await uow.session.scalars(
            select(OutboxEvent.payload)
            .where(OutboxEvent.event_type == "course.updated", OutboxEvent.key == str(course_id))
            .order_by(OutboxEvent.seq)
        )
        return [row["data"] for row in rows]


async def test_a_live_course_is_revised_step_by_step(
    client: httpx.AsyncClient, system: System, db: Database
) -> None:
    owner = await account(system.settings, "instructor")
    course = await published_course(client, owner)
    cid, (first, second) = course["id"], [m["id"] for m in course["modules"]]
    base = f"/courses/{cid}/modules"
    added = await client.post(
        f"{base}/{first}/lessons",
        json={"title": "Extra", "kind": "text", "content": "zymurgy"},
        headers=owner.headers,
    )
    assert added.status_code == 201, added.text
    extra = added.json()["id"]
    edited = await client.put(
        f"{base}/{first}/lessons/{extra}",
        json={"content": "quixotic zymurgy", "duration_minutes": 7},
        headers=owner.headers,
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["title"] == "Extra" and edited.json()["duration_minutes"] == 7
    old = [x["id"] for x in course["modules"][0]["lessons"]]
    order = [extra, *old[::-1]]
    ordered = await client.post(
        f"{base}/{first}/lessons/order", json={"ids": order}, headers=owner.headers
    )
    assert ordered.status_code == 200 and [x["id"] for x in ordered.json()] == order
    swapped = await client.post(
        f"{base}/order", json={"ids": [second, first]}, headers=owner.headers
    )
    assert swapped.status_code == 200 and [m["id"] for m in swapped.json()] == [second, first]
    gone = await client.delete(f"{base}/{first}/lessons/{old[0]}", headers=owner.headers)
    assert gone.status_code == 204
    view = await course_of(client, owner, cid)
    assert [m["id"] for m in view["modules"]] == [second, first]
    assert [x["id"] for x in view["modules"][1]["lessons"]] == [extra, old[1]]
    assert view["structure_version"] == 6
    assert (await client.delete(f"{base}/{second}", headers=owner.headers)).status_code == 204
    view = await course_of(client, owner, cid)
    assert [m["id"] for m in view["modules"]] == [first] and view["structure_version"] == 7
    actions = [u["change"]["action"] for u in await updates(db, cid)]
    assert actions == [
        "lesson_added",
        "lesson_edited",
        "lessons_reordered",
        "modules_reordered",
        "lesson_deleted",
        "module_deleted",
    ]
    async with db.unit_of_work() as uow:
        chunks = await uow.session.scalars(
            select(ContentChunk.document).where(ContentChunk.course_id == cid)
        )
        texts = [c["text"] for c in chunks]
    assert "quixotic zymurgy" in texts and "Text 1.0" not in texts


async def test_percentages_follow_the_structure_and_nothing_is_lost(
    client: httpx.AsyncClient, system: System, db: Database
) -> None:
    owner, student = await account(system.settings, "instructor"), await account(system.settings)
    course = await published_course(client, owner)
    enrollment = await enrolled(client, student, course["id"])
    lessons, module = lesson_ids(course), course["modules"][0]["id"]
    for lesson in lessons[:2]:
        await complete(client, student, lesson)
    assert await progress(client, student, enrollment["id"]) == 50.0
    path = f"/courses/{course['id']}/modules/{module}/lessons/{lessons[0]}"
    assert (await client.delete(path, headers=owner.headers)).status_code == 204
    assert await progress(client, student, enrollment["id"]) == 33.33
    assert await stored_percentage(db, enrollment["id"]) == 33.33
    assert await completions(db, enrollment["id"]) == set(lessons[:2])
    refused = await client.post(f"/lessons/{lessons[0]}/complete", headers=student.headers)
    assert_envelope(refused, 404, "not_found")
    added = await client.post(
        f"/courses/{course['id']}/modules/{module}/lessons",
        json={"title": "New", "kind": "text"},
        headers=owner.headers,
    )
    assert added.status_code == 201
    assert await progress(client, student, enrollment["id"]) == 25.0
    assert await stored_percentage(db, enrollment["id"]) == 25.0
    body = (await complete(client, student, added.json()["id"]))["completion_percentage"]
    assert body == 50.0 == await stored_percentage(db, enrollment["id"])


async def certificate_of(client: httpx.AsyncClient, student: Account, enrollment_id: int) -> int:
    """The enrollment's certificate id, once its workflow has issued it."""

    async def issued() -> int | None:
        found = await client.get(f"/enrollments/{enrollment_id}", headers=student.headers)
        return found.json()["certificate_id"]

    return await poll(issued, within=60)


async def test_a_finished_learner_stays_finished_with_the_certificate(
    client: httpx.AsyncClient, system: System
) -> None:
    owner, student = await account(system.settings, "instructor"), await account(system.settings)
    course = await published_course(client, owner, modules=1, lessons=1)
    enrollment = await enrolled(client, student, course["id"])
    await complete(client, student, lesson_ids(course)[0])
    certificate_id = await certificate_of(client, student, enrollment["id"])
    added = await client.post(
        f"/courses/{course['id']}/modules/{course['modules'][0]['id']}/lessons",
        json={"title": "Epilogue", "kind": "text"},
        headers=owner.headers,
    )
    assert added.status_code == 201
    after = (await client.get(f"/enrollments/{enrollment['id']}", headers=student.headers)).json()
    assert after["status"] == "completed" and after["certificate_id"] == certificate_id
    code = (await client.get(f"/certificates/{certificate_id}", headers=student.headers)).json()
    verified = await client.get(f"/certificates/verify/{code['verification_code']}")
    assert verified.status_code == 200 and verified.json()["valid"] is True


async def test_a_learner_left_with_every_lesson_done_completes_and_is_certified(
    client: httpx.AsyncClient, system: System
) -> None:
    owner, student = await account(system.settings, "instructor"), await account(system.settings)
    course = await published_course(client, owner, modules=1, lessons=2)
    enrollment = await enrolled(client, student, course["id"])
    done, missing = lesson_ids(course)
    assert (await complete(client, student, done))["completion_percentage"] == 50.0
    path = f"/courses/{course['id']}/modules/{course['modules'][0]['id']}/lessons/{missing}"
    assert (await client.delete(path, headers=owner.headers)).status_code == 204
    url = f"/enrollments/{enrollment['id']}"
    now = (await client.get(url, headers=student.headers)).json()
    assert now["status"] == "completed" and now["completed_at"] is not None
    assert now["progress"]["completion_percentage"] == 100.0
    assert await certificate_of(client, student, enrollment["id"])


async def test_revision_errors(client: httpx.AsyncClient, system: System, db: Database) -> None:
    owner = await account(system.settings, "instructor")
    other = await account(system.settings, "instructor")
    student = await account(system.settings)
    course = await published_course(client, owner, modules=1, lessons=2)
    module, lessons = course["modules"][0]["id"], lesson_ids(course)
    base = f"/courses/{course['id']}/modules/{module}"
    calls = [
        ("PUT", f"{base}/lessons/{lessons[0]}", {"title": "X"}),
        ("DELETE", f"{base}/lessons/{lessons[0]}", None),
        ("DELETE", base, None),
        ("POST", f"{base}/lessons/order", {"ids": lessons[::-1]}),
        ("POST", f"/courses/{course['id']}/modules/order", {"ids": [module]}),
    ]
    for method, path, body in calls:
        for caller in (other, student):
            answer = await client.request(method, path, json=body, headers=caller.headers)
            assert_envelope(answer, 403, "forbidden")
        assert (await client.request(method, path, json=body)).status_code == 401
    missing = await client.put(
        f"{base}/lessons/{2**62}", json={"title": "X"}, headers=owner.headers
    )
    assert_envelope(missing, 404, "not_found")
    elsewhere = await client.delete(
        f"/courses/{course['id']}/modules/{2**62}", headers=owner.headers
    )
    assert_envelope(elsewhere, 404, "not_found")
    for ids in ([lessons[0]], [lessons[0], lessons[0]], [*lessons, 2**62], []):
        answer = await client.post(
            f"{base}/lessons/order", json={"ids": ids}, headers=owner.headers
        )
        assert_envelope(answer, 422, "validation_error")
    not_quiz = {"quiz": {"pass_score": 1, "questions": []}}
    answer = await client.put(f"{base}/lessons/{lessons[0]}", json=not_quiz, headers=owner.headers)
    assert_envelope(answer, 422, "validation_error")
    for bad in ({"title": ""}, {"kind": "quiz"}, {"duration_minutes": -1}):
        answer = await client.put(f"{base}/lessons/{lessons[0]}", json=bad, headers=owner.headers)
        assert_envelope(answer, 422, "validation_error")
    assert (await client.delete(f"{base}/lessons/{lessons[0]}", headers=owner.headers)).is_success
    last = await client.delete(f"{base}/lessons/{lessons[1]}", headers=owner.headers)
    assert_envelope(last, 409, "conflict")
    assert_envelope(await client.delete(base, headers=owner.headers), 409, "conflict")
    view = await course_of(client, owner, course["id"])
    assert lesson_ids(view) == [lessons[1]] and view["structure_version"] == 2


async def test_revision_under_load_loses_no_acknowledged_completion(
    client: httpx.AsyncClient, system: System, db: Database
) -> None:
    """20 learners complete every lesson in random order while a lesson they are completing
    is removed: each acknowledged completion is stored, and every percentage the API shows
    agrees with the database and with the rows over the new structure."""
    owner = await account(system.settings, "instructor")
    course = await published_course(client, owner, modules=2, lessons=5)
    students = await many_accounts(system.settings, 20)
    enrollments = [await active_enrollment(client, s, course["id"]) for s in students]
    lessons, removed = lesson_ids(course), course["modules"][0]["lessons"][2]["id"]
    acknowledged: dict[int, set[int]] = {e["id"]: set() for e in enrollments}
    started = asyncio.Event()

    async def learn(student: Account, enrollment_id: int) -> None:
        for n, lesson in enumerate(random.sample(lessons, len(lessons))):
            if n == 2:
                started.set()
            answer = await client.post(f"/lessons/{lesson}/complete", headers=student.headers)
            if answer.status_code == 200:
                acknowledged[enrollment_id].add(lesson)
            else:
                assert answer.status_code == 404 and lesson == removed, answer.text

    async def revise() -> None:
        await started.wait()
        path = f"/courses/{course['id']}/modules/{course['modules'][0]['id']}/lessons/{removed}"
        assert (await client.delete(path, headers=owner.headers)).status_code == 204

    learners = [learn(s, e["id"]) for s, e in zip(students, enrollments, strict=True)]
    await asyncio.wait_for(asyncio.gather(revise(), *learners), timeout=120)
    live = set(lessons) - {removed}
    for student, enrollment in zip(students, enrollments, strict=True):
        stored = await completions(db, enrollment["id"])
        assert acknowledged[enrollment["id"]] <= stored
        assert live <= stored
        expected = round(100.0 * len(stored & live) / len(live), 2)
        assert await stored_percentage(db, enrollment["id"]) == expected == 100.0
        assert await progress(client, student, enrollment["id"]) == expected
