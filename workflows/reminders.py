"""Reminders for inactive students: a Temporal schedule runs `ReminderWorkflow` daily; its one
activity notifies every student whose active enrollment has seen no progress for
`reminder_inactive_days` (once per enrollment and day, so a rerun adds nothing)."""

import contextlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from temporalio import activity, workflow
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleSpec,
)

with workflow.unsafe.imports_passed_through():
    from core.settings import Settings
    from storage.db import Database
    from storage.models.course import Course
    from storage.models.enrollment import Enrollment
    from storage.repositories.notification import NewNotification, NotificationRepository
    from workflows.courses import step

SCHEDULE_ID = "inactivity-reminders"


@workflow.defn(name="ReminderWorkflow")
class ReminderWorkflow:
    @workflow.run
    async def run(self) -> None:
        await step("remind_inactive_students", None)


class ReminderActivities:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings, self.db = settings, db

    @activity.defn(name="remind_inactive_students")
    async def remind_inactive_students(self, _: None) -> int:
        now = datetime.now(UTC)
        cutoff = now - timedelta(days=self.settings.reminder_inactive_days)
        async with self.db.unit_of_work() as uow:
            rows = await uow.session.execute(
                select(Enrollment.id, Enrollment.student_id, Course.title)
                .join(Course, Course.id == Enrollment.course_id)
                .where(Enrollment.status == "active", Enrollment.last_accessed_at < cutoff)
            )
            notices = [
                NewNotification(
                    user_id=student_id,
                    kind="reminder",
                    title=f"Continue {title}",
                    body="Your course is waiting for you; pick up where you left off.",
                    dedupe_key=f"reminder:{enrollment_id}:{now.date().isoformat()}",
                )
                for enrollment_id, student_id, title in rows
            ]
            added = await NotificationRepository(uow.session).add(notices)
            await uow.commit()
        return added


async def ensure_schedule(client: Client, settings: Settings) -> None:
    """Create the daily schedule when it is missing (every start of the worker host asks)."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            "ReminderWorkflow", id="reminders", task_queue=settings.temporal_task_queue
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(days=1))]),
    )
    with contextlib.suppress(ScheduleAlreadyRunningError):
        await client.create_schedule(SCHEDULE_ID, schedule)
