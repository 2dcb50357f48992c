"""The activities of CertificateGenerationWorkflow; each is idempotent, so Temporal may run any
of them again after a timeout or a worker restart without a second effect.

- issue: one certificate row per enrollment (unique), with an unguessable verification code,
  linked from the enrollment; only for a completed enrollment.
- render_pdf: enqueue the PDF task on `certificate_queue` with this activity's task token and
  return without an answer (async completion): the Celery task completes the activity once the
  PDF is in S3. Nothing polls meanwhile, so a dead Celery worker costs no CPU here; RabbitMQ
  keeps the task until a worker is back.
- announce: `certificate.issued` into the outbox under an event id derived from the certificate,
  at most once; the notification consumer turns it into the `certificate_ready` notices (in-app,
  email, push), so no notice of the certificate bypasses the event.
- send_email: kept for runs started before the consumer sent the email; new runs skip it.
"""

import asyncio
import base64
import logging
import uuid
from dataclasses import dataclass

from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.certificates import new_verification_code
from core.events import CertificateIssuedData, make_event
from core.settings import Settings
from core.status import EnrollmentStatus
from storage.db import Database
from storage.outbox import add_event_once
from storage.repositories.certificate import CertificateRecord, CertificateRepository
from storage.temporal import CertificateRequest
from workflows.queues import enqueue_certificate_pdf

log = logging.getLogger(__name__)
# Event ids derived from the certificate make a repeated announce a no-op in the outbox.
EVENT_NAMESPACE = uuid.UUID("6f1f7d1e-3c1b-4f7e-9a53-3b8f2f7c0c11")


@dataclass(frozen=True)
class CertificateRef:
    certificate_id: int


@dataclass(frozen=True)
class IssuedCertificate:
    certificate_id: int
    verification_code: str
    created: bool


def issued_event_id(certificate_id: int) -> uuid.UUID:
    return uuid.uuid5(EVENT_NAMESPACE, f"certificate.issued:{certificate_id}")


class CertificateActivities:
    def __init__(self, settings: Settings, db: Database | None = None) -> None:
        self.settings = settings
        self.db = db or Database(settings)

    @activity.defn(name="certificate.issue")
    async def issue(self, request: CertificateRequest) -> IssuedCertificate:
        async with self.db.unit_of_work() as uow:
            certificates = CertificateRepository(uow.session)
            facts = await certificates.enrollment(request.enrollment_id, lock=True)
            if facts is None:
                raise ApplicationError("no such enrollment", type="EnrollmentNotFound")
            if facts.status != EnrollmentStatus.COMPLETED:
                raise ApplicationError(
                    f"enrollment is {facts.status}, not completed", type="EnrollmentNotCompleted"
                )
            certificate = await certificates.by_enrollment(request.enrollment_id)
            created = certificate is None
            if certificate is None:
                certificate = await certificates.add(facts, new_verification_code())
                if certificate is None:
                    raise ApplicationError("certificate issued concurrently; retry")
                await certificates.link_enrollment(request.enrollment_id, certificate.id)
                await uow.commit()
        if created:
            log.info(
                "event=certificate_issued certificate_id=%s enrollment_id=%s",
                certificate.id,
                request.enrollment_id,
            )
        return IssuedCertificate(certificate.id, certificate.verification_code, created)

    async def certificate(self, certificate_id: int) -> CertificateRecord:
        async with self.db.unit_of_work() as uow:
            certificate = await CertificateRepository(uow.session).get(certificate_id)
        if certificate is None:
            raise ApplicationError("no such certificate", type="CertificateMissing")
        return certificate

    @activity.defn(name="certificate.render_pdf")
    async def render_pdf(self, ref: CertificateRef) -> str:
        """The PDF's object key at once when it is rendered; otherwise hand the rendering and
        this activity's completion to the Celery task (see the module docstring)."""
        certificate = await self.certificate(ref.certificate_id)
        if certificate.pdf_object_key:
            return certificate.pdf_object_key
        token = base64.b64encode(activity.info().task_token).decode("ascii")
        await asyncio.to_thread(
            enqueue_certificate_pdf, self.settings, ref.certificate_id, task_token=token
        )
        activity.raise_complete_async()

    @activity.defn(name="certificate.announce")
    async def announce(self, ref: CertificateRef) -> bool:
        """`certificate.issued`, once; False when already announced."""
        certificate = await self.certificate(ref.certificate_id)
        data = CertificateIssuedData(
            enrollment_id=certificate.enrollment_id,
            student_id=certificate.student_id,
            course_id=certificate.course_id,
            certificate_id=certificate.id,
            verification_code=certificate.verification_code,
            course_title=certificate.course_title,
        )
        event = make_event(
            "certificate.issued", str(certificate.enrollment_id), data, source="certificates"
        ).model_copy(update={"id": issued_event_id(certificate.id)})
        async with self.db.unit_of_work() as uow:
            if not await add_event_once(uow.session, event):
                return False
            await uow.commit()
        return True

    @activity.defn(name="certificate.send_email")
    async def send_email(self, ref: CertificateRef) -> str:
        """Nothing: the notification consumer emails on `certificate.issued`. Kept registered
        for runs started before that, which replay this step."""
        return ""

    def all(self) -> list:
        """The activity callables, for the worker's registry."""
        return [self.issue, self.render_pdf, self.announce, self.send_email]
