"""EnrollmentWorkflow's activities; each is idempotent (conditional updates, set semantics,
one notification per cause)."""

from collections.abc import Callable
from datetime import UTC, datetime

import redis.asyncio as aioredis
from sqlalchemy import update
from temporalio import activity

from core.status import EnrollmentStatus
from storage.db import Database
from storage.models.course import Course
from storage.models.enrollment import Enrollment
from storage.repositories.enrollment import EnrollmentRepository
from storage.repositories.notification import NewNotification, NotificationRepository
from workflows.inputs import EnrollmentRequest


class EnrollmentActivities:
    def __init__(self, db: Database, redis: aioredis.Redis) -> None:
        self.db, self.redis = db, redis

    def all(self) -> list[Callable]:
        return [
            self.initialize_progress,
            self.update_analytics,
            self.activate_enrollment,
            self.send_welcome_notification,
        ]

    @activity.defn(name="initialize_progress")
    async def initialize_progress(self, request: EnrollmentRequest) -> None:
        async with self.db.unit_of_work() as uow:
            await uow.session.execute(
                update(Enrollment)
                .where(
                    Enrollment.id == request.enrollment_id, Enrollment.last_accessed_at.is_(None)
                )
                .values(completion_percentage=0, last_accessed_at=datetime.now(UTC))
            )
            await uow.commit()

    @activity.defn(name="update_analytics")
    async def update_analytics(self, request: EnrollmentRequest) -> None:
        """Live per-day enrollment sets (a set, so a retried activity counts once)."""
        day = datetime.now(UTC).date().isoformat()
        key = f"analytics:enrollments:{day}"
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.sadd(key, request.enrollment_id)
            pipe.expire(key, 40 * 24 * 3600)
            await pipe.execute()

    @activity.defn(name="activate_enrollment")
    async def activate_enrollment(self, request: EnrollmentRequest) -> None:
        async with self.db.unit_of_work() as uow:
            await EnrollmentRepository(uow.session).set_status(
                request.enrollment_id, [EnrollmentStatus.PENDING], EnrollmentStatus.ACTIVE
            )
            await uow.commit()

    @activity.defn(name="send_welcome_notification")
    async def send_welcome_notification(self, request: EnrollmentRequest) -> None:
        async with self.db.unit_of_work() as uow:
            enrollment = await uow.session.get(Enrollment, request.enrollment_id)
            course = await uow.session.get(Course, request.course_id)
            notice = NewNotification(
                user_id=enrollment.student_id,
                kind="enrollment_welcome",
                title=f"Welcome to {course.title}",
                body="You are enrolled. Start with the first lesson whenever you are ready.",
                dedupe_key=f"enrollment.created:{request.enrollment_id}",
            )
            await NotificationRepository(uow.session).add([notice])
            await uow.commit()
