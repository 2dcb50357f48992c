"""The completion rule: every lesson done and the quiz average at the course's threshold."""

from dataclasses import replace

from core.progress import CourseStructure, completion_check, quiz_average

QUIZ = {"pass_score": 50, "questions": []}
MODULES = {10: (1, 2), 20: (3, 4)}
COURSE = CourseStructure(
    course_id=1, modules=MODULES, quizzes={3: QUIZ, 4: QUIZ}, pass_threshold=70
)
PLAIN = CourseStructure(course_id=2, modules={10: (1, 2)}, pass_threshold=100)


def test_lessons_left_keep_the_enrollment_active() -> None:
    check = completion_check(COURSE, {1, 2, 3}, {3: 100, 4: 100})
    assert not check.completed and check.reason == "lessons_remaining"


def test_a_quiz_average_below_the_threshold_keeps_it_active_with_the_average() -> None:
    check = completion_check(COURSE, {1, 2, 3, 4}, {3: 100, 4: 30})
    assert (check.completed, check.reason, check.quiz_average) == (
        False,
        "quiz_average_below_threshold",
        65.0,
    )


def test_the_average_at_the_threshold_completes() -> None:
    check = completion_check(COURSE, {1, 2, 3, 4}, {3: 100, 4: 40})
    assert check.completed and check.reason is None and check.quiz_average == 70.0


def test_an_untried_quiz_counts_zero() -> None:
    assert quiz_average(COURSE, {3: 100}) == 50.0


def test_a_course_without_quizzes_needs_only_its_lessons() -> None:
    assert completion_check(PLAIN, {1, 2}, {}).completed
    assert quiz_average(PLAIN, {}) is None


def test_a_threshold_of_zero_never_holds_back() -> None:
    assert completion_check(replace(COURSE, pass_threshold=0), {1, 2, 3, 4}, {}).completed
