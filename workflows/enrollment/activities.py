"""EnrollmentWorkflow's activities; each is idempotent (conditional updates).

`update_analytics` and `send_welcome_notification` are no-ops kept registered for runs started
before the consumers took over both (they replay those steps); remove them with the patch."""

from collections.abc import Callable
from datetime import UTC, datetime

import redis.asyncio as aioredis
from temporalio import activity

from core.status import EnrollmentStatus
from storage.db import Database
from storage.repositories.enrollment import EnrollmentRepository
from storage.temporal import EnrollmentRequest


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
            await EnrollmentRepository(uow.session).start_progress(
                request.enrollment_id, datetime.now(UTC)
            )
            await uow.commit()

    @activity.defn(name="update_analytics")
    async def update_analytics(self, request: EnrollmentRequest) -> None:
        """Nothing: the analytics consumer counts `enrollment.created`."""

    @activity.defn(name="activate_enrollment")
    async def activate_enrollment(self, request: EnrollmentRequest) -> None:
        async with self.db.unit_of_work() as uow:
            await EnrollmentRepository(uow.session).set_status(
                request.enrollment_id, [EnrollmentStatus.PENDING], EnrollmentStatus.ACTIVE
            )
            await uow.commit()

    @activity.defn(name="send_welcome_notification")
    async def send_welcome_notification(self, request: EnrollmentRequest) -> None:
        """Nothing: the notification consumer welcomes on `enrollment.created`."""
