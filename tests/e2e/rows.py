"""Rows written straight to PostgreSQL for e2e tests that need many of them: listing tests
would otherwise publish a course through Temporal for every row they page over."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from storage.db import Database
from storage.models.certificate import Certificate
from storage.models.course import Course
from storage.models.enrollment import Enrollment
from storage.repositories.notification import NewNotification, NotificationRepository


async def courses(db: Database, instructor_id: int, count: int) -> list[int]:
    rows = [
        {
            "title": f"Seeded {uuid.uuid4().hex[:8]}",
            "description": "Seeded for a listing test",
            "category": "seeded",
            "level": "beginner",
            "instructor_id": instructor_id,
            "status": "published",
        }
        for _ in range(count)
    ]
    async with db.unit_of_work() as uow:
        ids = list(await uow.session.scalars(insert(Course).returning(Course.id), rows))
        await uow.commit()
    return ids


async def enrollments(
    db: Database, student_id: int, course_ids: list[int], status: str = "active"
) -> list[int]:
    """One enrollment per course, the first the oldest."""
    start = datetime.now(UTC) - timedelta(hours=len(course_ids))
    rows = [
        {
            "student_id": student_id,
            "course_id": course_id,
            "status": status,
            "enrolled_at": start + timedelta(minutes=n),
        }
        for n, course_id in enumerate(course_ids)
    ]
    async with db.unit_of_work() as uow:
        ids = list(await uow.session.scalars(insert(Enrollment).returning(Enrollment.id), rows))
        await uow.commit()
    return ids


async def notifications(db: Database, user_id: int, count: int) -> None:
    notes = [
        NewNotification(user_id, "reminder", f"Note {n}", "Seeded", f"seeded:{uuid.uuid4().hex}")
        for n in range(count)
    ]
    async with db.unit_of_work() as uow:
        await NotificationRepository(uow.session).add(notes)
        await uow.commit()


async def certificates(db: Database, student_id: int, enrollment_ids: list[int]) -> None:
    async with db.unit_of_work() as uow:
        for enrollment_id in enrollment_ids:
            enrollment = await uow.session.get(Enrollment, enrollment_id)
            await uow.session.execute(
                insert(Certificate).values(
                    enrollment_id=enrollment_id,
                    student_id=student_id,
                    course_id=enrollment.course_id,
                    verification_code=uuid.uuid4().hex,
                    student_name="Seeded Name",
                    course_title="Seeded Course",
                )
            )
        await uow.commit()
