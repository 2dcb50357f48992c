"""Quiz scoring and the attempt limit: pure rules over a quiz's key. A result tells the score
and whether it passed, never which answers were right (that would leak the key)."""

from dataclasses import dataclass

from core.errors import Conflict, ValidationFailed


@dataclass(frozen=True, slots=True)
class QuizResult:
    score: int
    passed: bool


def score_quiz(quiz: dict, answers: list[int]) -> QuizResult:
    """Score 0..100: the share of questions answered with their key; passed at `pass_score`."""
    questions = quiz["questions"]
    if len(answers) != len(questions):
        raise ValidationFailed(
            "Answer every question",
            [{"field": "answers", "message": f"expected {len(questions)} answers"}],
        )
    right = sum(1 for q, a in zip(questions, answers, strict=True) if q["answer_index"] == a)
    score = round(100 * right / len(questions)) if questions else 0
    return QuizResult(score=score, passed=score >= quiz["pass_score"])


def next_attempt(taken: int, max_attempts: int) -> int:
    """The number of the next attempt after `taken` ones (stored or in flight); Conflict once
    the limit is used up, so repeated tries cannot map out the key."""
    if taken >= max_attempts:
        raise Conflict(
            "No attempts left for this quiz",
            {"attempts": taken, "max_attempts": max_attempts},
        )
    return taken + 1
