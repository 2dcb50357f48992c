"""Course outlines: every lesson with its course, module and place in the course's order.

Outlines are small (thousands of lessons, not millions of completions), so they are read to
the driver once and broadcast into the map tasks that need them.
"""

from dataclasses import dataclass

import pandas as pd

from jobs.source import Source


@dataclass(frozen=True)
class Outline:
    """`lessons` has one row per lesson, sorted by course, then course order: lesson_id,
    course_id, module_id, module_position, module_title, lesson_position, lesson_title,
    step (0-based place in its course)."""

    lessons: pd.DataFrame

    def module_sizes(self) -> dict[int, int]:
        """Lessons per module id."""
        return {int(k): int(v) for k, v in self.lessons.groupby("module_id").size().items()}

    def course_of(self) -> dict[int, int]:
        return dict(zip(self.lessons.lesson_id, self.lessons.course_id, strict=True))

    def module_of(self) -> dict[int, int]:
        return dict(zip(self.lessons.lesson_id, self.lessons.module_id, strict=True))

    def ordered_lessons(self) -> dict[int, list[int]]:
        """Each course's lesson ids in course order (module position, lesson position)."""
        return {
            int(course): [int(lesson) for lesson in group.lesson_id]
            for course, group in self.lessons.groupby("course_id", sort=False)
        }


def load_outline(source: Source) -> Outline:
    """The outline of every course; ties in position are broken by id, so order is stable."""
    modules = source.frame("modules").rename(
        columns={"id": "module_id", "title": "module_title", "position": "module_position"}
    )
    lessons = source.frame("lessons").rename(
        columns={"id": "lesson_id", "title": "lesson_title", "position": "lesson_position"}
    )
    joined = lessons.merge(
        modules[["module_id", "module_title", "module_position"]], on="module_id", how="inner"
    ).sort_values(["course_id", "module_position", "module_id", "lesson_position", "lesson_id"])
    joined["step"] = joined.groupby("course_id").cumcount()
    columns = [
        "lesson_id",
        "course_id",
        "module_id",
        "module_position",
        "module_title",
        "lesson_position",
        "lesson_title",
        "step",
    ]
    return Outline(joined[columns].reset_index(drop=True))
