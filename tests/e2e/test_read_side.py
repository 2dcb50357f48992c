"""The event read side over HTTP: for each seed event type its consumers' effect (notices in
the right channels, each channel's sink receiving the message, an analytics figure that
moves), preferences that turn channels off, course reports downloaded, and no notice lost
while the relay is dead."""

import asyncio

import httpx
import ray

from actors.placement import LOCAL_ACTOR
from actors.pool import ensure_actors
from actors.shards import NAMESPACE
from serve.smtp_sink import read_mail
from storage.db import Database
from tests.conftest import System
from tests.e2e.accounts import Account, account, sign_up
from tests.e2e.catalog import active_enrollment, lesson_ids, poll, published_course
from tests.e2e.test_gateway import assert_envelope
from tests.e2e.test_reminders import inactive_student
from workflows.reminders.activities import ReminderActivities
from workflows.tasks.providers import read_messages

# The actor that runs the relay (locally the events actor runs it with the consumer groups:
# killing it stops the relay and the notification consumer together).
RELAY_ACTOR = LOCAL_ACTOR


async def kinds(client: httpx.AsyncClient, who: Account) -> list[str]:
    answer = await client.get("/notifications", headers=who.headers)
    assert answer.status_code == 200, answer.text
    return [note["kind"] for note in answer.json()["items"]]


def mail_kinds(system: System, who: Account) -> list[str]:
    return [m["X-SmartCourse-Kind"] for m in read_mail(system.settings) if who.email in m["To"]]


def sent(system: System, channel: str, who: Account) -> list[str]:
    return [m["kind"] for m in read_messages(system.settings, channel) if m["user_id"] == who.id]


async def channels_of(client: httpx.AsyncClient, system: System, who: Account, kind: str):
    """The channels on which `who` has received a notice of `kind`."""
    found = set()
    if kind in await kinds(client, who):
        found.add("in_app")
    if kind in mail_kinds(system, who):
        found.add("email")
    for channel in ("sms", "push"):
        if kind in sent(system, channel, who):
            found.add(channel)
    return found


async def reaches(client, system, who: Account, kind: str, channels: set[str]) -> None:
    async def arrived() -> bool:
        return await channels_of(client, system, who, kind) == channels

    await poll(arrived, within=60)


async def figures(client: httpx.AsyncClient, path: str, who: Account) -> dict:
    answer = await client.get(path, headers=who.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def moves(client, path: str, who: Account, field: str, before: float) -> None:
    async def moved() -> bool:
        value = (await figures(client, path, who))[field]
        return value is not None and value > before

    await poll(moved, within=60)


async def test_user_and_course_events_notify_the_instructor_and_move_the_figures(
    client: httpx.AsyncClient, system: System
) -> None:
    admin = await account(system.settings, "admin")
    before = await figures(client, "/analytics/overview", admin)
    owner = await sign_up(client, "instructor")  # user.registered
    await sign_up(client, "student")
    await moves(client, "/analytics/overview", admin, "total_students", before["total_students"])
    await moves(
        client, "/analytics/overview", admin, "total_instructors", before["total_instructors"]
    )
    course = await published_course(client, owner, modules=1, lessons=1)  # course.published
    await reaches(client, system, owner, "course_published", {"in_app", "email", "push"})
    await moves(
        client,
        "/analytics/overview",
        admin,
        "total_courses_published",
        before["total_courses_published"],
    )
    student = await account(system.settings)
    await active_enrollment(client, student, course["id"])
    archived = await client.delete(f"/courses/{course['id']}", headers=owner.headers)
    assert archived.status_code == 202, archived.text  # course.archived
    everywhere = {"in_app", "email", "push", "sms"}
    await reaches(client, system, student, "course_archived", everywhere)


async def test_enrollment_and_progress_events_notify_the_student_and_move_the_figures(
    client: httpx.AsyncClient, system: System
) -> None:
    owner, student = await account(system.settings, "instructor"), await account(system.settings)
    course = await published_course(client, owner, modules=2, lessons=1)
    daily = f"/analytics/courses/{course['id']}/daily"
    await active_enrollment(client, student, course["id"])  # enrollment.created
    await reaches(client, system, student, "enrollment_welcome", {"in_app", "email"})
    first, last = lesson_ids(course)
    done = await client.post(f"/lessons/{first}/complete", headers=student.headers)
    assert done.status_code == 200, done.text  # progress.updated + progress.module_completed
    await reaches(client, system, student, "module_completed", {"in_app", "email"})

    async def today() -> dict:
        items = (await figures(client, daily, owner))["items"]
        return items[-1] if items else {"lessons_completed": 0, "active_learners": 0}

    async def active_today() -> bool:
        row = await today()
        return row["lessons_completed"] == 1 and row["active_learners"] == 1

    await poll(active_today, within=60)
    await client.post(f"/lessons/{last}/complete", headers=student.headers)
    # enrollment.completed, then certificate.issued
    await reaches(client, system, student, "certificate_ready", {"in_app", "email", "push"})
    course_path = f"/analytics/courses/{course['id']}"
    await moves(client, course_path, owner, "completed", 0)
    summary = await figures(client, course_path, owner)
    assert summary["enrollments"] == 1 and summary["completion_rate"] == 1.0
    assert summary["avg_time_to_complete_hours"] is not None

    leaver = await account(system.settings)
    enrollment = await active_enrollment(client, leaver, course["id"])
    dropped = await client.delete(f"/enrollments/{enrollment['id']}", headers=leaver.headers)
    assert dropped.status_code == 200, dropped.text  # enrollment.dropped
    await moves(client, course_path, owner, "dropped", 0)


async def test_a_reminder_reaches_every_channel(
    client: httpx.AsyncClient, system: System, db: Database
) -> None:
    student = await inactive_student(client, system, db)
    reminders = ReminderActivities(system.settings, db)
    assert await reminders.remind_inactive_students(None) >= 1  # enrollment.reminder_due
    await reaches(client, system, student, "reminder", {"in_app", "email", "push", "sms"})
    # The same day again: the events exist already, nothing is sent twice.
    assert await reminders.remind_inactive_students(None) == 0


async def test_preferences_turn_channels_off_and_every_channel_respects_them(
    client: httpx.AsyncClient, system: System
) -> None:
    owner, student = await account(system.settings, "instructor"), await account(system.settings)
    path = f"/users/{student.id}/notification-preferences"
    off = {"email": {"enrollment_welcome": False}, "in_app": {"enrollment_welcome": False}}
    answer = await client.put(path, json=off, headers=student.headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["email"]["enrollment_welcome"] is False
    assert answer.json()["email"]["certificate_ready"] is True
    push_off = await client.put(
        path, json={"push": {"certificate_ready": False}}, headers=student.headers
    )
    assert push_off.json()["in_app"]["enrollment_welcome"] is False  # partial: kept
    course = await published_course(client, owner, modules=1, lessons=1)
    await active_enrollment(client, student, course["id"])
    await client.post(f"/lessons/{lesson_ids(course)[0]}/complete", headers=student.headers)
    # certificate.issued follows enrollment.created in the same partition (keyed by the
    # enrollment): once its notice is here, the welcome was handled, and sent nowhere.
    await reaches(client, system, student, "certificate_ready", {"in_app", "email"})
    assert await channels_of(client, system, student, "enrollment_welcome") == set()


async def test_preferences_are_for_the_user_and_admins_only(
    client: httpx.AsyncClient, system: System
) -> None:
    student, other = await account(system.settings), await account(system.settings)
    admin = await account(system.settings, "admin")
    path = f"/users/{student.id}/notification-preferences"
    assert_envelope(await client.get(path, headers=other.headers), 403, "forbidden")
    body = {"sms": {"reminder": False}}
    assert_envelope(await client.put(path, json=body, headers=other.headers), 403, "forbidden")
    mine = await client.get(path, headers=admin.headers)
    assert mine.status_code == 200 and all(mine.json()["sms"].values())
    for bad in ({"fax": {}}, {"sms": {"nope": True}}, {"sms": {"reminder": "no"}}):
        assert_envelope(
            await client.put(path, json=bad, headers=student.headers), 422, "validation_error"
        )
    missing = "/users/999999999/notification-preferences"
    assert_envelope(await client.get(missing, headers=admin.headers), 404, "not_found")


async def test_a_course_report_is_built_on_the_report_queue_and_downloaded(
    client: httpx.AsyncClient, system: System
) -> None:
    owner, student = await account(system.settings, "instructor"), await account(system.settings)
    course = await published_course(client, owner, modules=1, lessons=1)
    await active_enrollment(client, student, course["id"])
    await moves(client, f"/analytics/courses/{course['id']}", owner, "enrollments", 0)
    queued = await client.post(f"/analytics/courses/{course['id']}/report", headers=owner.headers)
    assert queued.status_code == 202, queued.text
    assert queued.json()["status"] == "QUEUED"
    path = f"/analytics/reports/{queued.json()['report_id']}"

    async def done() -> dict | None:
        report = await figures(client, path, owner)
        assert report["status"] != "FAILED", report
        return report if report["status"] == "DONE" else None

    report = await poll(done, within=60)
    async with httpx.AsyncClient(timeout=30) as store:
        pdf = await store.get(report["download_url"])
        table = await store.get(report["csv_url"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert table.status_code == 200 and b"enrollments,1" in table.content
    assert_envelope(await client.get(path, headers=student.headers), 404, "not_found")
    refused = await client.post(
        f"/analytics/courses/{course['id']}/report", headers=student.headers
    )
    assert_envelope(refused, 404, "not_found")
    bad = await client.get("/analytics/reports/not-a-uuid", headers=owner.headers)
    assert_envelope(bad, 422, "validation_error")


async def test_killing_the_relay_loses_no_notice(client: httpx.AsyncClient, system: System) -> None:
    owner, student = await account(system.settings, "instructor"), await account(system.settings)
    courses = [await published_course(client, owner, modules=1, lessons=1) for _ in range(3)]
    ray.kill(ray.get_actor(RELAY_ACTOR, namespace=NAMESPACE), no_restart=True)
    try:
        for course in courses:
            # The enrollment commits and activates without the relay...
            await active_enrollment(client, student, course["id"])
        # ...and no welcome arrives by a path around the events (an absence has no condition
        # to poll for: this waits the time a welcome took when the relay was alive).
        await asyncio.sleep(2)
        assert "enrollment_welcome" not in await kinds(client, student)
    finally:
        await asyncio.to_thread(ensure_actors, system.settings)

    async def all_welcomed() -> bool:
        return (await kinds(client, student)).count("enrollment_welcome") == len(courses)

    async def all_mailed() -> bool:
        return mail_kinds(system, student).count("enrollment_welcome") == len(courses)

    await poll(all_welcomed, within=90)
    await poll(all_mailed)
