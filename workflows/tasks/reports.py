"""Course reports as a Celery task on `report_queue`: read the course's figures from the
analytics tables, render the CSV and the PDF, store both in the object store and record
their keys on the report row (retry policy and dead-letter queue of every task).

Idempotent: the object keys are functions of the report id, an upload overwrites the same
object, and a report already DONE is not rendered again.
"""

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta

from core.settings import Settings, get_settings
from storage.db import Database
from storage.objects import ObjectStore
from storage.repositories.analytics import AnalyticsRepository
from storage.repositories.course import CourseRepository
from storage.repositories.report import CourseReport, ReportRepository
from workflows.celery_app import BackoffTask, app
from workflows.queues import BUILD_REPORT
from workflows.tasks.report_render import ReportContent, render_csv, render_pdf

log = logging.getLogger(__name__)
SERIES_DAYS = 90


class ReportMissing(Exception):
    """The report row (or its course) does not exist: retrying cannot help."""


def report_keys(report_id: uuid.UUID) -> tuple[str, str]:
    return f"reports/{report_id}.csv", f"reports/{report_id}.pdf"


async def content_of(db: Database, report: CourseReport) -> ReportContent:
    async with db.unit_of_work() as uow:
        course = await CourseRepository(uow.session).get(report.course_id)
        if course is None:
            raise ReportMissing(f"course {report.course_id} does not exist")
        analytics = AnalyticsRepository(uow.session)
        figures = await analytics.course(course.id)
        since = datetime.now(UTC).date() - timedelta(days=SERIES_DAYS)
        daily = await analytics.course_daily(course.id, since)
    return ReportContent(course.title, figures, daily)


async def mark(db: Database, report_id: uuid.UUID, **values: object) -> None:
    async with db.unit_of_work() as uow:
        await ReportRepository(uow.session).mark(report_id, **values)
        await uow.commit()


async def build(settings: Settings, report_id: uuid.UUID) -> str:
    """Render and store one report; its status."""
    db = Database(settings)
    try:
        async with db.unit_of_work() as uow:
            report = await ReportRepository(uow.session).get(report_id)
        if report is None:
            raise ReportMissing(f"report {report_id} does not exist")
        if report.status == "DONE":
            return "DONE"
        await mark(db, report_id, status="RUNNING")
        content = await content_of(db, report)
        csv_key, pdf_key = report_keys(report_id)
        store = ObjectStore(settings)
        await store.put(csv_key, render_csv(content), "text/csv")
        pdf = await asyncio.to_thread(render_pdf, content)
        await store.put(pdf_key, pdf, "application/pdf")
        await mark(
            db,
            report_id,
            status="DONE",
            csv_key=csv_key,
            pdf_key=pdf_key,
            finished_at=datetime.now(UTC),
        )
        return "DONE"
    except ReportMissing as error:
        await mark(db, report_id, status="FAILED", error=str(error))
        raise
    finally:
        await db.dispose()


@app.task(name=BUILD_REPORT, base=BackoffTask, bind=True, dont_autoretry_for=(ReportMissing,))
def build_report(self: BackoffTask, report_id: str) -> str:
    status = asyncio.run(build(get_settings(), uuid.UUID(report_id)))
    log.info(
        "event=report_built report_id=%s task_id=%s attempt=%d",
        report_id,
        self.request.id,
        self.request.retries + 1,
    )
    return status
