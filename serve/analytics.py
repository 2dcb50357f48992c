"""The analytics service (in the ingress process): platform overview and trends for admins,
popular courses for everyone signed in, a course's figures, daily series and reports for its
instructor and admins. Every figure comes from the analytics consumer's tables."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from core.errors import Forbidden, NotFound
from core.identity import Principal
from serve.resources import Resources
from storage.db import UnitOfWork
from storage.objects import ObjectStore
from storage.repositories.analytics import AnalyticsRepository
from storage.repositories.course import CourseRepository
from storage.repositories.report import ReportRepository
from workflows.queues import enqueue_report


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("Platform analytics are for admins")


async def check_owner(uow: UnitOfWork, principal: Principal, course_id: int) -> None:
    course = await CourseRepository(uow.session).get(course_id)
    # Someone else's course answers as missing: its existence is not theirs to learn.
    if course is None or not principal.may_act_for(course.instructor_id):
        raise NotFound("Course not found")


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
            await check_owner(uow, principal, course_id)
            return await AnalyticsRepository(uow.session).course(course_id)

    async def course_daily(self, principal: Principal, course_id: int, days: int) -> dict:
        since = datetime.now(UTC).date() - timedelta(days=days - 1)
        async with self.db.unit_of_work() as uow:
            await check_owner(uow, principal, course_id)
            items = await AnalyticsRepository(uow.session).course_daily(course_id, since)
        return {"course_id": course_id, "items": items}

    async def request_report(self, principal: Principal, course_id: int) -> dict[str, Any]:
        report_id = uuid.uuid4()
        async with self.db.unit_of_work() as uow:
            await check_owner(uow, principal, course_id)
            await ReportRepository(uow.session).add(report_id, course_id, principal.user_id)
            await uow.commit()
        await asyncio.to_thread(enqueue_report, self.settings, report_id)
        return {"report_id": str(report_id), "status": "QUEUED"}

    async def report(self, principal: Principal, report_id: uuid.UUID) -> dict[str, Any]:
        async with self.db.unit_of_work() as uow:
            report = await ReportRepository(uow.session).get(report_id)
        if report is None or not principal.may_act_for(report.requested_by):
            raise NotFound("Report not found")
        answer: dict[str, Any] = {"report_id": str(report.id), "status": report.status}
        if report.status == "DONE":
            ttl = self.settings.report_url_ttl_seconds
            answer["download_url"] = self.objects.presigned_get_url(report.pdf_key, ttl)
            answer["csv_url"] = self.objects.presigned_get_url(report.csv_key, ttl)
        return answer
