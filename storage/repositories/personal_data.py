"""Everything held about one user, read for an export and erased on request (the data rights
of API.md, "Learner data and preferences"). The rows that give other people's records their
meaning (enrollments, completions, certificates) stay, keyed by the user's id; the personal
fields (name, email, password, profile text, notifications) go."""

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.certificate import Certificate
from storage.models.course import Course
from storage.models.enrollment import Enrollment, LessonCompletion, Notification, QuizAttempt
from storage.models.user import InstructorProfile, RefreshToken, User

ERASED_NAME = "Deleted user"


def columns(row: Any, *names: str) -> dict[str, Any]:
    return {name: getattr(row, name) for name in names}


class PersonalDataRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def live_user(self, user_id: int) -> User | None:
        user = await self.session.get(User, user_id)
        return None if user is None or user.deleted_at is not None else user

    async def export(self, user: User) -> dict[str, Any]:
        profile = columns(user, "id", "email", "full_name", "role", "created_at")
        instructor = await self.session.get(InstructorProfile, user.id)
        if instructor is not None:
            profile["instructor"] = columns(instructor, "bio", "expertise")
        return {
            "profile": profile,
            "enrollments": await self.enrollments(user.id),
            "quiz_attempts": await self.quiz_attempts(user.id),
            "certificates": await self.certificates(user.id),
            "notifications": await self.notifications(user.id),
            "sessions": await self.sessions(user.id),
        }

    async def enrollments(self, user_id: int) -> list[dict[str, Any]]:
        rows = (
            await self.session.execute(
                select(Enrollment, Course.title)
                .join(Course, Course.id == Enrollment.course_id)
                .where(Enrollment.student_id == user_id)
                .order_by(Enrollment.id)
            )
        ).all()
        done = await self.session.execute(
            select(LessonCompletion)
            .join(Enrollment, Enrollment.id == LessonCompletion.enrollment_id)
            .where(Enrollment.student_id == user_id)
            .order_by(LessonCompletion.completed_at)
        )
        lessons: dict[int, list[dict[str, Any]]] = {}
        for (completion,) in done:
            lessons.setdefault(completion.enrollment_id, []).append(
                columns(completion, "lesson_id", "completed_at")
            )
        fields = (
            "id",
            "course_id",
            "status",
            "completion_percentage",
            "enrolled_at",
            "completed_at",
            "dropped_at",
            "last_accessed_at",
            "certificate_id",
        )
        return [
            columns(e, *fields)
            | {"course_title": title, "completed_lessons": lessons.get(e.id, [])}
            for e, title in rows
        ]

    async def quiz_attempts(self, user_id: int) -> list[dict[str, Any]]:
        rows = await self.session.scalars(
            select(QuizAttempt)
            .join(Enrollment, Enrollment.id == QuizAttempt.enrollment_id)
            .where(Enrollment.student_id == user_id)
            .order_by(QuizAttempt.id)
        )
        fields = ("enrollment_id", "lesson_id", "attempt", "score", "passed", "answers")
        return [columns(row, *fields, "submitted_at") for row in rows]

    async def certificates(self, user_id: int) -> list[dict[str, Any]]:
        rows = await self.session.scalars(
            select(Certificate).where(Certificate.student_id == user_id).order_by(Certificate.id)
        )
        fields = ("id", "enrollment_id", "course_id", "student_name", "course_title")
        return [columns(row, *fields, "verification_code", "issued_at") for row in rows]

    async def notifications(self, user_id: int) -> list[dict[str, Any]]:
        rows = await self.session.scalars(
            select(Notification).where(Notification.user_id == user_id).order_by(Notification.id)
        )
        return [columns(row, "id", "kind", "title", "body", "read", "created_at") for row in rows]

    async def sessions(self, user_id: int) -> list[dict[str, Any]]:
        """Login sessions without their token hashes (a secret is not personal data to hand
        out)."""
        rows = await self.session.scalars(
            select(RefreshToken).where(RefreshToken.user_id == user_id).order_by(RefreshToken.id)
        )
        return [columns(row, "created_at", "expires_at", "used_at", "revoked_at") for row in rows]

    async def erase(self, user_id: int, password_hash: str, now: datetime) -> None:
        """Name and email replaced, the password unusable, profile text and notifications
        deleted. Certificates keep the name printed on them, so they stay verifiable."""
        await self.session.execute(
            update(User)
            .where(User.id == user_id)
            .values(
                email=f"deleted-{user_id}@erased.invalid",
                full_name=ERASED_NAME,
                password_hash=password_hash,
                password_changed_at=now,
                deleted_at=now,
            )
        )
        await self.session.execute(
            update(InstructorProfile)
            .where(InstructorProfile.user_id == user_id)
            .values(bio="", expertise=[])
        )
        await self.session.execute(delete(Notification).where(Notification.user_id == user_id))
