"""Rows a certificate needs, written straight to PostgreSQL: a student, an instructor's course
and the student's completed enrollment in it."""

import uuid
from datetime import UTC, datetime

from sqlalchemy import insert

from storage.db import Database
from storage.models.course import Course
from storage.models.enrollment import Enrollment
from storage.repositories.user import UserRepository


async def completed_enrollment(
    db: Database, student_name: str, course_title: str = "Compilers 101", status: str = "completed"
) -> int:
    """The id of a new enrollment of a new student (named `student_name`) in a new course."""
    async with db.unit_of_work() as uow:
        users = UserRepository(uow.session)
        student = await users.add(f"s-{uuid.uuid4().hex}@example.com", "x", student_name, "student")
        teacher = await users.add(f"i-{uuid.uuid4().hex}@example.com", "x", "Teacher", "instructor")
        assert student is not None and teacher is not None
        course_id = await uow.session.scalar(
            insert(Course)
            .values(
                title=course_title,
                description="About compilers",
                category="cs",
                level="beginner",
                instructor_id=teacher.id,
                status="published",
            )
            .returning(Course.id)
        )
        enrollment_id = await uow.session.scalar(
            insert(Enrollment)
            .values(
                student_id=student.id,
                course_id=course_id,
                status=status,
                enrolled_at=datetime.now(UTC),
            )
            .returning(Enrollment.id)
        )
        await uow.commit()
    return enrollment_id
