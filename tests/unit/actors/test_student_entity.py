"""The enrollment entity's rules without a server: attempts in flight count against the limit,
and a committed change is applied as the group commit stored it."""

from datetime import UTC, datetime

import pytest

from actors.entities.enrollment import (
    StudentEntity,
    apply,
    completion,
    progress_view,
    quiz_attempt,
)
from core.enrollments import EnrollmentState
from core.errors import Conflict
from core.progress import CourseStructure, ProgressChange
from core.quizzes import QuizResult

COURSE = CourseStructure(course_id=1, modules={1: (10, 11)}, quizzes={11: {}})


def enrollment(status: str = "active") -> EnrollmentState:
    return EnrollmentState(7, 3, 1, status, datetime.now(UTC), None, None, None)


def test_attempts_in_flight_count_against_the_limit() -> None:
    student, state = StudentEntity(3), enrollment()
    state.record_attempt(11, 1, 0)
    student.begin_attempt((state.id, 11), 2)
    assert student.attempt_number(state, 11, 3) == 3
    student.begin_attempt((state.id, 11), 3)
    with pytest.raises(Conflict):
        student.attempt_number(state, 11, 3)
    student.end_attempt((state.id, 11), 2)
    student.end_attempt((state.id, 11), 3)
    assert not student.busy and student.flight is None


def test_an_attempt_stored_but_not_yet_answered_counts_once() -> None:
    # Between the group commit applying an attempt and its caller being answered (the Redis
    # snapshot is awaited in between), the attempt is both stored and in flight.
    student, state = StudentEntity(3), enrollment()
    for number in (1, 2):
        student.begin_attempt((state.id, 11), student.attempt_number(state, 11, 3))
        state.record_attempt(11, number, 0)
    assert student.attempt_number(state, 11, 3) == 3
    student.begin_attempt((state.id, 11), 3)
    with pytest.raises(Conflict):
        student.attempt_number(state, 11, 3)


def test_a_passed_quiz_completes_its_lesson_and_a_failed_one_only_records() -> None:
    state = enrollment()
    passed, events = quiz_attempt(state, COURSE, {10}, (11, 1, (0,)), QuizResult(100, True))
    assert passed.lesson_id == 11 and passed.completed_course and passed.quiz["passed"]
    assert [e.type for e in events] == [
        "progress.updated",
        "progress.module_completed",
        "enrollment.completed",
    ]
    failed, events = quiz_attempt(state, COURSE, {10}, (11, 2, (1,)), QuizResult(0, False))
    assert failed.lesson_id is None and failed.percentage == 50.0 and events == []


def test_applying_a_finishing_change_completes_only_an_active_enrollment() -> None:
    at = datetime.now(UTC)
    for status, expected in (("active", "completed"), ("pending", "pending")):
        state = enrollment(status)
        apply(state, ProgressChange(7, 3, at, 100.0, lesson_id=11, completed_course=True))
        assert state.status == expected and 11 in state.completed


GRADED = CourseStructure(
    course_id=1, modules={1: (10, 11, 12)}, quizzes={11: {}, 12: {}}, pass_threshold=70
)


def test_the_last_lesson_does_not_complete_below_the_quiz_threshold() -> None:
    state = enrollment()
    state.completed.extend((11, 12))
    state.quizzes.extend((11, 1, 100, 12, 1, 20))
    change, events = completion(state, GRADED, {11, 12}, 10)
    assert not change.completed_course
    assert "enrollment.completed" not in [e.type for e in events]
    apply(state, change)
    view = progress_view(state, GRADED)
    assert view["completion_percentage"] == 100.0 and view["quiz_average"] == 60.0
    assert view["blocked_by"] == "quiz_average_below_threshold" and state.status == "active"


def test_a_better_score_on_a_done_quiz_lifts_the_average_and_completes() -> None:
    state = enrollment()
    state.completed.extend((10, 11, 12))
    state.quizzes.extend((11, 1, 100, 12, 1, 20))
    change, events = quiz_attempt(state, GRADED, {10, 11, 12}, (12, 2, (0,)), QuizResult(60, True))
    assert change.completed_course and change.lesson_id is None
    assert [e.type for e in events] == ["enrollment.completed"]
    apply(state, change)
    assert state.status == "completed" and state.best_scores[12] == 60
    assert progress_view(state, GRADED)["blocked_by"] is None


def test_a_completed_enrollment_emits_no_second_completion() -> None:
    state = enrollment("completed")
    change, events = completion(state, GRADED, {11, 12}, 10, {11: 100, 12: 100})
    assert not change.completed_course and "enrollment.completed" not in [e.type for e in events]
