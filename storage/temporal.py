"""The Temporal client: connecting, and one start function per workflow with its deterministic id.

A workflow's name, id and input are the contract between whoever starts it (the services, the
certificate consumer) and the worker that runs it (`workflows/`): they live here, so a starter
needs nothing of `workflows/`, and the worker registers its workflows under these names.
"""

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleSpec,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from core.errors import DependencyDown
from core.settings import Settings

log = logging.getLogger(__name__)

PUBLISHING = "CoursePublishingWorkflow"
ARCHIVE = "CourseArchiveWorkflow"
ENROLLMENT = "EnrollmentWorkflow"
CERTIFICATE = "CertificateGenerationWorkflow"
REMINDER = "ReminderWorkflow"
REMINDER_SCHEDULE_ID = "inactivity-reminders"


@dataclass(frozen=True)
class CourseRequest:
    course_id: int
    workflow_id: str


@dataclass(frozen=True)
class EnrollmentRequest:
    enrollment_id: int
    student_id: int
    course_id: int


@dataclass(frozen=True)
class CertificateRequest:
    enrollment_id: int


def publish_workflow_id(course_id: int) -> str:
    return f"publish-course-{course_id}"


def archive_workflow_id(course_id: int) -> str:
    return f"archive-course-{course_id}"


def enroll_workflow_id(enrollment_id: int) -> str:
    return f"enroll-{enrollment_id}"


def certificate_workflow_id(enrollment_id: int) -> str:
    return f"certificate-{enrollment_id}"


async def connect(settings: Settings) -> Client:
    """A client whose workflow starts carry the caller's trace into workflows and activities
    (and so do workers built on it)."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        interceptors=[TracingInterceptor()],
    )


async def ensure_reminder_schedule(client: Client, settings: Settings) -> None:
    """Create the daily reminder schedule when it is missing (the worker host asks at start
    and every few minutes, so a Temporal that lost its state gets it back)."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            REMINDER, id="reminders", task_queue=settings.temporal_task_queue
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(days=1))]),
    )
    with contextlib.suppress(ScheduleAlreadyRunningError):
        await client.create_schedule(REMINDER_SCHEDULE_ID, schedule)


class TemporalConnection:
    """The process's one Temporal client, connected on first use (a replica starts while
    Temporal may still be coming up), and the workflow starts. An unreachable server is a
    `DependencyDown` (503) for the caller; a start of a workflow already running joins it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: Client | None = None
        self._connecting = asyncio.Lock()

    async def client(self) -> Client:
        if self._client is None:
            async with self._connecting:
                if self._client is None:
                    self._client = await self._connect()
        return self._client

    async def _connect(self) -> Client:
        try:
            return await asyncio.wait_for(
                connect(self.settings), self.settings.dependency_timeout_seconds
            )
        except (OSError, RuntimeError, TimeoutError) as error:
            log.warning("event=temporal_unreachable error=%s", type(error).__name__)
            raise DependencyDown("The workflow engine is unavailable; try again") from None

    async def _start(self, workflow: str, argument: Any, workflow_id: str, **policy: Any) -> str:
        client = await self.client()
        try:
            await client.start_workflow(
                workflow,
                argument,
                id=workflow_id,
                task_queue=self.settings.temporal_task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                **policy,
            )
        except WorkflowAlreadyStartedError:
            pass  # closed under a reuse policy that keeps it so (a certificate exists)
        except (RPCError, RuntimeError, OSError) as error:
            log.warning("event=workflow_start_failed workflow=%s error=%r", workflow, error)
            raise DependencyDown("The workflow engine is unavailable; try again") from error
        return workflow_id

    async def start_publishing(self, course_id: int) -> str:
        workflow_id = publish_workflow_id(course_id)
        return await self._start(PUBLISHING, CourseRequest(course_id, workflow_id), workflow_id)

    async def start_archive(self, course_id: int) -> str:
        workflow_id = archive_workflow_id(course_id)
        return await self._start(ARCHIVE, CourseRequest(course_id, workflow_id), workflow_id)

    async def start_enrollment(self, request: EnrollmentRequest) -> str:
        return await self._start(ENROLLMENT, request, enroll_workflow_id(request.enrollment_id))

    async def start_certificate(self, enrollment_id: int) -> str:
        """The certificate workflow of one enrollment, or the one already running. One that
        completed is not run again (its certificate exists); a failed one may be."""
        return await self._start(
            CERTIFICATE,
            CertificateRequest(enrollment_id),
            certificate_workflow_id(enrollment_id),
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        )
