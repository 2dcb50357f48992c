"""The instructor's reads of a course's learners: the roster (a sorted page) and the gradebook
(keyset pages of enrollment ids, so a course of any size is read in bounded memory)."""

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.roster import GradebookColumns, GradebookRow, RosterEntry, RosterQuery
from storage.models.course import Lesson, Module
from storage.models.enrollment import Enrollment, LessonCompletion, QuizAttempt
from storage.models.user import User

ROSTER_ORDER = {
    "name": (User.full_name.asc(), Enrollment.id.asc()),
    "progress": (Enrollment.completion_percentage.desc(), Enrollment.id.asc()),
    "last_active": (Enrollment.last_accessed_at.desc().nulls_last(), Enrollment.id.asc()),
}


class RosterRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def page(self, course_id: int, query: RosterQuery) -> tuple[list[RosterEntry], int]:
        filters = [Enrollment.course_id == course_id]
        if query.status is not None:
            filters.append(Enrollment.status == query.status)
        total = await self.session.scalar(
            select(func.count()).select_from(Enrollment).where(*filters)
        )
        rows = (
            await self.session.execute(
                select(Enrollment, User.full_name)
                .join(User, User.id == Enrollment.student_id)
                .where(*filters)
                .order_by(*ROSTER_ORDER[query.sort])
                .offset(query.offset)
                .limit(query.limit)
            )
        ).all()
        averages = await self.quiz_averages([e.id for e, _ in rows])
        entries = [
            RosterEntry(
                enrollment_id=e.id,
                student_id=e.student_id,
                full_name=name,
                status=e.status,
                completion_percentage=e.completion_percentage,
                quiz_average=averages.get(e.id),
                last_accessed_at=e.last_accessed_at,
                enrolled_at=e.enrolled_at,
                completed_at=e.completed_at,
            )
            for e, name in rows
        ]
        return entries, total or 0

    async def best_scores(self, enrollment_ids: Sequence[int]) -> dict[int, dict[int, int]]:
        """Each enrollment's best score per live quiz."""
        rows = await self.session.execute(
            select(QuizAttempt.enrollment_id, QuizAttempt.lesson_id, func.max(QuizAttempt.score))
            .join(Lesson, Lesson.id == QuizAttempt.lesson_id)
            .where(QuizAttempt.enrollment_id.in_(enrollment_ids), Lesson.deleted_at.is_(None))
            .group_by(QuizAttempt.enrollment_id, QuizAttempt.lesson_id)
        )
        found: dict[int, dict[int, int]] = {}
        for enrollment_id, lesson_id, best in rows:
            found.setdefault(enrollment_id, {})[lesson_id] = best
        return found

    async def quiz_averages(self, enrollment_ids: Sequence[int]) -> dict[int, float]:
        """The mean of each enrollment's best scores over the quizzes it attempted."""
        return {
            enrollment_id: round(sum(best.values()) / len(best), 2)
            for enrollment_id, best in (await self.best_scores(enrollment_ids)).items()
        }

    async def lessons_done(self, enrollment_ids: Sequence[int]) -> dict[int, dict[int, int]]:
        """Each enrollment's completed live lessons, counted per module."""
        rows = await self.session.execute(
            select(LessonCompletion.enrollment_id, Lesson.module_id, func.count())
            .join(Lesson, Lesson.id == LessonCompletion.lesson_id)
            .where(LessonCompletion.enrollment_id.in_(enrollment_ids), Lesson.deleted_at.is_(None))
            .group_by(LessonCompletion.enrollment_id, Lesson.module_id)
        )
        found: dict[int, dict[int, int]] = {}
        for enrollment_id, module_id, done in rows:
            found.setdefault(enrollment_id, {})[module_id] = done
        return found

    async def columns(self, course_id: int) -> GradebookColumns:
        modules = (
            await self.session.execute(
                select(Module.id, Module.title)
                .where(Module.course_id == course_id, Module.deleted_at.is_(None))
                .order_by(Module.position, Module.id)
            )
        ).all()
        lessons = (
            await self.session.execute(
                select(Lesson.id, Lesson.module_id, Lesson.title, Lesson.kind)
                .where(Lesson.course_id == course_id, Lesson.deleted_at.is_(None))
                .order_by(Lesson.position, Lesson.id)
            )
        ).all()
        order = {module_id: n for n, (module_id, _) in enumerate(modules)}
        quizzes = sorted(
            (x for x in lessons if x.kind == "quiz" and x.module_id in order),
            key=lambda x: order[x.module_id],
        )
        counts = {m: sum(1 for x in lessons if x.module_id == m) for m, _ in modules}
        return GradebookColumns(
            quizzes=tuple((x.id, x.title) for x in quizzes),
            modules=tuple((m, title, counts[m]) for m, title in modules),
        )

    async def gradebook_page(self, course_id: int, after_id: int, limit: int) -> list[GradebookRow]:
        """The next `limit` enrollments of the course after `after_id`, in id order."""
        rows = (
            await self.session.execute(
                select(
                    Enrollment.id,
                    Enrollment.student_id,
                    User.full_name,
                    Enrollment.status,
                    Enrollment.completion_percentage,
                )
                .join(User, User.id == Enrollment.student_id)
                .where(Enrollment.course_id == course_id, Enrollment.id > after_id)
                .order_by(Enrollment.id)
                .limit(limit)
            )
        ).all()
        ids = [row.id for row in rows]
        best, done = await self.best_scores(ids), await self.lessons_done(ids)
        return [
            GradebookRow(*row, best_scores=best.get(row.id, {}), lessons_done=done.get(row.id, {}))
            for row in rows
        ]
