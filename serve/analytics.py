"""The analytics service (in the ingress process): platform overview and trends for admins,
popular courses for everyone signed in, a course's figures for its instructor and admins."""

from typing import Any, Literal

from core.errors import Forbidden, NotFound
from core.identity import Principal
from serve.resources import Resources
from storage.models.course import Course
from storage.repositories.analytics import AnalyticsRepository


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("Platform analytics are for admins")


class Analytics:
    def __init__(self, resources: Resources) -> None:
        self.db = resources.db

    async def overview(self, principal: Principal) -> dict[str, Any]:
        require_admin(principal)
        async with self.db.unit_of_work() as uow:
            return await AnalyticsRepository(uow.session).overview()

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
            course = await uow.session.get(Course, course_id)
            if course is None or not principal.may_act_for(course.instructor_id):
                raise NotFound("Course not found")
            return await AnalyticsRepository(uow.session).course(course_id)
