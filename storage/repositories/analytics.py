"""Analytics reads: platform and course figures from the base tables (exact at read time) and
enrollment trends from the analytics consumer's `analytics_metrics` counters."""

from typing import Any, Literal

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.course import Course
from storage.models.enrollment import Enrollment
from storage.models.events import AnalyticsDaily
from storage.models.user import User

HOURS = func.extract("epoch", Enrollment.completed_at - Enrollment.enrolled_at) / 3600.0


def rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


class AnalyticsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def overview(self) -> dict[str, Any]:
        roles = dict(
            (await self.session.execute(select(User.role, func.count()).group_by(User.role))).all()
        )
        published = await self.session.scalar(
            select(func.count()).where(Course.status == "published")
        )
        total, completed, hours = (
            await self.session.execute(
                select(
                    func.count(),
                    func.count().filter(Enrollment.status == "completed"),
                    func.avg(HOURS).filter(Enrollment.status == "completed"),
                )
            )
        ).one()
        return {
            "total_students": roles.get("student", 0),
            "total_instructors": roles.get("instructor", 0),
            "total_courses_published": published or 0,
            "total_enrollments": total,
            "course_completion_rate": rate(completed, total),
            "avg_time_to_complete_hours": round(float(hours), 2) if hours is not None else None,
        }

    async def trend(self, granularity: Literal["day", "week", "month"]) -> list[dict[str, Any]]:
        period = func.date_trunc(granularity, AnalyticsDaily.day)
        rows = await self.session.execute(
            select(
                period,
                func.sum(AnalyticsDaily.new_enrollments),
                func.sum(AnalyticsDaily.completions),
            )
            .where(AnalyticsDaily.course_id == 0)
            .group_by(period)
            .order_by(period)
        )
        return [
            {"period": start.date().isoformat(), "new_enrollments": new, "completions": done}
            for start, new, done in rows
        ]

    async def popular(self, limit: int) -> list[dict[str, Any]]:
        enrollments = func.count(Enrollment.id).filter(Enrollment.status != "dropped")
        rows = await self.session.execute(
            select(Course.id, Course.title, enrollments)
            .outerjoin(Enrollment, Enrollment.course_id == Course.id)
            .where(Course.status == "published")
            .group_by(Course.id)
            .order_by(enrollments.desc(), Course.id)
            .limit(limit)
        )
        return [{"course_id": i, "title": t, "enrollments": n} for i, t, n in rows]

    async def course(self, course_id: int) -> dict[str, Any]:
        by_status = func.count()
        rows = dict(
            (
                await self.session.execute(
                    select(Enrollment.status, by_status)
                    .where(Enrollment.course_id == course_id)
                    .group_by(Enrollment.status)
                )
            ).all()
        )
        hours = await self.session.scalar(
            select(func.avg(case((Enrollment.status == "completed", HOURS)))).where(
                Enrollment.course_id == course_id
            )
        )
        total = sum(rows.values())
        return {
            "course_id": course_id,
            "enrollments": total,
            "active": rows.get("active", 0) + rows.get("pending", 0),
            "completed": rows.get("completed", 0),
            "dropped": rows.get("dropped", 0),
            "completion_rate": rate(rows.get("completed", 0), total),
            "avg_time_to_complete_hours": round(float(hours), 2) if hours is not None else None,
        }
