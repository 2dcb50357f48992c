"""EnrollmentWorkflow's activities; each is idempotent (conditional updates).

`set_up_enrollment` is the workflow's one step. The others are kept registered for runs started
before it (they replay those steps): `initialize_progress` and `activate_enrollment` are its two
halves, and `update_analytics` and `send_welcome_notification` no-ops since the consumers took
over both. Remove them with the patches."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import redis.asyncio as aioredis
from temporalio import activity

from core.status import EnrollmentStatus
from storage.db import Database
from storage.repositories.enrollment import EnrollmentRepository
from storage.temporal import EnrollmentRequest

# One write of a setup, on the transaction's repository.
Step = Callable[[EnrollmentRepository, EnrollmentRequest], Awaitable[None]]


class EnrollmentActivities:
    def __init__(self, db: Database, redis: aioredis.Redis) -> None:
        self.db, self.redis = db, redis

    def all(self) -> list[Callable]:
        return [
            self.set_up_enrollment,
            self.initialize_progress,
            self.update_analytics,
            self.activate_enrollment,
            self.send_welcome_notification,
        ]

    @activity.defn(name="set_up_enrollment")
    async def set_up_enrollment(self, request: EnrollmentRequest) -> None:
        """Progress started and the enrollment active, in one transaction."""
        await self.in_one_transaction(request, start_progress, activate)

    @activity.defn(name="initialize_progress")
    async def initialize_progress(self, request: EnrollmentRequest) -> None:
        await self.in_one_transaction(request, start_progress)

    @activity.defn(name="update_analytics")
    async def update_analytics(self, request: EnrollmentRequest) -> None:
        """Nothing: the analytics consumer counts `enrollment.created`."""

    @activity.defn(name="activate_enrollment")
    async def activate_enrollment(self, request: EnrollmentRequest) -> None:
        await self.in_one_transaction(request, activate)

    @activity.defn(name="send_welcome_notification")
    async def send_welcome_notification(self, request: EnrollmentRequest) -> None:
        """Nothing: the notification consumer welcomes on `enrollment.created`."""

    async def in_one_transaction(self, request: EnrollmentRequest, *steps: Step) -> None:
        async with self.db.unit_of_work() as uow:
            enrollments = EnrollmentRepository(uow.session)
            for step in steps:
                await step(enrollments, request)
            await uow.commit()


async def start_progress(enrollments: EnrollmentRepository, request: EnrollmentRequest) -> None:
    await enrollments.start_progress(request.enrollment_id, datetime.now(UTC))


async def activate(enrollments: EnrollmentRepository, request: EnrollmentRequest) -> None:
    await enrollments.set_status(
        request.enrollment_id, [EnrollmentStatus.PENDING], EnrollmentStatus.ACTIVE
    )
