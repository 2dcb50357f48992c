"""Quiz scoring and the attempt limit (no server)."""

import pytest

from core.errors import Conflict, ValidationFailed
from core.quizzes import QuizResult, next_attempt, score_quiz


def quiz(keys: list[int], pass_score: int) -> dict:
    questions = [{"prompt": "?", "choices": ["a", "b", "c"], "answer_index": k} for k in keys]
    return {"pass_score": pass_score, "questions": questions}


def test_score_is_the_rounded_share_of_right_answers() -> None:
    assert score_quiz(quiz([0, 1, 2], 50), [0, 1, 2]) == QuizResult(100, True)
    assert score_quiz(quiz([0, 1, 2], 50), [0, 0, 0]) == QuizResult(33, False)
    assert score_quiz(quiz([0, 1, 2], 50), [0, 1, 0]) == QuizResult(67, True)


def test_passing_is_at_or_above_the_pass_score() -> None:
    assert score_quiz(quiz([0, 1], 50), [0, 0]).passed is True
    assert score_quiz(quiz([0, 1], 51), [0, 0]).passed is False


def test_every_question_must_be_answered() -> None:
    with pytest.raises(ValidationFailed):
        score_quiz(quiz([0, 1], 50), [0])
    with pytest.raises(ValidationFailed):
        score_quiz(quiz([0, 1], 50), [0, 1, 1])


def test_the_result_tells_the_score_not_the_key() -> None:
    result = score_quiz(quiz([0, 1], 50), [0, 0])
    assert set(result.__slots__) == {"score", "passed"}


def test_attempts_are_numbered_up_to_the_limit() -> None:
    assert [next_attempt(taken, 3) for taken in range(3)] == [1, 2, 3]


def test_past_the_limit_is_a_conflict() -> None:
    with pytest.raises(Conflict) as raised:
        next_attempt(3, 3)
    assert raised.value.status == 409
