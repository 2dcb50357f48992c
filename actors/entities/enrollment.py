"""A student's enrollment entities: completed lessons, quiz attempts, per-module completion,
percentage and last access of each enrollment, and the lessons whose commit is in flight.
What a completion or an attempt changes comes from core/progress.py and core/quizzes.py; this
module turns it into the change to commit and its events, and applies it once committed."""

import asyncio
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from core.enrollments import EnrollmentState
from core.events import (
    EnrollmentCompletedData,
    EnrollmentData,
    EventEnvelope,
    ModuleCompletedData,
    ProgressUpdatedData,
    make_event,
)
from core.progress import (
    QUIZ_AVERAGE_BELOW_THRESHOLD,
    CourseStructure,
    ProgressChange,
    ProgressView,
    completes_enrollment,
    completion_check,
    module_completed_by,
    modules_progress,
    percentage,
)
from core.quizzes import QuizResult, next_attempt
from core.status import EnrollmentStatus


@dataclass(slots=True)
class InFlight:
    """What a student has on its way to the database: the lessons whose commit is in flight
    (by enrollment, and each one's future by (enrollment, lesson)) and the numbers of the quiz
    attempts (by (enrollment, lesson))."""

    pending: dict[int, set[int]] = field(default_factory=dict)
    attempts: dict[tuple[int, int], list[int]] = field(default_factory=dict)
    commits: dict[tuple[int, int], asyncio.Future] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.pending or self.attempts or self.commits)


@dataclass(slots=True)
class StudentEntity:
    """A student's enrollments by course, and what is in flight for them: an `InFlight` only
    while a change is (most entities are idle, and three empty dicts cost ~190 bytes each)."""

    student_id: int
    by_course: dict[int, EnrollmentState] = field(default_factory=dict)
    flight: InFlight | None = None
    used: float = field(default_factory=time.monotonic)

    def by_id(self, enrollment_id: int) -> EnrollmentState | None:
        return next((e for e in self.by_course.values() if e.id == enrollment_id), None)

    @property
    def busy(self) -> bool:
        return self.flight is not None

    def in_flight(self) -> InFlight:
        if self.flight is None:
            self.flight = InFlight()
        return self.flight

    def settle(self) -> None:
        """Drop the in-flight record once nothing is in flight any more."""
        if self.flight is not None and self.flight.empty:
            self.flight = None

    def pending_lessons(self, enrollment_id: int) -> set[int]:
        """The enrollment's lessons whose commit is in flight (empty: none)."""
        return self.flight.pending.get(enrollment_id, set()) if self.flight else set()

    def commit_of(self, key: tuple[int, int]) -> asyncio.Future | None:
        """The commit in flight of lesson `key[1]` of enrollment `key[0]`, if any."""
        return self.flight.commits.get(key) if self.flight else None

    def begin_commit(self, key: tuple[int, int], done: asyncio.Future) -> None:
        flight = self.in_flight()
        flight.pending.setdefault(key[0], set()).add(key[1])
        flight.commits[key] = done

    def end_commit(self, key: tuple[int, int]) -> None:
        flight = self.in_flight()
        pending = flight.pending[key[0]]
        pending.discard(key[1])
        if not pending:
            del flight.pending[key[0]]
        del flight.commits[key]
        self.settle()

    def last_attempt_in_flight(self, key: tuple[int, int]) -> int:
        """The highest number of the attempts in flight at quiz `key[1]` (0: none)."""
        numbers = self.flight.attempts.get(key) if self.flight else None
        return max(numbers) if numbers else 0

    def begin_attempt(self, key: tuple[int, int], number: int) -> None:
        self.in_flight().attempts.setdefault(key, []).append(number)

    def end_attempt(self, key: tuple[int, int], number: int) -> None:
        attempts = self.in_flight().attempts
        attempts[key].remove(number)
        if not attempts[key]:
            del attempts[key]
        self.settle()

    def forget_enrollment(self, course_id: int) -> None:
        """Drop the enrollment in `course_id` unless a change to it is in flight; the next
        call re-reads it from PostgreSQL."""
        enrollment = self.by_course.get(course_id)
        if enrollment is None or self.pending_lessons(enrollment.id):
            return
        if self.flight and any(key[0] == enrollment.id for key in self.flight.attempts):
            return
        del self.by_course[course_id]

    def done_or_pending(self, enrollment: EnrollmentState) -> set[int]:
        """The lessons completed, committed or on their way: what the next change builds on."""
        return set(enrollment.completed) | self.pending_lessons(enrollment.id)

    def attempt_number(self, enrollment: EnrollmentState, lesson_id: int, limit: int) -> int:
        """The next attempt at the quiz after those stored and those in flight; Conflict past
        `limit`. An attempt is stored (applied) before its caller ends it, so it is counted by
        its number, once, not once stored and once more in flight."""
        in_flight = self.last_attempt_in_flight((enrollment.id, lesson_id))
        return next_attempt(max(enrollment.attempts(lesson_id), in_flight), limit)


def awaits_outside_change(enrollment: EnrollmentState) -> bool:
    """Waitlisted ones are admitted by the course, pending ones activated, and completed ones
    given their certificate, by others (course shard, workflows): re-read them."""
    return enrollment.status in (EnrollmentStatus.WAITLISTED, EnrollmentStatus.PENDING) or (
        enrollment.status == EnrollmentStatus.COMPLETED and enrollment.certificate_id is None
    )


def enrollment_view(enrollment: EnrollmentState) -> dict[str, Any]:
    return {
        "id": enrollment.id,
        "student_id": enrollment.student_id,
        "course_id": enrollment.course_id,
        "status": str(enrollment.status),
        "enrolled_at": enrollment.enrolled_at.isoformat(),
        "completed_at": enrollment.completed_at.isoformat() if enrollment.completed_at else None,
        "certificate_id": enrollment.certificate_id,
    }


def enrollment_event(kind: str, enrollment: EnrollmentState) -> EventEnvelope:
    data = EnrollmentData(
        enrollment_id=enrollment.id,
        student_id=enrollment.student_id,
        course_id=enrollment.course_id,
    )
    return make_event(f"enrollment.{kind}", str(enrollment.id), data, source="enrollments")


def progress_view(enrollment: EnrollmentState, structure: CourseStructure) -> dict:
    at = enrollment.last_accessed_at
    check = completion_check(structure, enrollment.completed, enrollment.best_scores)
    held_back = (
        enrollment.status != EnrollmentStatus.COMPLETED
        and check.reason == QUIZ_AVERAGE_BELOW_THRESHOLD
    )
    return ProgressView(
        enrollment_id=enrollment.id,
        completion_percentage=percentage(structure, enrollment.completed),
        completed_lessons=sorted(enrollment.completed),
        modules=modules_progress(structure, enrollment.completed),
        last_accessed_at=at.isoformat() if at else None,
        quiz_average=check.quiz_average,
        blocked_by=QUIZ_AVERAGE_BELOW_THRESHOLD if held_back else None,
    ).model_dump(mode="json")


def finishes(
    enrollment: EnrollmentState,
    structure: CourseStructure,
    after: set[int],
    best_scores: dict[int, int],
) -> bool:
    """Whether lessons `after` and quiz scores `best_scores` complete this enrollment now."""
    check = completion_check(structure, after, best_scores)
    return completes_enrollment(enrollment.status, check.completed)


def completion(
    enrollment: EnrollmentState,
    structure: CourseStructure,
    before: set[int],
    lesson_id: int,
    best_scores: dict[int, int] | None = None,
) -> tuple[ProgressChange, list[EventEnvelope]]:
    """The change and events of completing `lesson_id` after `before` (committed + in flight),
    with the quiz scores `best_scores` (the committed ones by default)."""
    after = before | {lesson_id}
    scores = enrollment.best_scores if best_scores is None else best_scores
    change = ProgressChange(
        enrollment_id=enrollment.id,
        student_id=enrollment.student_id,
        at=datetime.now(UTC),
        percentage=percentage(structure, after),
        lesson_id=lesson_id,
        completed_course=finishes(enrollment, structure, after, scores),
    )
    data = ProgressUpdatedData(
        **ids_of(enrollment), lesson_id=lesson_id, completion_percentage=change.percentage
    )
    events = [make_event("progress.updated", str(enrollment.id), data, source="progress")]
    module_id = module_completed_by(structure, before, lesson_id)
    if module_id is not None:
        data = ModuleCompletedData(**ids_of(enrollment), module_id=module_id)
        events.append(
            make_event("progress.module_completed", str(enrollment.id), data, source="progress")
        )
    return change, events + completed_events(enrollment, change)


def ids_of(enrollment: EnrollmentState) -> dict[str, int]:
    return {
        "enrollment_id": enrollment.id,
        "student_id": enrollment.student_id,
        "course_id": enrollment.course_id,
    }


def completed_events(enrollment: EnrollmentState, change: ProgressChange) -> list[EventEnvelope]:
    if not change.completed_course:
        return []
    data = EnrollmentCompletedData(**ids_of(enrollment), completed_at=change.at)
    return [make_event("enrollment.completed", str(enrollment.id), data, source="progress")]


def quiz_attempt(
    enrollment: EnrollmentState,
    structure: CourseStructure,
    before: set[int],
    attempt: tuple[int, int, tuple[int, ...]],
    result: QuizResult,
) -> tuple[ProgressChange, list[EventEnvelope]]:
    """The change and events of an attempt (`lesson_id, number, answers`): a passed quiz not
    yet done completes its lesson; any other attempt is stored and touches the enrollment."""
    lesson_id, number, answers = attempt
    record = {
        "lesson_id": lesson_id,
        "attempt": number,
        "score": result.score,
        "passed": result.passed,
        "answers": list(answers),
    }
    scores = enrollment.best_scores
    scores[lesson_id] = max(scores.get(lesson_id, 0), result.score)
    if result.passed and lesson_id not in before:
        change, events = completion(enrollment, structure, before, lesson_id, scores)
        return replace(change, quiz=record), events
    # A better score on a quiz whose lesson is done may lift the average to the threshold.
    change = ProgressChange(
        enrollment.id,
        enrollment.student_id,
        datetime.now(UTC),
        percentage(structure, before),
        quiz=record,
        completed_course=finishes(enrollment, structure, before, scores),
    )
    return change, completed_events(enrollment, change)


def apply(enrollment: EnrollmentState, change: ProgressChange) -> None:
    """A committed change, applied to the entity as the group commit stored it."""
    enrollment.last_accessed_at = change.at
    if change.lesson_id is not None and (change.quiz is None or change.quiz["passed"]):
        enrollment.complete(change.lesson_id)
    if change.quiz is not None:
        quiz = change.quiz
        enrollment.record_attempt(quiz["lesson_id"], quiz["attempt"], quiz["score"])
    if completes_enrollment(enrollment.status, change.completed_course):
        enrollment.status, enrollment.completed_at = EnrollmentStatus.COMPLETED, change.at
