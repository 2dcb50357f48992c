"""Course reports in PostgreSQL: requested by the analytics service, then moved from queued
through running to done (with the keys of its stored CSV and PDF) or failed by the report
task."""

import uuid

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.report import CourseReport

__all__ = ["CourseReport", "ReportRepository"]


class ReportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, report_id: uuid.UUID, course_id: int, requested_by: int) -> None:
        """A queued report of the course."""
        self.session.add(
            CourseReport(
                id=report_id, course_id=course_id, requested_by=requested_by, status="QUEUED"
            )
        )

    async def get(self, report_id: uuid.UUID) -> CourseReport | None:
        return await self.session.get(CourseReport, report_id)

    async def mark(self, report_id: uuid.UUID, **values: object) -> None:
        """Set the report's status and what goes with it (keys, error, finished_at)."""
        await self.session.execute(
            update(CourseReport).where(CourseReport.id == report_id).values(**values)
        )
