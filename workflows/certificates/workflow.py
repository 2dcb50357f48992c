"""CertificateGenerationWorkflow: issue the certificate of a completed enrollment, render its PDF
(a Celery task) and announce it (`certificate.issued`; the notification consumer turns that into
the student's in-app notice, email and push).

The workflow id is `certificate-{enrollment_id}` (storage/temporal.py), so the automatic start on
completion and any number of POST /enrollments/{id}/certificate start one workflow; every
activity is idempotent, so retries and a restarted worker never issue, announce or email twice.
"""

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from storage.temporal import CERTIFICATE, CertificateRequest
    from workflows.certificates.activities import (
        CertificateActivities,
        CertificateRef,
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


@workflow.defn(name=CERTIFICATE)
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
        # The email is the notification consumer's now (from `certificate.issued`); runs
        # started before that replay their own send.
        if not workflow.patched("notices-from-events"):
            await workflow.execute_activity_method(CertificateActivities.send_email, ref, **QUICK)
        return CertificateOutcome(issued.certificate_id, issued.verification_code, key)
