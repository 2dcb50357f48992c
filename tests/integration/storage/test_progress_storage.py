"""The shards' progress storage in real PostgreSQL: the group commit (one statement stores every
table's rows of a batch, or none of them) and the activation read an entity is built from."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from benchmarks.population import seed_course, seed_students
from core.events import EventEnvelope
from core.progress import ProgressChange
from storage.db import Database
from storage.models.enrollment import Enrollment, LessonCompletion, QuizAttempt
from storage.models.outbox import OutboxEvent
from storage.repositories.enrollment import EnrollmentRepository
from storage.repositories.progress import write_progress

TRACE = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}


async def two_enrollments(db: Database) -> tuple[list[int], list[Enrollment]]:
    course_id, lessons = await seed_course(db, modules=1, lessons=2)
    students = await seed_students(db, course_id, 2)
    async with db.unit_of_work() as uow:
        enrollments = await uow.session.scalars(
            select(Enrollment).where(Enrollment.student_id.in_(students)).order_by(Enrollment.id)
        )
        return lessons, list(enrollments)


def progress_event(enrollment_id: int) -> EventEnvelope:
    return EventEnvelope(
        type="progress.updated",
        source="test",
        subject=f"enrollment:{enrollment_id}",
        data={"enrollment_id": enrollment_id},
    )


def attempt(
    enrollment: Enrollment,
    lesson_id: int,
    number: int,
    score: int = 0,
    answers: tuple[int, ...] = (),
) -> ProgressChange:
    """A failed quiz attempt (it completes nothing)."""
    quiz = {
        "lesson_id": lesson_id,
        "attempt": number,
        "score": score,
        "passed": False,
        "answers": list(answers),
    }
    return ProgressChange(enrollment.id, enrollment.student_id, datetime.now(UTC), 0.0, quiz=quiz)


async def store(
    db: Database, changes: list[ProgressChange], events: list[tuple[EventEnvelope, dict]]
) -> None:
    """One group commit, as the shards write it."""
    async with db.autocommit() as connection:
        await write_progress(connection, changes, events)


async def stored(db: Database, enrollment_ids: list[int], event_ids: list) -> dict[str, list]:
    async with db.unit_of_work() as uow:
        session = uow.session
        where = LessonCompletion.enrollment_id.in_(enrollment_ids)
        return {
            "completions": list(
                await session.execute(
                    select(LessonCompletion.enrollment_id, LessonCompletion.lesson_id).where(where)
                )
            ),
            "attempts": list(
                await session.execute(
                    select(QuizAttempt.enrollment_id, QuizAttempt.score, QuizAttempt.answers).where(
                        QuizAttempt.enrollment_id.in_(enrollment_ids)
                    )
                )
            ),
            "enrollments": list(
                await session.execute(
                    select(
                        Enrollment.id,
                        Enrollment.status,
                        Enrollment.completion_percentage,
                        Enrollment.completed_at,
                    )
                    .where(Enrollment.id.in_(enrollment_ids))
                    .order_by(Enrollment.id)
                )
            ),
            "outbox": list(
                await session.execute(
                    select(OutboxEvent.event_id, OutboxEvent.payload, OutboxEvent.trace_context)
                    .where(OutboxEvent.event_id.in_(event_ids))
                    .order_by(OutboxEvent.seq)
                )
            ),
        }


async def test_a_batch_stores_completions_attempts_progress_and_events_together(
    db: Database,
) -> None:
    lessons, (first, second) = await two_enrollments(db)
    at = datetime.now(UTC)
    changes = [
        ProgressChange(first.id, first.student_id, at, 50.0, lesson_id=lessons[0]),
        ProgressChange(first.id, first.student_id, at, 100.0, lessons[1], completed_course=True),
        ProgressChange(first.id, first.student_id, at, 100.0, lessons[1]),  # a retried twin
        attempt(second, lessons[0], 1, score=40, answers=(2,)),
    ]
    events = [(progress_event(first.id), TRACE), (progress_event(second.id), {})]
    await store(db, changes, events)

    rows = await stored(db, [first.id, second.id], [e.id for e, _ in events])
    assert sorted(rows["completions"]) == [(first.id, lessons[0]), (first.id, lessons[1])]
    assert rows["attempts"] == [(second.id, 40, [2])]
    assert rows["enrollments"] == [
        (first.id, "completed", 100.0, at),
        (second.id, "active", 0.0, None),
    ]
    assert [(p["id"], t) for _, p, t in rows["outbox"]] == [
        (str(events[0][0].id), TRACE),
        (str(events[1][0].id), None),
    ]


async def test_a_failing_row_stores_nothing_of_its_batch(db: Database) -> None:
    lessons, (first, _) = await two_enrollments(db)
    at = datetime.now(UTC)
    changes = [
        ProgressChange(first.id, first.student_id, at, 50.0, lesson_id=lessons[0]),
        ProgressChange(first.id, first.student_id, at, 100.0, lesson_id=-1),  # no such lesson
    ]
    event = progress_event(first.id)
    with pytest.raises(Exception, match="foreign key"):
        await store(db, changes, [(event, {})])

    rows = await stored(db, [first.id], [event.id])
    assert rows["completions"] == [] and rows["outbox"] == []
    assert rows["enrollments"] == [(first.id, "active", 0.0, None)]


async def test_activation_reads_completed_lessons_and_the_latest_attempt_and_best_score_per_quiz(
    db: Database,
) -> None:
    lessons, (first, second) = await two_enrollments(db)
    changes = [
        ProgressChange(first.id, first.student_id, datetime.now(UTC), 50.0, lesson_id=lessons[0]),
        attempt(first, lessons[1], 2, score=40),
        attempt(first, lessons[1], 1, score=80),
        attempt(first, lessons[0], 1),
    ]
    await store(db, changes, [])

    async with db.unit_of_work() as uow:
        repository = EnrollmentRepository(uow.session)
        (loaded,) = await repository.enrollments(first.student_id)
        (untouched,) = await repository.enrollments(second.student_id, second.course_id)
        elsewhere = await repository.enrollments(first.student_id, course_id=-1)
    assert (loaded.id, loaded.status, list(loaded.completed)) == (first.id, "active", [lessons[0]])
    assert (loaded.attempts(lessons[1]), loaded.attempts(lessons[0])) == (2, 1)
    assert loaded.best_scores == {lessons[1]: 80, lessons[0]: 0}
    assert (untouched.id, list(untouched.completed), untouched.best_scores) == (second.id, [], {})
    assert elsewhere == []
