"""The course and enrollment status machines (no server)."""

import pytest

from core.errors import Conflict
from core.status import (
    COURSE_MOVES,
    ENROLLMENT_MOVES,
    SEAT_HOLDING,
    CourseStatus,
    EnrollmentStatus,
    check_course_move,
    check_enrollment_move,
    sources,
)

E, C = EnrollmentStatus, CourseStatus


def test_statuses_are_their_stored_strings() -> None:
    assert [str(s) for s in E] == ["waitlisted", "pending", "active", "completed", "dropped"]
    assert [str(s) for s in C] == ["draft", "publishing", "published", "archived"]


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (E.WAITLISTED, E.PENDING),
        (E.WAITLISTED, E.DROPPED),
        (E.PENDING, E.ACTIVE),
        (E.PENDING, E.DROPPED),
        (E.ACTIVE, E.COMPLETED),
        (E.ACTIVE, E.DROPPED),
    ],
)
def test_allowed_enrollment_moves(current: E, target: E) -> None:
    check_enrollment_move(str(current), target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (E.WAITLISTED, E.ACTIVE),
        (E.WAITLISTED, E.COMPLETED),
        (E.PENDING, E.COMPLETED),
        (E.COMPLETED, E.DROPPED),
        (E.DROPPED, E.ACTIVE),
        (E.DROPPED, E.PENDING),
    ],
)
def test_forbidden_enrollment_moves(current: E, target: E) -> None:
    with pytest.raises(Conflict):
        check_enrollment_move(str(current), target)


def test_unknown_status_moves_nowhere() -> None:
    with pytest.raises(Conflict):
        check_enrollment_move("paused", E.ACTIVE)


def test_course_moves() -> None:
    check_course_move("draft", C.PUBLISHING)
    check_course_move("publishing", C.DRAFT)
    check_course_move("published", C.ARCHIVED)
    for current, target in ((C.PUBLISHED, C.DRAFT), (C.ARCHIVED, C.PUBLISHED)):
        with pytest.raises(Conflict):
            check_course_move(str(current), target)


def test_sources_feed_conditional_updates() -> None:
    assert sources(ENROLLMENT_MOVES, E.COMPLETED) == ("active",)
    assert sources(ENROLLMENT_MOVES, E.DROPPED) == ("active", "pending", "waitlisted")
    assert sources(COURSE_MOVES, C.ARCHIVED) == ("draft", "published")


def test_only_admitted_enrollments_hold_seats() -> None:
    assert {E.PENDING, E.ACTIVE, E.COMPLETED} == SEAT_HOLDING
