"""Progress arithmetic: pure functions over a course's structure (percentage, per-module
completion, whether the course is finished) and the change a completion makes. Quiz scoring is
in core/quizzes.py."""

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, Field

from core.status import ENROLLMENT_MOVES, EnrollmentStatus, sources


@dataclass(frozen=True)
class CourseStructure:
    """A published course's lessons per module, in order, its quiz keys, and the quiz average
    (0..100) a learner needs besides every lesson to complete it."""

    course_id: int
    modules: dict[int, tuple[int, ...]]
    quizzes: dict[int, dict] = field(default_factory=dict)
    pass_threshold: int = 0

    @property
    def lesson_count(self) -> int:
        return sum(len(lessons) for lessons in self.modules.values())

    def module_of(self, lesson_id: int) -> int | None:
        for module_id, lessons in self.modules.items():
            if lesson_id in lessons:
                return module_id
        return None


class ModuleProgress(BaseModel):
    module_id: int
    completed: bool
    completed_lessons: int
    total_lessons: int


class ProgressView(BaseModel):
    enrollment_id: int
    completion_percentage: float = Field(ge=0, le=100)
    completed_lessons: list[int]
    modules: list[ModuleProgress]
    last_accessed_at: str | None
    # The mean best quiz score (null for a course without quizzes), and why an enrollment whose
    # lessons are all done is not completed (`quiz_average_below_threshold`), else null.
    quiz_average: float | None = None
    blocked_by: str | None = None


def percentage(structure: CourseStructure, completed: Collection[int]) -> float:
    total = structure.lesson_count
    done = sum(1 for lessons in structure.modules.values() for x in lessons if x in completed)
    return round(100.0 * done / total, 2) if total else 0.0


def modules_progress(
    structure: CourseStructure, completed: Collection[int]
) -> list[ModuleProgress]:
    return [
        ModuleProgress(
            module_id=module_id,
            completed=bool(lessons) and all(x in completed for x in lessons),
            completed_lessons=sum(1 for x in lessons if x in completed),
            total_lessons=len(lessons),
        )
        for module_id, lessons in structure.modules.items()
    ]


def module_completed_by(structure: CourseStructure, before: set[int], lesson_id: int) -> int | None:
    """The module that completing `lesson_id` finishes, if it does."""
    module_id = structure.module_of(lesson_id)
    if module_id is None or lesson_id in before:
        return None
    after = before | {lesson_id}
    return module_id if all(x in after for x in structure.modules[module_id]) else None


def course_completed(structure: CourseStructure, completed: Collection[int]) -> bool:
    return structure.lesson_count > 0 and percentage(structure, completed) == 100.0


# "Completed when finished and active", in one place: the group commit's statement takes these
# statuses as a parameter, and the entities apply `completes_enrollment`.
COMPLETES_FROM: tuple[str, ...] = sources(ENROLLMENT_MOVES, EnrollmentStatus.COMPLETED)


def completes_enrollment(status: str, finished: bool) -> bool:
    """Whether finishing the course's lessons makes an enrollment in `status` completed."""
    return finished and status in COMPLETES_FROM


@dataclass(frozen=True)
class ProgressChange:
    """One acknowledged-after-commit change: a completion and/or a quiz attempt (`quiz` holds
    `lesson_id, attempt, score, passed, answers`)."""

    enrollment_id: int
    student_id: int
    at: datetime
    percentage: float
    lesson_id: int | None = None
    completed_course: bool = False
    quiz: dict | None = None


QUIZ_AVERAGE_BELOW_THRESHOLD = "quiz_average_below_threshold"


@dataclass(frozen=True, slots=True)
class CompletionCheck:
    """Whether an enrollment completes; when it does not, why (shown with the enrollment)."""

    completed: bool
    reason: str | None = None
    quiz_average: float | None = None


def quiz_average(structure: CourseStructure, best_scores: dict[int, int]) -> float | None:
    """The mean of the best score on every quiz of the course (an untried quiz counts 0);
    None for a course without quizzes."""
    if not structure.quizzes:
        return None
    scores = [best_scores.get(lesson_id, 0) for lesson_id in structure.quizzes]
    return round(sum(scores) / len(scores), 2)


def completion_check(
    structure: CourseStructure, completed: Collection[int], best_scores: dict[int, int]
) -> CompletionCheck:
    """The course completes when every lesson is done and the quiz average reaches the course's
    `pass_threshold`; a course without quizzes needs the lessons only."""
    average = quiz_average(structure, best_scores)
    if not course_completed(structure, completed):
        return CompletionCheck(False, "lessons_remaining", average)
    if average is not None and average < structure.pass_threshold:
        return CompletionCheck(False, QUIZ_AVERAGE_BELOW_THRESHOLD, average)
    return CompletionCheck(True, None, average)
