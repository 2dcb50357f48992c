"""The analytics service (in the ingress process): platform overview and trends for admins,
popular courses for everyone signed in, a course's figures, daily series and reports for its
instructor and admins. Every figure comes from the analytics consumer's tables."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Forbidden, NotFound
from core.identity import Principal
from serve.resources import Resources
from storage.models.course import Course
from storage.models.report import CourseReport
from storage.objects import ObjectStore
from storage.repositories.analytics import AnalyticsRepository
from workflows.tasks.reports import enqueue_report


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("Platform analytics are for admins")


async def owned_course(session: AsyncSession, principal: Principal, course_id: int) -> Course:
    course = await session.get(Course, course_id)
    # Someone else's course answers as missing: its existence is not theirs to learn.
    if course is None or not principal.may_act_for(course.instructor_id):
        raise NotFound("Course not found")
    return course


class Analytics:
    def __init__(self, resources: Resources) -> None:
        self.settings = resources.settings
        self.db = resources.db
        self.objects = ObjectStore(resources.settings)

    async def overview(self, principal: Principal) -> dict[str, Any]:
        require_admin(principal)
        async with self.db.unit_of_work() as uow:
            return await AnalyticsRepository(uow.session).overview(datetime.now(UTC).date())

    async def enrollments(
        self, principal: Principal, granularity: Literal["day", "week", "month"]
    ) -> dict[str, Any]:
        require_admin(principal)
        async with self.db.unit_of_work() as uow:
            return {"items": await AnalyticsRepository(uow.session).trend(granularity)}

    async def popular(self, limit: int) -> dict[str, Any]:
        async with self.db.unit_of_work() as uow:
            return {"items": await AnalyticsRepository(uow.session).popular(limit)}

    async def course(self, principal: Principal, course_id: int) -> dict[str, Any]:
        async with self.db.unit_of_work() as uow:
            await owned_course(uow.session, principal, course_id)
            return await AnalyticsRepository(uow.session).course(course_id)

    async def course_daily(self, principal: Principal, course_id: int, days: int) -> dict:
        since = datetime.now(UTC).date() - timedelta(days=days - 1)
        async with self.db.unit_of_work() as uow:
            await owned_course(uow.session, principal, course_id)
            items = await AnalyticsRepository(uow.session).course_daily(course_id, since)
        return {"course_id": course_id, "items": items}

    async def request_report(self, principal: Principal, course_id: int) -> dict[str, Any]:
        report_id = uuid.uuid4()
        async with self.db.unit_of_work() as uow:
            await owned_course(uow.session, principal, course_id)
            uow.session.add(
                CourseReport(
                    id=report_id,
                    course_id=course_id,
                    requested_by=principal.user_id,
                    status="QUEUED",
                )
            )
            await uow.commit()
        await asyncio.to_thread(enqueue_report, self.settings, report_id)
        return {"report_id": str(report_id), "status": "QUEUED"}

    async def report(self, principal: Principal, report_id: uuid.UUID) -> dict[str, Any]:
        async with self.db.unit_of_work() as uow:
            report = await uow.session.get(CourseReport, report_id)
        if report is None or not principal.may_act_for(report.requested_by):
            raise NotFound("Report not found")
        answer: dict[str, Any] = {"report_id": str(report.id), "status": report.status}
        if report.status == "DONE":
            ttl = self.settings.report_url_ttl_seconds
            answer["download_url"] = self.objects.presigned_get_url(report.pdf_key, ttl)
            answer["csv_url"] = self.objects.presigned_get_url(report.csv_key, ttl)
        return answer
