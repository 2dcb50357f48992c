"""Progress arithmetic over a course structure (no server)."""

from core.progress import (
    CourseStructure,
    completes_enrollment,
    course_completed,
    module_completed_by,
    modules_progress,
    percentage,
)

# Two modules: 10, 11, 12 and 20, 21 (lesson ids).
COURSE = CourseStructure(course_id=1, modules={1: (10, 11, 12), 2: (20, 21)})


def test_percentage_is_the_share_of_lessons_done_rounded_to_cents() -> None:
    assert percentage(COURSE, set()) == 0.0
    assert percentage(COURSE, {10}) == 20.0
    assert percentage(COURSE, {10, 11, 20}) == 60.0
    assert percentage(CourseStructure(1, {1: (1, 2, 3)}), {1}) == 33.33


def test_lessons_of_other_courses_do_not_count() -> None:
    assert percentage(COURSE, {10, 99}) == 20.0


def test_an_empty_course_is_at_zero_and_never_completed() -> None:
    empty = CourseStructure(course_id=1, modules={})
    assert percentage(empty, set()) == 0.0
    assert course_completed(empty, set()) is False


def test_modules_progress_per_module() -> None:
    modules = modules_progress(COURSE, {10, 11, 12, 20})
    assert [(m.module_id, m.completed, m.completed_lessons, m.total_lessons) for m in modules] == [
        (1, True, 3, 3),
        (2, False, 1, 2),
    ]


def test_a_module_without_lessons_is_not_completed() -> None:
    structure = CourseStructure(course_id=1, modules={1: ()})
    assert modules_progress(structure, set())[0].completed is False


def test_the_lesson_that_finishes_a_module_names_it_once() -> None:
    assert module_completed_by(COURSE, {10, 11}, 12) == 1
    assert module_completed_by(COURSE, {10}, 12) is None
    # Completing it again finishes nothing new.
    assert module_completed_by(COURSE, {10, 11, 12}, 12) is None
    assert module_completed_by(COURSE, set(), 99) is None


def test_course_completed_only_with_every_lesson() -> None:
    assert course_completed(COURSE, {10, 11, 12, 20}) is False
    assert course_completed(COURSE, {10, 11, 12, 20, 21}) is True


def test_completed_when_finished_and_active() -> None:
    assert completes_enrollment("active", True) is True
    assert completes_enrollment("active", False) is False
    for status in ("pending", "waitlisted", "dropped", "completed"):
        assert completes_enrollment(status, True) is False
