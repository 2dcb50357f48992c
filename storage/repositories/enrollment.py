"""Enrollments in PostgreSQL: what the shard actors load entities from, and the seat, waitlist
and status changes of admission and drop. The group commit of progress is in
storage/repositories/progress.py."""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ScalarSelect, Select, func, select, text, update
from sqlalchemy.dialects.postgresql import aggregate_order_by, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from core.enrollments import CourseState, EnrollmentState, enrollment_state
from core.progress import COMPLETES_FROM, CourseStructure
from core.status import CourseStatus, EnrollmentStatus
from storage.models.course import Course, CoursePrerequisite, Lesson, Module
from storage.models.enrollment import Enrollment, LessonCompletion, QuizAttempt


@dataclass(frozen=True, slots=True)
class InactiveEnrollment:
    id: int
    student_id: int
    course_id: int
    completion_percentage: float | None


ENROLLMENT_STATE_COLUMNS = (
    Enrollment.id,
    Enrollment.student_id,
    Enrollment.course_id,
    Enrollment.status,
    Enrollment.enrolled_at,
    Enrollment.completed_at,
    Enrollment.last_accessed_at,
    Enrollment.certificate_id,
)


def new_state(row: Enrollment) -> EnrollmentState:
    """The state of an enrollment just admitted or promoted: nothing completed or accessed."""
    columns = (row.id, row.student_id, row.course_id, row.status, row.enrolled_at)
    return enrollment_state((*columns, None, None, None), (), ())


def per_enrollment(
    column: InstrumentedAttribute,
    enrollment_id: InstrumentedAttribute,
    order: InstrumentedAttribute,
) -> ScalarSelect:
    """`column` of the enrollment's rows of its table as one array, NULL when there are none;
    arrays of one table in the same `order` pair up."""
    return (
        select(func.array_agg(aggregate_order_by(column, order)))
        .where(enrollment_id == Enrollment.id)
        .scalar_subquery()
    )


class EnrollmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def course_state(self, course_id: int) -> CourseState | None:
        course = await self.session.get(Course, course_id)
        if course is None:
            return None
        modules = await self.session.scalars(
            select(Module.id)
            .where(Module.course_id == course_id, Module.deleted_at.is_(None))
            .order_by(Module.position, Module.id)
        )
        lessons = (
            await self.session.execute(
                select(Lesson.id, Lesson.module_id, Lesson.quiz)
                .where(Lesson.course_id == course_id, Lesson.deleted_at.is_(None))
                .order_by(Lesson.position, Lesson.id)
            )
        ).all()
        structure = CourseStructure(
            course_id=course_id,
            modules={m: tuple(x.id for x in lessons if x.module_id == m) for m in modules},
            quizzes={x.id: x.quiz for x in lessons if x.quiz is not None},
            pass_threshold=course.pass_threshold,
        )
        prerequisites = await self.session.scalars(
            select(CoursePrerequisite.prerequisite_id).where(
                CoursePrerequisite.course_id == course_id
            )
        )
        return CourseState(
            status=course.status,
            instructor_id=course.instructor_id,
            enrollment_limit=course.enrollment_limit,
            enrolled_count=course.enrolled_count,
            prerequisite_ids=tuple(prerequisites),
            structure=structure,
            waitlist=course.waitlist,
        )

    async def get(self, enrollment_id: int) -> Enrollment | None:
        return await self.session.get(Enrollment, enrollment_id)

    async def enrolled_at(self, enrollment_ids: Collection[int]) -> dict[int, datetime]:
        """When each of these enrollments was made (one that does not exist is left out)."""
        if not enrollment_ids:
            return {}
        rows = await self.session.execute(
            select(Enrollment.id, Enrollment.enrolled_at).where(Enrollment.id.in_(enrollment_ids))
        )
        return {enrollment_id: at for enrollment_id, at in rows}

    async def students_studying(self, course_id: int) -> set[int]:
        """The students of the course's pending and active enrollments."""
        students = await self.session.scalars(
            select(Enrollment.student_id).where(
                Enrollment.course_id == course_id,
                Enrollment.status.in_([EnrollmentStatus.PENDING, EnrollmentStatus.ACTIVE]),
            )
        )
        return set(students)

    async def inactive(self, since: datetime) -> list[InactiveEnrollment]:
        """The active enrollments that have seen no progress since `since`."""
        rows = await self.session.execute(
            select(
                Enrollment.id,
                Enrollment.student_id,
                Enrollment.course_id,
                Enrollment.completion_percentage,
            ).where(
                Enrollment.status == EnrollmentStatus.ACTIVE, Enrollment.last_accessed_at < since
            )
        )
        return [InactiveEnrollment(*row) for row in rows]

    async def start_progress(self, enrollment_id: int, at: datetime) -> None:
        """Progress at 0 and the first access at `at`, unless progress was started before."""
        await self.session.execute(
            update(Enrollment)
            .where(Enrollment.id == enrollment_id, Enrollment.last_accessed_at.is_(None))
            .values(completion_percentage=0, last_accessed_at=at)
        )

    async def course_of_lesson(self, lesson_id: int) -> int | None:
        return await self.session.scalar(
            select(Lesson.course_id).where(Lesson.id == lesson_id, Lesson.deleted_at.is_(None))
        )

    async def enrollments(
        self, student_id: int, course_id: int | None = None
    ) -> list[EnrollmentState]:
        """The student's enrollments with their completed lessons, quiz attempts and best quiz
        scores, read in one statement (so from one snapshot, and in one round trip)."""
        statement = select(
            *ENROLLMENT_STATE_COLUMNS,
            per_enrollment(
                LessonCompletion.lesson_id,
                LessonCompletion.enrollment_id,
                LessonCompletion.lesson_id,
            ).label("completed"),
            per_enrollment(QuizAttempt.lesson_id, QuizAttempt.enrollment_id, QuizAttempt.id).label(
                "quiz_lessons"
            ),
            per_enrollment(QuizAttempt.attempt, QuizAttempt.enrollment_id, QuizAttempt.id).label(
                "quiz_attempts"
            ),
            per_enrollment(QuizAttempt.score, QuizAttempt.enrollment_id, QuizAttempt.id).label(
                "quiz_scores"
            ),
        ).where(Enrollment.student_id == student_id)
        if course_id is not None:
            statement = statement.where(Enrollment.course_id == course_id)
        return [
            enrollment_state(
                row[: len(ENROLLMENT_STATE_COLUMNS)],
                row.completed or (),
                zip(
                    row.quiz_lessons or (),
                    row.quiz_attempts or (),
                    row.quiz_scores or (),
                    strict=True,
                ),
            )
            for row in await self.session.execute(statement)
        ]

    async def for_student(
        self, student_id: int, offset: int, limit: int
    ) -> tuple[list[Enrollment], int]:
        """One page of the student's enrollments, newest first, and how many there are."""
        where = Enrollment.student_id == student_id
        total = await self.session.scalar(select(func.count()).select_from(Enrollment).where(where))
        rows = await self.session.scalars(
            select(Enrollment)
            .where(where)
            .order_by(Enrollment.enrolled_at.desc(), Enrollment.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return list(rows), total or 0

    async def completed_courses(self, student_id: int, course_ids: Sequence[int]) -> set[int]:
        rows = await self.session.scalars(
            select(Enrollment.course_id).where(
                Enrollment.student_id == student_id,
                Enrollment.course_id.in_(course_ids),
                Enrollment.status == EnrollmentStatus.COMPLETED,
            )
        )
        return set(rows)

    async def seats_taken(self, course_id: int) -> int:
        return (
            await self.session.scalar(select(Course.enrolled_count).where(Course.id == course_id))
            or 0
        )

    async def take_seat(self, course_id: int) -> int | None:
        """One seat, only while the course is published and not full (the database decides):
        the seats taken with it, or None when there was none to take."""
        return await self.session.scalar(
            update(Course)
            .where(
                Course.id == course_id,
                Course.status == CourseStatus.PUBLISHED,
                (Course.enrollment_limit.is_(None))
                | (Course.enrolled_count < Course.enrollment_limit),
            )
            .values(enrolled_count=Course.enrolled_count + 1)
            .returning(Course.enrolled_count)
        )

    async def free_seat(self, course_id: int) -> None:
        await self.session.execute(
            update(Course)
            .where(Course.id == course_id, Course.enrolled_count > 0)
            .values(enrolled_count=Course.enrolled_count - 1)
        )

    async def insert(
        self,
        student_id: int,
        course_id: int,
        at: datetime,
        status: EnrollmentStatus = EnrollmentStatus.PENDING,
    ) -> EnrollmentState | None:
        """The new enrollment (pending, or waitlisted), or None when the student already has one
        for the course."""
        statement = (
            insert(Enrollment)
            .values(student_id=student_id, course_id=course_id, status=status, enrolled_at=at)
            .on_conflict_do_nothing(constraint="uq_enrollments_student_course")
            .returning(Enrollment)
        )
        row = (await self.session.scalars(statement)).one_or_none()
        return None if row is None else new_state(row)

    async def set_status(
        self, enrollment_id: int, from_statuses: Sequence[str], to_status: str, **values
    ) -> bool:
        result = await self.session.execute(
            update(Enrollment)
            .where(Enrollment.id == enrollment_id, Enrollment.status.in_(from_statuses))
            .values(status=to_status, **values)
        )
        return result.rowcount == 1

    # The waitlist: enrollments in status `waitlisted`, in the order they came (their ids, given
    # one at a time in the course entity's turn).

    def waitlisted(self, course_id: int) -> Select:
        return select(Enrollment).where(
            Enrollment.course_id == course_id, Enrollment.status == EnrollmentStatus.WAITLISTED
        )

    async def waiting(self, course_id: int) -> int:
        count = select(func.count()).select_from(self.waitlisted(course_id).subquery())
        return await self.session.scalar(count) or 0

    async def position(self, course_id: int, enrollment_id: int) -> int:
        """Where a waitlisted enrollment stands (1 is the head)."""
        ahead = self.waitlisted(course_id).where(Enrollment.id <= enrollment_id)
        return await self.session.scalar(select(func.count()).select_from(ahead.subquery())) or 0

    async def promote_head(
        self, course_id: int, at: datetime
    ) -> tuple[EnrollmentState, int] | None:
        """The head of the waitlist takes a seat and becomes pending: it and the seats taken with
        it, or None when nobody waits or no seat is left. The head's row stays locked until the
        commit, so a drop of it at the same time waits and then finds it pending."""
        head = await self.session.scalar(
            self.waitlisted(course_id).order_by(Enrollment.id).limit(1).with_for_update()
        )
        if head is None:
            return None
        taken = await self.take_seat(course_id)
        if taken is None:
            return None
        head.status, head.enrolled_at = EnrollmentStatus.PENDING, at
        await self.session.flush()
        return new_state(head), taken

    async def waitlist_page(
        self, course_id: int, page: int, page_size: int
    ) -> tuple[list[Enrollment], int]:
        """One page of the queue, head first, and its length."""
        queue = self.waitlisted(course_id)
        total = await self.session.scalar(select(func.count()).select_from(queue.subquery()))
        rows = await self.session.scalars(
            queue.order_by(Enrollment.id).offset((page - 1) * page_size).limit(page_size)
        )
        return list(rows), total or 0


# Percentages over the course's live lessons, as `core.progress.percentage` computes them:
# completions of removed lessons stay in their table and do not count.
RECOMPUTE_PERCENTAGES = text(
    """
    WITH live AS (
        SELECT id FROM lessons WHERE course_id = :course_id AND deleted_at IS NULL
    ), done AS (
        SELECT lc.enrollment_id, count(*) AS n FROM lesson_completions lc
        JOIN enrollments e ON e.id = lc.enrollment_id AND e.course_id = :course_id
        WHERE lc.lesson_id IN (SELECT id FROM live)
        GROUP BY lc.enrollment_id
    )
    UPDATE enrollments AS e SET completion_percentage = CASE
        WHEN (SELECT count(*) FROM live) = 0 THEN 0
        ELSE CAST(round(100.0 * coalesce(done.n, 0) / (SELECT count(*) FROM live), 2) AS FLOAT8)
    END
    FROM enrollments AS x LEFT JOIN done ON done.enrollment_id = x.id
    WHERE e.id = x.id AND x.course_id = :course_id
    RETURNING e.id
    """
)


async def recompute_percentages(session: AsyncSession, course_id: int) -> list[int]:
    """Every enrollment's percentage over the course's current structure; their ids."""
    return list(await session.scalars(RECOMPUTE_PERCENTAGES, {"course_id": course_id}))


# After a revision: an enrollment brought to 100% by it (a lesson it lacked removed) completes
# as the shards would complete it (core.progress.completion_check): every live lesson done and
# the mean best score over the live quizzes (an untried one counts 0) at the course's threshold.
# A lesson without a quiz may hold JSON null in `quiz`, hence jsonb_typeof.
COMPLETE_FINISHED = text(
    """
    WITH quizzes AS (
        SELECT id FROM lessons
        WHERE course_id = :course_id AND deleted_at IS NULL AND jsonb_typeof(quiz) = 'object'
    ), best AS (
        SELECT qa.enrollment_id, qa.lesson_id, max(qa.score) AS score FROM quiz_attempts qa
        JOIN enrollments e ON e.id = qa.enrollment_id AND e.course_id = :course_id
        WHERE qa.lesson_id IN (SELECT id FROM quizzes)
        GROUP BY qa.enrollment_id, qa.lesson_id
    ), average AS (
        SELECT enrollment_id,
               round(CAST(sum(score) AS numeric) / (SELECT count(*) FROM quizzes), 2) AS value
        FROM best GROUP BY enrollment_id
    )
    UPDATE enrollments AS e SET status = :completed, completed_at = :at
    FROM courses AS c
    WHERE c.id = e.course_id AND e.course_id = :course_id
      AND e.status = ANY(:completes_from) AND e.completion_percentage = 100
      AND ((SELECT count(*) FROM quizzes) = 0
           OR coalesce((SELECT a.value FROM average a WHERE a.enrollment_id = e.id), 0)
              >= c.pass_threshold)
    RETURNING e.id, e.student_id
    """
)


async def complete_finished(
    session: AsyncSession, course_id: int, at: datetime
) -> list[tuple[int, int]]:
    """Complete the course's enrollments that a revision left finished; their (id, student)."""
    parameters = {
        "course_id": course_id,
        "at": at,
        "completed": EnrollmentStatus.COMPLETED,
        "completes_from": list(COMPLETES_FROM),
    }
    return [tuple(row) for row in await session.execute(COMPLETE_FINISHED, parameters)]
