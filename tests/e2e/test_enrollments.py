"""Enrollment and progress over real HTTP: admission rules, the enrollment workflow, lesson
completion and quizzes through the shard actors."""

import asyncio

import httpx
from sqlalchemy import func, select

from serve.smtp_sink import read_mail
from storage.db import Database
from storage.models.enrollment import Enrollment, LessonCompletion
from tests.conftest import System
from tests.e2e.accounts import account, many_accounts
from tests.e2e.catalog import QUIZ, active_enrollment, lesson_ids, poll, published_course
from tests.e2e.test_gateway import assert_envelope


async def test_enrollment_becomes_active_and_welcomes_the_student(
    client: httpx.AsyncClient,
    system: System,
) -> None:
    owner, student = await account(system.settings, "instructor"), await account(system.settings)
    course = await published_course(client, owner)
    answer = await client.post(
        "/enrollments", json={"course_id": course["id"]}, headers=student.headers
    )
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["status"] == "PENDING" and body["workflow_id"] == f"enroll-{body['enrollment_id']}"
    again = await client.post(
        "/enrollments", json={"course_id": course["id"]}, headers=student.headers
    )
    assert again.status_code == 200 and again.json()["enrollment_id"] == body["enrollment_id"]
    enrollment = await active_enrollment(client, student, course["id"])
    assert enrollment["progress"]["completion_percentage"] == 0
    assert enrollment["certificate_id"] is None

    async def welcomed() -> list:
        notes = (await client.get("/notifications", headers=student.headers)).json()["items"]
        return [n for n in notes if n["kind"] == "enrollment_welcome"]

    note = (await poll(welcomed))[0]

    async def welcome_mail() -> list:
        return [m for m in read_mail(system.settings) if student.email in m["To"]]

    [mail] = await poll(welcome_mail)
    assert mail["Subject"] == f"Welcome to {course['title']}"
    read = await client.post(f"/notifications/{note['id']}/read", headers=student.headers)
    assert read.status_code == 204
    unread = await client.get("/notifications", params={"unread": "true"}, headers=student.headers)
    assert note["id"] not in [n["id"] for n in unread.json()["items"]]
    mine = (await client.get("/enrollments/my-courses", headers=student.headers)).json()
    assert [e["id"] for e in mine["items"]] == [enrollment["id"]]


async def test_same_enrollment_retried_concurrently_creates_one_row(
    client: httpx.AsyncClient, system: System, db: Database
) -> None:
    owner, student = await account(system.settings, "instructor"), await account(system.settings)
    course = await published_course(client, owner)
    headers = student.headers | {"Idempotency-Key": "retry-1"}
    answers = await asyncio.gather(
        *(
            client.post("/enrollments", json={"course_id": course["id"]}, headers=headers)
            for _ in range(20)
        )
    )
    assert sorted(a.status_code for a in answers) == [200] * 19 + [202]
    assert len({a.json()["enrollment_id"] for a in answers}) == 1
    async with db.unit_of_work() as uow:
        rows = await uow.session.scalar(
            select(func.count()).where(Enrollment.course_id == course["id"])
        )
    assert rows == 1


async def test_seat_limit_holds_under_concurrent_enrollments(
    client: httpx.AsyncClient, db: Database, system: System
) -> None:
    owner = await account(system.settings, "instructor")
    course = await published_course(client, owner, enrollment_limit=5)

    async def enrolled_count() -> int:
        return (await client.get(f"/courses/{course['id']}")).json()["enrolled_count"]

    assert await enrolled_count() == 0  # now cached; seat changes keep it cached and right
    students = await many_accounts(system.settings, 50)
    answers = await asyncio.gather(
        *(
            client.post("/enrollments", json={"course_id": course["id"]}, headers=s.headers)
            for s in students
        )
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [202] * 5 + [409] * 45, codes
    async with db.unit_of_work() as uow:
        rows = await uow.session.scalar(
            select(func.count()).where(Enrollment.course_id == course["id"])
        )
    assert rows == 5
    assert await enrolled_count() == 5
    # A dropped enrollment frees its seat for someone else.
    admitted = [s for s, a in zip(students, answers, strict=True) if a.status_code == 202]
    refused = [s for s, a in zip(students, answers, strict=True) if a.status_code == 409]
    first = await active_enrollment(client, admitted[0], course["id"])
    dropped = await client.delete(f"/enrollments/{first['id']}", headers=admitted[0].headers)
    assert dropped.status_code == 200 and dropped.json()["status"] == "dropped"
    assert await enrolled_count() == 4
    late = await client.post(
        "/enrollments", json={"course_id": course["id"]}, headers=refused[0].headers
    )
    assert late.status_code == 202, late.text
    assert await enrolled_count() == 5


async def test_prerequisites_must_be_completed(client: httpx.AsyncClient, system: System) -> None:
    owner, student = await account(system.settings, "instructor"), await account(system.settings)
    basics = await published_course(client, owner, modules=1, lessons=1)
    advanced = await published_course(client, owner, prerequisite_ids=[basics["id"]])
    refused = await client.post(
        "/enrollments", json={"course_id": advanced["id"]}, headers=student.headers
    )
    assert_envelope(refused, 409, "conflict")
    assert refused.json()["error"]["details"] == {"missing_prerequisite_ids": [basics["id"]]}
    await active_enrollment(client, student, basics["id"])
    done = await client.post(f"/lessons/{lesson_ids(basics)[0]}/complete", headers=student.headers)
    assert done.json()["completion_percentage"] == 100
    admitted = await client.post(
        "/enrollments", json={"course_id": advanced["id"]}, headers=student.headers
    )
    assert admitted.status_code == 202, admitted.text


async def test_progress_quiz_and_completion(
    client: httpx.AsyncClient, system: System, db: Database
) -> None:
    owner, student, stranger, admin = (
        await account(system.settings, "instructor"),
        await account(system.settings),
        await account(system.settings),
        await account(system.settings, "admin"),
    )
    course = await published_course(client, owner, modules=2, lessons=1, quiz=True)
    lessons = lesson_ids(course)
    text_lessons, quiz_id = lessons[:-1], lessons[-1]
    assert_envelope(
        await client.post(f"/lessons/{lessons[0]}/complete", headers=student.headers),
        404,
        "not_found",
    )
    enrollment = await active_enrollment(client, student, course["id"])
    first = await client.post(f"/lessons/{text_lessons[0]}/complete", headers=student.headers)
    assert first.status_code == 200, first.text
    assert first.json()["completion_percentage"] == 33.33
    assert first.json()["modules"][0]["completed"] is True
    twice = await client.post(f"/lessons/{text_lessons[0]}/complete", headers=student.headers)
    assert twice.json() == first.json()
    failed = await client.post(
        f"/quizzes/{quiz_id}/submit", json={"answers": [0, 1]}, headers=student.headers
    )
    assert failed.json()["score"] == 0 and failed.json()["passed"] is False
    assert failed.json()["attempt"] == 1
    wrong_count = await client.post(
        f"/quizzes/{quiz_id}/submit", json={"answers": [1]}, headers=student.headers
    )
    assert_envelope(wrong_count, 422, "validation_error")
    await client.post(f"/lessons/{text_lessons[1]}/complete", headers=student.headers)
    passed = await client.post(
        f"/quizzes/{quiz_id}/submit",
        json={"answers": [q["answer_index"] for q in QUIZ["questions"]]},
        headers=student.headers,
    )
    assert passed.json()["score"] == 100 and passed.json()["attempt"] == 2
    assert passed.json()["progress"]["completion_percentage"] == 100
    finished = (
        await client.get(f"/enrollments/{enrollment['id']}", headers=student.headers)
    ).json()
    assert finished["status"] == "completed" and finished["completed_at"]
    progress = await client.get(
        f"/enrollments/{enrollment['id']}/progress", headers=student.headers
    )
    assert sorted(progress.json()["completed_lessons"]) == sorted(lessons)
    # Only the student (or an admin) sees it.
    for path in (f"/enrollments/{enrollment['id']}", f"/enrollments/{enrollment['id']}/progress"):
        assert_envelope(await client.get(path, headers=stranger.headers), 404, "not_found")
        assert (await client.get(path, headers=admin.headers)).json() == (
            await client.get(path, headers=student.headers)
        ).json()
    assert_envelope(
        await client.delete(f"/enrollments/{enrollment['id']}", headers=stranger.headers),
        404,
        "not_found",
    )
    async with db.unit_of_work() as uow:
        stored = await uow.session.scalar(
            select(func.count()).where(LessonCompletion.enrollment_id == enrollment["id"])
        )
    assert stored == len(lessons)
