"""Reminders for inactive students: a Temporal schedule (storage/temporal.py) runs
`ReminderWorkflow` daily; its one activity emits `enrollment.reminder_due` for every active
enrollment that has seen no progress for `reminder_inactive_days`; the notification consumer
turns each into the student's reminder notices."""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from storage.temporal import REMINDER
    from workflows.policies import SEED
    from workflows.reminders.activities import ReminderActivities


@workflow.defn(name=REMINDER)
class ReminderWorkflow:
    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity_method(
            ReminderActivities.remind_inactive_students, None, **SEED
        )
