"""The instructor's view of a course's learners: the roster query and entry, and the gradebook's
columns and rows (one per enrollment; best score per quiz, % done per module). Pure: the
repository reads the facts, this module decides their shape."""

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from core.enrollments import EnrollmentStatus
from core.pages import Page, PageQuery

RosterSort = Literal["name", "progress", "last_active"]


class RosterQuery(PageQuery):
    status: EnrollmentStatus | None = None
    sort: RosterSort = "name"


class RosterEntry(BaseModel):
    enrollment_id: int
    student_id: int
    full_name: str
    status: EnrollmentStatus
    completion_percentage: float
    quiz_average: float | None
    last_accessed_at: datetime | None
    enrolled_at: datetime
    completed_at: datetime | None


RosterPage = Page[RosterEntry]


@dataclass(frozen=True, slots=True)
class GradebookColumns:
    """The course's live quizzes `(lesson_id, title)` and modules `(module_id, title, lessons)`,
    in course order."""

    quizzes: tuple[tuple[int, str], ...]
    modules: tuple[tuple[int, str, int], ...]


@dataclass(frozen=True, slots=True)
class GradebookRow:
    enrollment_id: int
    student_id: int
    full_name: str
    status: str
    completion_percentage: float
    best_scores: dict[int, int]
    lessons_done: dict[int, int]


FIXED_HEADER = ("enrollment_id", "student_id", "full_name", "status", "completion_percentage")


def header(columns: GradebookColumns) -> list[str]:
    quizzes = [f"quiz {lesson_id}: {title}" for lesson_id, title in columns.quizzes]
    modules = [f"module {module_id}: {title} (%)" for module_id, title, _ in columns.modules]
    return [*FIXED_HEADER, *quizzes, *modules]


def cells(row: GradebookRow, columns: GradebookColumns) -> list[object]:
    """A row's cells; a quiz never attempted is empty, a module without lessons is 0."""
    scores = [row.best_scores.get(lesson_id, "") for lesson_id, _ in columns.quizzes]
    done = [
        round(100.0 * row.lessons_done.get(module_id, 0) / total, 2) if total else 0.0
        for module_id, _, total in columns.modules
    ]
    fixed = [row.enrollment_id, row.student_id, row.full_name, row.status]
    return [*fixed, row.completion_percentage, *scores, *done]


def csv_text(lines: Iterable[list[object]]) -> str:
    """CSV lines as text. Cells starting with = + - @ are quoted with a leading apostrophe so a
    spreadsheet shows a learner's name instead of running it as a formula."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for line in lines:
        writer.writerow([defused(cell) for cell in line])
    return out.getvalue()


def defused(cell: object) -> object:
    if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@"):
        return "'" + cell
    return cell
