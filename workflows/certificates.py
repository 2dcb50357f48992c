"""CertificateGenerationWorkflow: issue the certificate of a completed enrollment, render its PDF
(a Celery task), announce it (`certificate.issued` + the `certificate_ready` notification) and
email the student.

The workflow id is `certificate-{enrollment_id}`, so the automatic start on completion and any
number of POST /enrollments/{id}/certificate start one workflow; every activity is idempotent,
so retries and a restarted worker never issue, announce or email twice.
"""

import contextlib
from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from core.settings import Settings
    from workflows.certificate_activities import (
        CertificateActivities,
        CertificateRef,
        CertificateRequest,
        IssuedCertificate,
    )

# Database steps are short; the error types listed never get better by retrying.
QUICK = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=60),
        maximum_attempts=10,
        non_retryable_error_types=["EnrollmentNotFound", "EnrollmentNotCompleted"],
    ),
}
# Rendering is completed by a Celery task (async completion), whose own retries span up to
# 60 + 300 + 900 s in production; a task lost past the hour times the attempt out, and the
# next attempt enqueues it again (idempotent). No heartbeat: nothing runs here while it waits.
RENDER = {
    "start_to_close_timeout": timedelta(hours=1),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=5),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=5),
        maximum_attempts=5,
        non_retryable_error_types=["CertificateMissing"],
    ),
}


@dataclass(frozen=True)
class CertificateOutcome:
    certificate_id: int
    verification_code: str
    pdf_object_key: str


@workflow.defn(name="CertificateGenerationWorkflow")
class CertificateGenerationWorkflow:
    @workflow.run
    async def run(self, request: CertificateRequest) -> CertificateOutcome:
        issued: IssuedCertificate = await workflow.execute_activity_method(
            CertificateActivities.issue, request, **QUICK
        )
        ref = CertificateRef(certificate_id=issued.certificate_id)
        key: str = await workflow.execute_activity_method(
            CertificateActivities.render_pdf, ref, **RENDER
        )
        await workflow.execute_activity_method(CertificateActivities.announce, ref, **QUICK)
        await workflow.execute_activity_method(CertificateActivities.send_email, ref, **QUICK)
        return CertificateOutcome(issued.certificate_id, issued.verification_code, key)


def certificate_workflow_id(enrollment_id: int) -> str:
    return f"certificate-{enrollment_id}"


async def start_certificate_workflow(client: Client, settings: Settings, enrollment_id: int) -> str:
    """Start the workflow of one enrollment, or join the one already running; its id.
    A workflow that completed is not run again (its certificate exists); a failed one may be."""
    workflow_id = certificate_workflow_id(enrollment_id)
    # A completed run is not restarted: its certificate exists.
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await client.start_workflow(
            CertificateGenerationWorkflow.run,
            CertificateRequest(enrollment_id=enrollment_id),
            id=workflow_id,
            task_queue=settings.temporal_task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
    return workflow_id
