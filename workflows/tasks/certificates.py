"""Certificate PDF rendering as a Celery task on `certificate_queue`.

The task is idempotent, so a redelivery (a worker killed mid-task, a retry, a second enqueue)
has no second effect: the object key is a function of the certificate id, the upload overwrites
the same object, and the row records the key only while it has none. The Temporal activity that
enqueues the task watches that row, not the task's result.
"""

import asyncio
import logging
from datetime import UTC, datetime

import boto3
from botocore.config import Config

from core.settings import Settings, get_settings
from storage.db import Database
from storage.repositories.certificate import CertificateRepository
from workflows.celery_app import BackoffTask, app, celery_for
from workflows.tasks.certificate_pdf import CertificateContent, render_certificate

log = logging.getLogger(__name__)
RENDER_PDF = "smartcourse.certificates.render_pdf"


class CertificateMissing(Exception):
    """The certificate row does not exist: retrying cannot help."""


def pdf_key(certificate_id: int) -> str:
    return f"certificates/{certificate_id}.pdf"


def verification_url(settings: Settings, code: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}/certificates/verify/{code}"


def put_pdf(settings: Settings, key: str, data: bytes) -> None:
    client = boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key,
        aws_secret_access_key=settings.s3_secret_key.get_secret_value(),
        config=Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 2}),
    )
    client.put_object(Bucket=settings.s3_bucket, Key=key, Body=data, ContentType="application/pdf")


async def render_and_store(settings: Settings, certificate_id: int) -> str:
    """Render, upload and record the PDF of one certificate; its object key."""
    db = Database(settings)
    try:
        async with db.unit_of_work() as uow:
            certificate = await CertificateRepository(uow.session).get(certificate_id)
        if certificate is None:
            raise CertificateMissing(f"certificate {certificate_id} does not exist")
        if certificate.pdf_object_key:
            return certificate.pdf_object_key
        content = CertificateContent(
            student_name=certificate.student_name,
            course_title=certificate.course_title,
            issued_at=certificate.issued_at,
            verification_code=certificate.verification_code,
            verification_url=verification_url(settings, certificate.verification_code),
        )
        data = render_certificate(content, settings.certificate_font_path)
        key = pdf_key(certificate_id)
        await asyncio.to_thread(put_pdf, settings, key, data)
        async with db.unit_of_work() as uow:
            await CertificateRepository(uow.session).mark_rendered(
                certificate_id, key, datetime.now(UTC)
            )
            await uow.commit()
        return key
    finally:
        await db.dispose()


@app.task(name=RENDER_PDF, base=BackoffTask, bind=True, dont_autoretry_for=(CertificateMissing,))
def render_certificate_pdf(self: BackoffTask, certificate_id: int) -> str:
    key = asyncio.run(render_and_store(get_settings(), certificate_id))
    log.info(
        "event=certificate_pdf_stored certificate_id=%s task_id=%s attempt=%d",
        certificate_id,
        self.request.id,
        self.request.retries + 1,
    )
    return key


def enqueue_certificate_pdf(settings: Settings, certificate_id: int) -> str:
    """Hand the rendering of one certificate to `certificate_queue`; the task id."""
    return celery_for(settings).send_task(RENDER_PDF, args=[certificate_id]).id
