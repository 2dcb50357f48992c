"""Certificate PDF rendering as a Celery task on `certificate_queue`.

The task is idempotent, so a redelivery (a worker killed mid-task, a retry, a second enqueue)
has no second effect: the object key is a function of the certificate id, the upload overwrites
the same object, and the row records the key only while it has none.

The Temporal activity that enqueues the task passes its task token and returns without an answer;
the task completes that activity with the object key once the PDF is stored, or fails it when
rendering cannot succeed (no such certificate, or the last retry failed). A token whose
activity has moved on (timed out and retried: the new attempt sent a task of its own) is
ignored.
"""

import asyncio
import base64
import logging
from datetime import UTC, datetime

import boto3
from botocore.config import Config
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from core.certificates import verification_url
from core.settings import Settings, get_settings
from storage.db import Database
from storage.repositories.certificate import CertificateRepository
from workflows.celery_app import BackoffTask, app
from workflows.queues import RENDER_PDF
from workflows.tasks.certificate_pdf import CertificateContent, render_certificate

log = logging.getLogger(__name__)


class CertificateMissing(Exception):
    """The certificate row does not exist: retrying cannot help."""


def pdf_key(certificate_id: int) -> str:
    return f"certificates/{certificate_id}.pdf"


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


# Temporal may be restarting when a PDF is done: a few quick tries before Celery's own retry.
COMPLETE_ATTEMPTS = 5


async def settle(settings: Settings, task_token: str, key: str | None, error: Exception | None):
    """Complete (with `key`) or fail (with `error`) the activity behind `task_token`."""
    token = base64.b64decode(task_token)
    for attempt in range(COMPLETE_ATTEMPTS):
        try:
            client = await Client.connect(
                settings.temporal_address, namespace=settings.temporal_namespace
            )
            handle = client.get_async_activity_handle(task_token=token)
            await (handle.complete(key) if error is None else handle.fail(error))
            return
        except RPCError as rpc:
            if rpc.status == RPCStatusCode.NOT_FOUND:
                log.info("event=certificate_activity_gone")
                return
            if attempt == COMPLETE_ATTEMPTS - 1:
                raise
        except RuntimeError:  # the connection itself failed
            if attempt == COMPLETE_ATTEMPTS - 1:
                raise
        await asyncio.sleep(0.5 * 2**attempt)


async def render_and_settle(settings: Settings, certificate_id: int, token: str | None) -> str:
    key = await render_and_store(settings, certificate_id)
    if token is not None:
        await settle(settings, token, key, None)
    return key


def give_up(settings: Settings, token: str | None, error: Exception, final: bool) -> None:
    """Fail the waiting activity when this task will not run again."""
    if token is None or not final:
        return
    reason = ApplicationError(
        f"certificate PDF failed: {type(error).__name__}: {error}",
        type="CertificateMissing" if isinstance(error, CertificateMissing) else "PdfFailed",
        non_retryable=isinstance(error, CertificateMissing),
    )
    try:
        asyncio.run(settle(settings, token, None, reason))
    except Exception:  # the task's own error is the one to report; Temporal times it out
        log.exception("event=certificate_activity_fail_failed")


@app.task(name=RENDER_PDF, base=BackoffTask, bind=True, dont_autoretry_for=(CertificateMissing,))
def render_certificate_pdf(
    self: BackoffTask, certificate_id: int, task_token: str | None = None
) -> str:
    settings = get_settings()
    try:
        key = asyncio.run(render_and_settle(settings, certificate_id, task_token))
    except Exception as error:
        last = self.request.retries >= len(self.app.conf.smartcourse_retry_delays)
        give_up(settings, task_token, error, last or isinstance(error, CertificateMissing))
        raise
    log.info(
        "event=certificate_pdf_stored certificate_id=%s task_id=%s attempt=%d",
        certificate_id,
        self.request.id,
        self.request.retries + 1,
    )
    return key
