"""The waitlist over real HTTP: a full course with `waitlist: true` queues students in order,
and every dropped seat goes to the head of the queue at once, never overbooking the course."""

import asyncio

import httpx
from sqlalchemy import func, select

from storage.db import Database
from storage.models.course import Course
from storage.models.enrollment import Enrollment
from tests.conftest import System
from tests.e2e.accounts import Account, account, many_accounts
from tests.e2e.catalog import poll, published_course
from tests.e2e.test_gateway import assert_envelope

SEATS, STUDENTS, DROPS = 5, 50, 10
HOLDING = ("pending", "active", "completed")


async def statuses(db: Database, course_id: int) -> dict[int, str]:
    async with db.unit_of_work() as uow:
        rows = await uow.session.execute(
            select(Enrollment.id, Enrollment.status).where(Enrollment.course_id == course_id)
        )
        return dict(rows.tuples().all())


async def seats_held(db: Database, course_id: int) -> tuple[int, int]:
    """The enrollments holding a seat, and the course's seat counter."""
    async with db.unit_of_work() as uow:
        holding = await uow.session.scalar(
            select(func.count()).where(
                Enrollment.course_id == course_id, Enrollment.status.in_(HOLDING)
            )
        )
        counter = await uow.session.scalar(
            select(Course.enrolled_count).where(Course.id == course_id)
        )
    return holding or 0, counter or 0


async def enroll_all(client: httpx.AsyncClient, course_id: int, students: list[Account]) -> list:
    answers = await asyncio.gather(
        *(
            client.post("/enrollments", json={"course_id": course_id}, headers=s.headers)
            for s in students
        )
    )
    assert all(a.status_code == 202 for a in answers), [a.text for a in answers]
    return [a.json() for a in answers]


async def test_waitlist_admits_in_order_and_never_overbooks(
    client: httpx.AsyncClient, db: Database, system: System
) -> None:
    owner = await account(system.settings, "instructor")
    course = await published_course(client, owner, enrollment_limit=SEATS, waitlist=True)
    assert course["waitlist"] is True
    students = await many_accounts(system.settings, STUDENTS)
    answers = await enroll_all(client, course["id"], students)
    admitted = [(s, a) for s, a in zip(students, answers, strict=True) if a["status"] == "PENDING"]
    queued = sorted(
        ((s, a) for s, a in zip(students, answers, strict=True) if a["status"] == "WAITLISTED"),
        key=lambda pair: pair[1]["position"],
    )
    assert len(admitted) == SEATS and len(queued) == STUDENTS - SEATS
    assert [a["position"] for _, a in queued] == list(range(1, STUDENTS - SEATS + 1))
    assert all(a["workflow_id"] is None for _, a in queued)
    assert await seats_held(db, course["id"]) == (SEATS, SEATS)

    holders = list(admitted)
    for n in range(1, DROPS + 1):
        student, answer = holders.pop(0)
        dropped = await client.delete(
            f"/enrollments/{answer['enrollment_id']}", headers=student.headers
        )
        assert dropped.status_code == 200 and dropped.json()["status"] == "dropped", dropped.text
        now = await statuses(db, course["id"])
        moved_up = [
            a["enrollment_id"] for _, a in queued if now[a["enrollment_id"]] != "waitlisted"
        ]
        # Exactly the first n of the queue left it (for a seat), and the course holds no more
        # than its seats at any point.
        assert moved_up == [a["enrollment_id"] for _, a in queued[:n]], (n, moved_up)
        assert await seats_held(db, course["id"]) == (SEATS, SEATS)
        holders.append(queued[n - 1])

    # The head of the queue went through the usual enrollment workflow and was told.
    head, head_answer = queued[0]

    async def active() -> bool:
        found = await client.get(
            f"/enrollments/{head_answer['enrollment_id']}", headers=head.headers
        )
        return found.json()["status"] in ("active", "dropped")

    await poll(active)

    async def told() -> list:
        notes = (await client.get("/notifications", headers=head.headers)).json()["items"]
        return [n for n in notes if n["kind"] == "waitlist_admitted"]

    await poll(told)
    queue = await client.get(f"/courses/{course['id']}/waitlist", headers=owner.headers)
    assert queue.status_code == 200, queue.text
    body = queue.json()
    assert body["total"] == STUDENTS - SEATS - DROPS and body["page"] == 1
    assert [e["enrollment_id"] for e in body["items"]] == [
        a["enrollment_id"] for _, a in queued[DROPS : DROPS + body["page_size"]]
    ]
    assert [e["position"] for e in body["items"]] == list(range(1, len(body["items"]) + 1))


async def test_waitlist_rules_at_the_edges(
    client: httpx.AsyncClient, db: Database, system: System
) -> None:
    owner = await account(system.settings, "instructor")
    course = await published_course(client, owner, enrollment_limit=1, waitlist=True)
    first, second, third = await many_accounts(system.settings, 3)
    seated = await enroll_all(client, course["id"], [first])
    waiting = (await enroll_all(client, course["id"], [second]))[0]
    assert waiting["status"] == "WAITLISTED" and waiting["position"] == 1
    again = await client.post(
        "/enrollments", json={"course_id": course["id"]}, headers=second.headers
    )
    assert again.status_code == 200 and again.json()["position"] == 1
    # Lessons open only with a seat.
    lesson = course["modules"][0]["lessons"][0]["id"]
    assert_envelope(
        await client.post(f"/lessons/{lesson}/complete", headers=second.headers), 409, "conflict"
    )
    # Leaving the queue frees no seat and moves the next one up the queue.
    late = (await enroll_all(client, course["id"], [third]))[0]
    assert late["position"] == 2
    left = await client.delete(f"/enrollments/{waiting['enrollment_id']}", headers=second.headers)
    assert left.status_code == 200 and left.json()["status"] == "dropped"
    assert await seats_held(db, course["id"]) == (1, 1)
    queue = await client.get(f"/courses/{course['id']}/waitlist", headers=owner.headers)
    assert [(e["enrollment_id"], e["position"]) for e in queue.json()["items"]] == [
        (late["enrollment_id"], 1)
    ]
    # Only the owner (or an admin) sees the queue.
    assert_envelope(
        await client.get(f"/courses/{course['id']}/waitlist", headers=third.headers),
        403,
        "forbidden",
    )
    # A course without a waitlist still refuses when full.
    closed = await published_course(client, owner, enrollment_limit=1)
    assert closed["waitlist"] is False
    await enroll_all(client, closed["id"], [first])
    full = await client.post(
        "/enrollments", json={"course_id": closed["id"]}, headers=second.headers
    )
    assert_envelope(full, 409, "conflict")
    assert seated[0]["status"] == "PENDING"
