"""Enrollments, lesson completions and quiz attempts in PostgreSQL: what the shard actors load
entities from and group-commit progress to."""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ScalarSelect, func, select, text, update
from sqlalchemy.dialects.postgresql import aggregate_order_by, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from core.events import EventEnvelope
from core.progress import CourseStructure
from storage.models.course import Course, CoursePrerequisite, Lesson, Module
from storage.models.enrollment import Enrollment, LessonCompletion, QuizAttempt
from storage.outbox import outbox_row


@dataclass
class EnrollmentState:
    """An enrollment as its entity holds it."""

    id: int
    student_id: int
    course_id: int
    status: str
    enrolled_at: datetime
    completed_at: datetime | None
    last_accessed_at: datetime | None
    certificate_id: int | None
    completed: set[int] = field(default_factory=set)
    attempts: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class CourseState:
    status: str
    instructor_id: int
    enrollment_limit: int | None
    enrolled_count: int
    prerequisite_ids: tuple[int, ...]
    structure: CourseStructure


@dataclass(frozen=True)
class ProgressChange:
    """One acknowledged-after-commit change: a completion and/or a quiz attempt."""

    enrollment_id: int
    student_id: int
    at: datetime
    percentage: float
    lesson_id: int | None = None
    completed_course: bool = False
    quiz: dict | None = None


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
        )

    async def course_of_lesson(self, lesson_id: int) -> int | None:
        return await self.session.scalar(
            select(Lesson.course_id).where(Lesson.id == lesson_id, Lesson.deleted_at.is_(None))
        )

    async def enrollments(
        self, student_id: int, course_id: int | None = None
    ) -> list[EnrollmentState]:
        """The student's enrollments with their completed lessons and quiz attempts, read in one
        statement (so from one snapshot, and in one round trip)."""
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
        ).where(Enrollment.student_id == student_id)
        if course_id is not None:
            statement = statement.where(Enrollment.course_id == course_id)
        states = []
        for row in await self.session.execute(statement):
            state = EnrollmentState(*row[: len(ENROLLMENT_STATE_COLUMNS)])
            state.completed.update(row.completed or ())
            for lesson_id, attempt in zip(
                row.quiz_lessons or (), row.quiz_attempts or (), strict=True
            ):
                state.attempts[lesson_id] = max(state.attempts.get(lesson_id, 0), attempt)
            states.append(state)
        return states

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
                Enrollment.status == "completed",
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
                Course.status == "published",
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

    async def insert(self, student_id: int, course_id: int, at: datetime) -> Enrollment | None:
        """The new pending enrollment, or None when the student already has one for the course."""
        statement = (
            insert(Enrollment)
            .values(student_id=student_id, course_id=course_id, status="pending", enrolled_at=at)
            .on_conflict_do_nothing(constraint="uq_enrollments_student_course")
            .returning(Enrollment)
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def set_status(
        self, enrollment_id: int, from_statuses: Sequence[str], to_status: str, **values
    ) -> bool:
        result = await self.session.execute(
            update(Enrollment)
            .where(Enrollment.id == enrollment_id, Enrollment.status.in_(from_statuses))
            .values(status=to_status, **values)
        )
        return result.rowcount == 1


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


# A group commit is one statement, so on an autocommit connection it is one round trip and one
# transaction: completions, quiz attempts, the enrollments' progress and the outbox rows are
# stored together or not at all. Each table's rows travel as one array per column.
GROUP_COMMIT = text(
    """
    WITH completions AS (
        INSERT INTO lesson_completions (enrollment_id, lesson_id, completed_at)
        SELECT * FROM unnest(
            CAST(:c_enrollment AS BIGINT[]), CAST(:c_lesson AS BIGINT[]),
            CAST(:c_at AS TIMESTAMPTZ[])
        )
        ON CONFLICT DO NOTHING
    ), attempts AS (
        INSERT INTO quiz_attempts
            (enrollment_id, lesson_id, attempt, score, passed, answers, submitted_at)
        SELECT enrollment, lesson, attempt, score, passed, CAST(answers AS JSONB), at
        FROM unnest(
            CAST(:q_enrollment AS BIGINT[]), CAST(:q_lesson AS BIGINT[]),
            CAST(:q_attempt AS INTEGER[]), CAST(:q_score AS INTEGER[]),
            CAST(:q_passed AS BOOLEAN[]), CAST(:q_answers AS TEXT[]),
            CAST(:q_at AS TIMESTAMPTZ[])
        ) AS q(enrollment, lesson, attempt, score, passed, answers, at)
    ), progress AS (
        UPDATE enrollments AS e SET
            completion_percentage = u.percentage,
            last_accessed_at = u.at,
            status = CASE WHEN u.finished AND e.status = 'active'
                THEN 'completed' ELSE e.status END,
            completed_at = CASE WHEN u.finished AND e.status = 'active'
                THEN u.at ELSE e.completed_at END
        FROM unnest(
            CAST(:e_id AS BIGINT[]), CAST(:e_percentage AS FLOAT8[]),
            CAST(:e_at AS TIMESTAMPTZ[]), CAST(:e_finished AS BOOLEAN[])
        ) AS u(id, percentage, at, finished)
        WHERE e.id = u.id
    )
    INSERT INTO outbox (event_id, event_type, topic, key, payload, trace_context)
    SELECT id, type, topic, key, CAST(payload AS JSONB), CAST(trace AS JSONB)
    FROM unnest(
        CAST(:o_id AS UUID[]), CAST(:o_type AS TEXT[]), CAST(:o_topic AS TEXT[]),
        CAST(:o_key AS TEXT[]), CAST(:o_payload AS TEXT[]), CAST(:o_trace AS TEXT[])
    ) AS o(id, type, topic, key, payload, trace)
    """
)


def group_commit_parameters(
    changes: Sequence[ProgressChange], events: Sequence[tuple[EventEnvelope, dict[str, str]]]
) -> dict[str, list]:
    """The columns of every row a group commit writes. An enrollment gets one progress row, from
    its latest change, and is finished when any of its changes completed the course."""
    completions = [c for c in changes if c.lesson_id is not None]
    attempts = [c for c in changes if c.quiz]
    latest = {c.enrollment_id: c for c in changes}
    finished = {c.enrollment_id for c in changes if c.completed_course}
    outbox = [outbox_row(event, trace) for event, trace in events]
    return {
        "c_enrollment": [c.enrollment_id for c in completions],
        "c_lesson": [c.lesson_id for c in completions],
        "c_at": [c.at for c in completions],
        "q_enrollment": [c.enrollment_id for c in attempts],
        "q_lesson": [c.quiz["lesson_id"] for c in attempts],
        "q_attempt": [c.quiz["attempt"] for c in attempts],
        "q_score": [c.quiz["score"] for c in attempts],
        "q_passed": [c.quiz["passed"] for c in attempts],
        "q_answers": [json.dumps(c.quiz["answers"]) for c in attempts],
        "q_at": [c.at for c in attempts],
        "e_id": list(latest),
        "e_percentage": [c.percentage for c in latest.values()],
        "e_at": [c.at for c in latest.values()],
        "e_finished": [enrollment_id in finished for enrollment_id in latest],
        "o_id": [row["event_id"] for row in outbox],
        "o_type": [row["event_type"] for row in outbox],
        "o_topic": [row["topic"] for row in outbox],
        "o_key": [row["key"] for row in outbox],
        "o_payload": [json.dumps(row["payload"]) for row in outbox],
        "o_trace": [json.dumps(t) if (t := row["trace_context"]) else None for row in outbox],
    }


async def write_progress(
    connection: AsyncConnection,
    changes: Sequence[ProgressChange],
    events: Sequence[tuple[EventEnvelope, dict[str, str]]],
) -> None:
    """Store a group commit and its outbox events; on an autocommit connection (`Database.
    autocommit`) they are durable when this returns."""
    await connection.execute(GROUP_COMMIT, group_commit_parameters(changes, events))
