"""The Temporal worker of SmartCourse: every workflow and the activities it is given."""

from collections.abc import Callable, Sequence
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from core.settings import Settings
from workflows.certificates.workflow import CertificateGenerationWorkflow
from workflows.courses.workflow import CourseArchiveWorkflow, CoursePublishingWorkflow
from workflows.enrollment.workflow import EnrollmentWorkflow
from workflows.reminders.workflow import ReminderWorkflow

WORKFLOWS = [
    CoursePublishingWorkflow,
    CourseArchiveWorkflow,
    EnrollmentWorkflow,
    CertificateGenerationWorkflow,
    ReminderWorkflow,
]


def build_worker(client: Client, settings: Settings, activities: Sequence[Callable]) -> Worker:
    return Worker(
        client,
        task_queue=settings.temporal_task_queue,
        workflows=WORKFLOWS,
        activities=list(activities),
        graceful_shutdown_timeout=timedelta(seconds=5),
    )
