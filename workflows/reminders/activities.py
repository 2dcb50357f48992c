"""ReminderWorkflow's activity: once per enrollment and day, so a rerun adds nothing."""

from datetime import UTC, datetime, timedelta

from temporalio import activity

from core.events import ReminderDueData, make_event
from core.settings import Settings
from storage.db import Database
from storage.repositories.enrollment import EnrollmentRepository
from workflows.emit import emit_once


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
