"""Data rights over HTTP: a user's export of everything held about them, and erasure (personal
data replaced, sessions ended, login refused, certificates still verifiable under the printed
name, `user.deleted` out with ids only, notifications dropped). Self or admin only."""

import httpx
from sqlalchemy import String, cast, func, select

from storage.db import Database
from storage.models.enrollment import Notification
from storage.models.outbox import OutboxEvent
from tests.conftest import System
from tests.e2e.accounts import PASSWORD, account, sign_up
from tests.e2e.catalog import QUIZ, enrolled, lesson_ids, poll, published_course
from tests.e2e.test_gateway import assert_envelope


async def test_export_holds_everything_about_the_user(
    client: httpx.AsyncClient, system: System
) -> None:
    owner = await account(system.settings, "instructor")
    course = await published_course(client, owner, quiz=True)
    student = await sign_up(client, full_name="Grace Hopper")
    enrollment = await enrolled(client, student, course["id"])
    first, quiz = lesson_ids(course)[0], lesson_ids(course)[-1]
    assert (await client.post(f"/lessons/{first}/complete", headers=student.headers)).is_success
    answers = [q["answer_index"] for q in QUIZ["questions"]]
    sent = await client.post(
        f"/quizzes/{quiz}/submit", json={"answers": answers}, headers=student.headers
    )
    assert sent.status_code == 200, sent.text

    async def welcomed() -> dict | None:
        answer = await client.get(f"/users/{student.id}/export", headers=student.headers)
        assert answer.status_code == 200, answer.text
        return answer.json() if answer.json()["notifications"] else None

    export = await poll(welcomed)
    assert export["profile"]["email"] == student.email
    assert export["profile"]["full_name"] == "Grace Hopper"
    [mine] = export["enrollments"]
    assert mine["id"] == enrollment["id"] and mine["course_title"] == course["title"]
    assert {x["lesson_id"] for x in mine["completed_lessons"]} == {first, quiz}
    [attempt] = export["quiz_attempts"]
    assert (
        attempt["lesson_id"] == quiz and attempt["score"] == 100 and attempt["answers"] == answers
    )
    assert export["certificates"] == []
    assert export["notifications"][0]["kind"] == "enrollment_welcome"
    assert export["sessions"] and "token_hash" not in export["sessions"][0]
    admin = await account(system.settings, "admin")
    by_admin = await client.get(f"/users/{student.id}/export", headers=admin.headers)
    assert by_admin.status_code == 200 and by_admin.json()["profile"]["id"] == student.id
    for caller in (owner, await account(system.settings)):
        refused = await client.get(f"/users/{student.id}/export", headers=caller.headers)
        assert_envelope(refused, 403, "forbidden")
    assert (await client.get(f"/users/{student.id}/export")).status_code == 401
    missing = await client.get(f"/users/{2**62}/export", headers=admin.headers)
    assert_envelope(missing, 404, "not_found")


async def test_deleting_a_user_erases_them_and_keeps_their_certificate(
    client: httpx.AsyncClient, system: System, db: Database
) -> None:
    owner = await account(system.settings, "instructor")
    course = await published_course(client, owner, modules=1, lessons=1)
    student = await sign_up(client, full_name="Katherine Johnson")
    enrollment = await enrolled(client, student, course["id"])
    lesson = lesson_ids(course)[0]
    assert (await client.post(f"/lessons/{lesson}/complete", headers=student.headers)).is_success

    async def certificate() -> int | None:
        found = await client.get(f"/enrollments/{enrollment['id']}", headers=student.headers)
        return found.json()["certificate_id"]

    certificate_id = await poll(certificate, within=60)
    code = (await client.get(f"/certificates/{certificate_id}", headers=student.headers)).json()
    other = await account(system.settings)
    refused = await client.delete(f"/users/{student.id}", headers=other.headers)
    assert_envelope(refused, 403, "forbidden")
    assert (await client.delete(f"/users/{student.id}")).status_code == 401

    assert (await client.delete(f"/users/{student.id}", headers=student.headers)).status_code == 204
    assert (await client.get("/auth/me", headers=student.headers)).status_code == 401
    refresh = await client.post("/auth/refresh", json={"refresh_token": student.refresh_token})
    assert refresh.status_code == 401
    login = await client.post("/auth/login", json={"email": student.email, "password": PASSWORD})
    assert login.status_code == 401
    admin = await account(system.settings, "admin")
    profile = (await client.get(f"/users/{student.id}", headers=admin.headers)).json()
    assert profile["full_name"] == "Deleted user" and profile["email"] != student.email
    verified = await client.get(f"/certificates/verify/{code['verification_code']}")
    assert verified.status_code == 200
    assert verified.json()["student_name"] == "Katherine Johnson"
    again = await client.delete(f"/users/{student.id}", headers=admin.headers)
    assert_envelope(again, 404, "not_found")
    async with db.unit_of_work() as uow:
        [deleted] = await uow.session.scalars(
            select(OutboxEvent.payload).where(
                OutboxEvent.event_type == "user.deleted", OutboxEvent.key == str(student.id)
            )
        )
        leaks = await uow.session.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(cast(OutboxEvent.payload, String).contains(student.email))
        )
        notes = await uow.session.scalar(
            select(func.count()).select_from(Notification).where(Notification.user_id == student.id)
        )
    assert deleted["data"] == {"user_id": student.id} and leaks == 0 and notes == 0


async def test_an_admin_erases_another_user(client: httpx.AsyncClient, system: System) -> None:
    admin, user = await account(system.settings, "admin"), await sign_up(client)
    assert (await client.delete(f"/users/{user.id}", headers=admin.headers)).status_code == 204
    assert (await client.get("/auth/me", headers=user.headers)).status_code == 401
    gone = await client.get(f"/users/{user.id}/export", headers=admin.headers)
    assert_envelope(gone, 404, "not_found")
    missing = await client.delete(f"/users/{2**62}", headers=admin.headers)
    assert_envelope(missing, 404, "not_found")
