"""What callers send to shard actors: one input object per operation, routed by `placement`.

Course operations live in the course's shard, enrollment operations in the student's shard
(a lesson completion names a lesson, not an enrollment, and a student's enrollments are few,
so keying them by student routes every progress call without a lookup)."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Admit:
    course_id: int
    student_id: int


@dataclass(frozen=True, slots=True)
class FillSeats:
    """Seats freed by drops go to the head of the course's waitlist, in order."""

    course_id: int


@dataclass(frozen=True, slots=True)
class ReloadCourse:
    course_id: int


@dataclass(frozen=True, slots=True)
class Complete:
    student_id: int
    lesson_id: int


@dataclass(frozen=True, slots=True)
class SubmitQuiz:
    student_id: int
    lesson_id: int
    answers: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ReadProgress:
    student_id: int
    enrollment_id: int


@dataclass(frozen=True, slots=True)
class Drop:
    student_id: int
    enrollment_id: int


Op = Admit | FillSeats | ReloadCourse | Complete | SubmitQuiz | ReadProgress | Drop


def placement_key(op: Op) -> int:
    if isinstance(op, Admit | FillSeats | ReloadCourse):
        return op.course_id
    return op.student_id
