"""Reminders for inactive students: a Temporal schedule runs `ReminderWorkflow` daily; its one
activity emits `enrollment.reminder_due` for every active enrollment that has seen no progress
for `reminder_inactive_days` (once per enrollment and day, so a rerun adds nothing); the
notification consumer turns each into the student's reminder notices."""

import contextlib
from datetime import UTC, datetime, timedelta

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
    from core.events import ReminderDueData, make_event
    from core.settings import Settings
    from storage.db import Database
    from storage.repositories.enrollment import EnrollmentRepository
    from workflows.courses import step
    from workflows.emit import emit_once

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
        day = now.date().isoformat()
        async with self.db.unit_of_work() as uow:
            inactive = await EnrollmentRepository(uow.session).inactive(cutoff)
            added = 0
            for enrollment in inactive:
                data = ReminderDueData(
                    enrollment_id=enrollment.id,
                    student_id=enrollment.student_id,
                    course_id=enrollment.course_id,
                    completion_percentage=float(enrollment.completion_percentage or 0),
                    day=day,
                )
                event = make_event(
                    "enrollment.reminder_due", str(enrollment.id), data, source="reminders"
                )
                added += await emit_once(uow, event, f"reminder:{enrollment.id}:{day}")
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
