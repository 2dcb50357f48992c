"""The life cycles of a course and an enrollment: their statuses and the moves allowed between
them. Everything that changes a status (entities, repositories, workflows) asks here."""

from enum import StrEnum

from core.errors import Conflict


class CourseStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class EnrollmentStatus(StrEnum):
    WAITLISTED = "waitlisted"
    PENDING = "pending"
    ACTIVE = "active"
    COMPLETED = "completed"
    DROPPED = "dropped"


COURSE_MOVES: dict[CourseStatus, frozenset[CourseStatus]] = {
    CourseStatus.DRAFT: frozenset({CourseStatus.PUBLISHING, CourseStatus.ARCHIVED}),
    # A failed publish goes back to draft (the saga's compensation).
    CourseStatus.PUBLISHING: frozenset({CourseStatus.PUBLISHED, CourseStatus.DRAFT}),
    CourseStatus.PUBLISHED: frozenset({CourseStatus.ARCHIVED}),
    CourseStatus.ARCHIVED: frozenset(),
}

ENROLLMENT_MOVES: dict[EnrollmentStatus, frozenset[EnrollmentStatus]] = {
    # A freed seat admits the head of the waitlist into the usual setup (pending).
    EnrollmentStatus.WAITLISTED: frozenset({EnrollmentStatus.PENDING, EnrollmentStatus.DROPPED}),
    EnrollmentStatus.PENDING: frozenset({EnrollmentStatus.ACTIVE, EnrollmentStatus.DROPPED}),
    EnrollmentStatus.ACTIVE: frozenset({EnrollmentStatus.COMPLETED, EnrollmentStatus.DROPPED}),
    # A completed enrollment keeps its certificate; it is never dropped.
    EnrollmentStatus.COMPLETED: frozenset(),
    EnrollmentStatus.DROPPED: frozenset(),
}

# Statuses that hold one of the course's seats (`enrolled_count`).
SEAT_HOLDING = frozenset(
    {EnrollmentStatus.PENDING, EnrollmentStatus.ACTIVE, EnrollmentStatus.COMPLETED}
)


def sources(moves: dict, target: StrEnum) -> tuple[str, ...]:
    """Every status that may move to `target`, for a conditional `UPDATE … WHERE status IN`."""
    return tuple(sorted(str(s) for s, targets in moves.items() if target in targets))


def may_move(moves: dict, current: str, target: str) -> bool:
    # A StrEnum hashes and compares as its string, so plain strings look up directly.
    return target in moves.get(current, frozenset())


def check_enrollment_move(current: str, target: EnrollmentStatus) -> None:
    """Raise Conflict unless an enrollment in `current` may become `target`."""
    if not may_move(ENROLLMENT_MOVES, current, target):
        raise Conflict(f"A {current} enrollment cannot become {target}")


def check_course_move(current: str, target: CourseStatus) -> None:
    """Raise Conflict unless a course in `current` may become `target`."""
    if not may_move(COURSE_MOVES, current, target):
        raise Conflict(f"A {current} course cannot become {target}")
