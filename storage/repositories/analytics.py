"""What the analytics consumer keeps, and the analytics reads from it: the per-day counters of
`analytics_metrics` (course 0 is the platform, one partition per month) and the active
learners per day. The figures follow the events, so they trail a write by the event path's
lag."""

from collections.abc import Collection, Mapping
from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy import func, literal_column, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.status import CourseStatus
from storage.models.course import Course
from storage.models.events import ActiveLearner, AnalyticsDaily

PLATFORM = 0
M = AnalyticsDaily
# The first day of each month whose partition this process found in the database: its events
# skip the lookup. Nothing here drops partitions (retention deletes outbox and processed-event
# rows only); one dropped by hand, or created by a transaction that then rolled back, sends the
# month's rows to the default partition, which `bump` sees by the row's table: it forgets the
# month and fails the transaction, and the consumer's retry creates the partition again.
KNOWN_MONTHS: set[date] = set()
WHERE = literal_column("tableoid::regclass::text")
SUMMED = (
    "new_enrollments",
    "completions",
    "drops",
    "new_students",
    "new_instructors",
    "courses_published",
    "courses_archived",
    "lessons_completed",
    "completion_seconds",
)

# The consumer's writes: on the tables, not through the ORM entities' bulk paths, and built once
# (storage/outbox.py).
COUNTERS, ACTIVE = AnalyticsDaily.__table__, ActiveLearner.__table__
COUNTER_ROWS = insert(COUNTERS)
BUMP = COUNTER_ROWS.on_conflict_do_update(
    index_elements=["day", "course_id"],
    set_={name: COUNTERS.c[name] + COUNTER_ROWS.excluded[name] for name in SUMMED},
).returning(COUNTERS.c.day, WHERE)
ADD_ACTIVE = insert(ACTIVE).on_conflict_do_nothing()


class PartitionMissing(Exception):
    """A counter row went to the default partition: its month's partition has gone since this
    process saw it. Retrying the event creates it again."""


def month_partition(day: date) -> str:
    return f"analytics_metrics_y{day.year}m{day.month:02d}"


def rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def hours(seconds: int, completions: int) -> float | None:
    return round(seconds / completions / 3600.0, 2) if completions else None


class AnalyticsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def ensure_month(self, day: date) -> None:
        """The month's partition of analytics_metrics (seed 6.3), created the first time it is
        used; looked up once per process (KNOWN_MONTHS)."""
        start = day.replace(day=1)
        if start in KNOWN_MONTHS:
            return
        end = start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
        name = month_partition(start)
        exists = text("SELECT to_regclass(:name) IS NOT NULL")
        if await self.session.scalar(exists, {"name": name}):
            KNOWN_MONTHS.add(start)
            return
        # One created here is known once another event's lookup finds it committed.
        # Partitions handled side by side would race to create it ("relation already exists"):
        # the lock lets the first create it and the others see it once that one committed.
        lock = text("SELECT pg_advisory_xact_lock(hashtext(:name))")
        await self.session.execute(lock, {"name": name})
        # Identifiers cannot be parameters; both are built from integers above.
        await self.session.execute(
            text(
                f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF analytics_metrics "
                f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
            )
        )

    async def bump(self, moves: Mapping[tuple[date, int], Mapping[str, int]]) -> None:
        """Add each (day, course id)'s amounts to its counters, in the months' partitions
        (`ensure_month` first); PartitionMissing if one has gone. Rows go in key order, so two
        writers lock them in the same order, as the parameters of one statement (compiled once,
        sent a thousand rows at a time: storage/outbox.py)."""
        if not moves:
            return
        rows = [
            {"day": day, "course_id": course_id, **{name: amounts.get(name, 0) for name in SUMMED}}
            for (day, course_id), amounts in sorted(moves.items())
        ]
        written = await self.session.execute(BUMP, rows)
        for day, where in written:
            if where != month_partition(day):
                KNOWN_MONTHS.discard(day.replace(day=1))
                raise PartitionMissing(f"{month_partition(day)} is missing")

    async def add_active(self, learners: Collection[tuple[date, int, int]]) -> None:
        """Each (day, course id, student id): the student was active that day in that course
        (once per day and course)."""
        if not learners:
            return
        rows = [
            {"day": day, "course_id": course_id, "student_id": student_id}
            for day, course_id, student_id in sorted(learners)
        ]
        await self.session.execute(ADD_ACTIVE, rows)

    async def totals(self, course_id: int) -> dict[str, int]:
        """Every counter of `course_id`, summed over all days."""
        sums = [func.coalesce(func.sum(getattr(M, name)), 0) for name in SUMMED]
        row = (await self.session.execute(select(*sums).where(M.course_id == course_id))).one()
        return {name: int(value) for name, value in zip(SUMMED, row, strict=True)}

    async def active_learners(self, course_id: int, since: date) -> int:
        return await self.session.scalar(
            select(func.count(func.distinct(ActiveLearner.student_id))).where(
                ActiveLearner.course_id == course_id, ActiveLearner.day >= since
            )
        )

    async def overview(self, today: date) -> dict[str, Any]:
        t = await self.totals(PLATFORM)
        return {
            "total_students": t["new_students"],
            "total_instructors": t["new_instructors"],
            "total_courses_published": t["courses_published"],
            "total_enrollments": t["new_enrollments"],
            "course_completion_rate": rate(t["completions"], t["new_enrollments"]),
            "avg_time_to_complete_hours": hours(t["completion_seconds"], t["completions"]),
            "lessons_completed": t["lessons_completed"],
            "daily_active_learners": await self.active_learners(PLATFORM, today),
            "weekly_active_learners": await self.active_learners(
                PLATFORM, today - timedelta(days=6)
            ),
        }

    async def trend(self, granularity: Literal["day", "week", "month"]) -> list[dict[str, Any]]:
        period = func.date_trunc(granularity, M.day)
        rows = await self.session.execute(
            select(
                period,
                func.sum(M.new_enrollments),
                func.sum(M.completions),
                func.sum(M.drops),
                func.sum(M.new_students + M.new_instructors),
                func.sum(M.lessons_completed),
            )
            .where(M.course_id == PLATFORM)
            .group_by(period)
            .order_by(period)
        )
        active = await self.active_by_period(granularity, PLATFORM)
        return [
            {
                "period": start.date().isoformat(),
                "new_enrollments": new,
                "completions": done,
                "drops": drops,
                "new_users": users,
                "lessons_completed": lessons,
                "active_learners": active.get(start.date(), 0),
            }
            for start, new, done, drops, users, lessons in rows
        ]

    async def active_by_period(self, granularity: str, course_id: int) -> dict[date, int]:
        period = func.date_trunc(granularity, ActiveLearner.day)
        rows = await self.session.execute(
            select(period, func.count(func.distinct(ActiveLearner.student_id)))
            .where(ActiveLearner.course_id == course_id)
            .group_by(period)
        )
        return {start.date(): count for start, count in rows}

    async def popular(self, limit: int) -> list[dict[str, Any]]:
        enrollments = func.sum(M.new_enrollments - M.drops)
        rows = await self.session.execute(
            select(Course.id, Course.title, enrollments)
            .join(M, M.course_id == Course.id)
            .where(Course.status == CourseStatus.PUBLISHED)
            .group_by(Course.id)
            .order_by(enrollments.desc(), Course.id)
            .limit(limit)
        )
        return [{"course_id": i, "title": t, "enrollments": int(n)} for i, t, n in rows]

    async def course(self, course_id: int) -> dict[str, Any]:
        t = await self.totals(course_id)
        total, done, dropped = t["new_enrollments"], t["completions"], t["drops"]
        return {
            "course_id": course_id,
            "enrollments": total,
            "active": max(0, total - done - dropped),
            "completed": done,
            "dropped": dropped,
            "completion_rate": rate(done, total),
            "avg_time_to_complete_hours": hours(t["completion_seconds"], done),
        }

    async def course_daily(self, course_id: int, since: date) -> list[dict[str, Any]]:
        """The course's counters per day from `since`, with that day's active learners."""
        rows = await self.session.execute(
            select(M.day, M.new_enrollments, M.completions, M.drops, M.lessons_completed)
            .where(M.course_id == course_id, M.day >= since)
            .order_by(M.day)
        )
        active = await self.active_by_period("day", course_id)
        return [
            {
                "day": day.isoformat(),
                "new_enrollments": new,
                "completions": done,
                "drops": drops,
                "lessons_completed": lessons,
                "active_learners": active.get(day, 0),
            }
            for day, new, done, drops, lessons in rows
        ]
