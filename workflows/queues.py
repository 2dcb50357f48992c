"""The producers' side of the Celery tasks that render files: their names and the calls that
enqueue them. The gateway and the Temporal activities import this module, never the task
modules (workflows/tasks/certificates.py, reports.py), so the PDF and chart libraries those
load (fpdf, matplotlib, their fonts: about 60 MB) stay in the Celery worker that renders."""

import uuid

from core.settings import Settings
from workflows.celery_app import celery_for

RENDER_PDF = "smartcourse.certificates.render_pdf"
BUILD_REPORT = "smartcourse.reports.build"


def enqueue_certificate_pdf(
    settings: Settings, certificate_id: int, task_token: str | None = None
) -> str:
    """Hand the rendering of one certificate to `certificate_queue`; the task id. With a task
    token (base64) the task completes that Temporal activity when done."""
    kwargs = {} if task_token is None else {"task_token": task_token}
    return celery_for(settings).send_task(RENDER_PDF, args=[certificate_id], kwargs=kwargs).id


def enqueue_report(settings: Settings, report_id: uuid.UUID) -> str:
    """Hand one report to `report_queue`; the task id."""
    return celery_for(settings).send_task(BUILD_REPORT, args=[str(report_id)]).id
