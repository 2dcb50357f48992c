"""Enrollments: the state an entity holds, who is admitted to a course (`admission`), and what
enrollment and progress calls accept and answer."""

from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.errors import Conflict
from core.pages import Page
from core.progress import CourseStructure, ProgressView
from core.status import CourseStatus, EnrollmentStatus
from core.text import RowId, StrictInt64


@dataclass(slots=True)
class EnrollmentState:
    """An enrollment as its entity holds it, compact so a million active ones fit in a GB of
    shard memory (benchmarks/entity_memory.py): slots, the completed lessons as one machine-int
    array, and the quizzes tried as another, `lesson, attempts, best score` per quiz."""

    id: int
    student_id: int
    course_id: int
    status: str
    enrolled_at: datetime
    completed_at: datetime | None
    last_accessed_at: datetime | None
    certificate_id: int | None
    completed: array = field(default_factory=lambda: array("q"))
    quizzes: array = field(default_factory=lambda: array("q"))

    def complete(self, lesson_id: int) -> None:
        if lesson_id not in self.completed:
            self.completed.append(lesson_id)

    def record_attempt(self, lesson_id: int, attempt: int, score: int) -> None:
        for at in range(0, len(self.quizzes), 3):
            if self.quizzes[at] == lesson_id:
                self.quizzes[at + 1] = max(self.quizzes[at + 1], attempt)
                self.quizzes[at + 2] = max(self.quizzes[at + 2], score)
                return
        self.quizzes.extend((lesson_id, attempt, score))

    def attempts(self, lesson_id: int) -> int:
        """How many attempts at the quiz `lesson_id` are stored."""
        tried = self.quizzes
        return next((tried[x + 1] for x in range(0, len(tried), 3) if tried[x] == lesson_id), 0)

    @property
    def best_scores(self) -> dict[int, int]:
        """A new dict, `lesson -> best score`, of the quizzes tried."""
        tried = self.quizzes
        return {tried[x]: tried[x + 2] for x in range(0, len(tried), 3)}


def enrollment_state(
    columns: Sequence[Any],
    completed: Iterable[int],
    attempts: Iterable[tuple[int, int, int]],
) -> EnrollmentState:
    """An entity's state from its stored row: the enrollment's columns (in EnrollmentState's
    order, status as stored), its completed lessons and its attempts `(lesson, number, score)`."""
    best: dict[int, tuple[int, int]] = {}
    for lesson_id, attempt, score in attempts:
        taken, top = best.get(lesson_id, (0, 0))
        best[lesson_id] = (max(taken, attempt), max(top, score))
    tried = array("q", [x for lesson_id, pair in best.items() for x in (lesson_id, *pair)])
    state = EnrollmentState(*columns, array("q", sorted(set(completed))), tried)
    state.status = EnrollmentStatus(state.status)  # one shared object, not a string per row
    return state


@dataclass(frozen=True)
class CourseState:
    """A course as its entity holds it: what admission and progress need."""

    status: str
    instructor_id: int
    enrollment_limit: int | None
    enrolled_count: int
    prerequisite_ids: tuple[int, ...]
    structure: CourseStructure
    waitlist: bool = False


@dataclass(frozen=True, slots=True)
class Seats:
    """The course's side of an admission: its rules and how many hold or wait for a seat."""

    status: str
    prerequisite_ids: tuple[int, ...]
    limit: int | None
    taken: int
    waitlist: bool
    waiting: int

    @property
    def free(self) -> int | None:
        """Seats left, None when unlimited."""
        return None if self.limit is None else max(0, self.limit - self.taken)


@dataclass(frozen=True, slots=True)
class Admitted:
    """Takes a seat now (then the enrollment workflow sets it up)."""


@dataclass(frozen=True, slots=True)
class Waitlisted:
    position: int


@dataclass(frozen=True, slots=True)
class Refused:
    reason: str
    details: dict | None = None

    def error(self) -> Conflict:
        return Conflict(self.reason, self.details)


Admission = Admitted | Waitlisted | Refused


def admission(course: Seats, completed_courses: frozenset[int] | set[int]) -> Admission:
    """Whether a student with `completed_courses` (their history) gets a seat in `course`: only
    a published course, only with every prerequisite completed; a seat while one is free and
    nobody waits for it, else a place at the end of the waitlist if the course keeps one."""
    if course.status != CourseStatus.PUBLISHED:
        return Refused(f"The course is {course.status}; it takes no enrollments")
    missing = set(course.prerequisite_ids) - set(completed_courses)
    if missing:
        return Refused(
            "Complete the prerequisite courses first",
            {"missing_prerequisite_ids": sorted(missing)},
        )
    # Those waiting come first: a newcomer never takes a seat freed for the head of the queue.
    if course.waiting == 0 and (course.free is None or course.free > 0):
        return Admitted()
    if course.waitlist:
        return Waitlisted(position=course.waiting + 1)
    return Refused("The course is full")


def promotions(course: Seats) -> int:
    """How many at the head of the waitlist a published course admits now (its free seats)."""
    if course.status != CourseStatus.PUBLISHED:
        return 0
    free = course.waiting if course.free is None else course.free
    return min(free, course.waiting)


class EnrollmentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    course_id: RowId


class QuizSubmission(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    answers: list[StrictInt64] = Field(max_length=100)


class EnrollmentView(BaseModel):
    id: int
    student_id: int
    course_id: int
    status: EnrollmentStatus
    enrolled_at: datetime
    completed_at: datetime | None
    certificate_id: int | None
    progress: ProgressView | None = None


EnrollmentList = Page[EnrollmentView]


class EnrollmentAccepted(BaseModel):
    enrollment_id: int
    status: str
    # None while waitlisted: the enrollment workflow starts when a seat is given.
    workflow_id: str | None
    position: int | None = None


class WaitlistEntry(BaseModel):
    enrollment_id: int
    student_id: int
    position: int
    since: datetime


class WaitlistPage(BaseModel):
    items: list[WaitlistEntry]
    page: int
    page_size: int
    total: int


class PageQuery(BaseModel):
    page: int = Field(default=1, ge=1, le=10_000)
    page_size: int = Field(default=20, ge=1, le=100)


class QuizOutcome(BaseModel):
    """The score of an attempt, never which answers were right (core/quizzes.py)."""

    score: int
    passed: bool
    attempt: int
    attempts_left: int
    progress: ProgressView
