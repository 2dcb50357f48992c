"""Completion funnel per course and module: enrolled → started (≥1 lesson) → completed module
1 … k (every lesson of that module done) → completed the course (status `completed`).

Every enrollment row counts as enrolled, whatever its status. Module completion is counted
from lesson completions against the outline, so a module counts even when later ones do not.
"""

import logging
from collections.abc import Callable

import pandas as pd
import ray.data
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from ray.data.aggregate import Count, Sum

from core.status import EnrollmentStatus
from jobs.outline import Outline, load_outline
from jobs.report import JobResult, wrapped
from jobs.sizing import Stages
from jobs.source import Source

log = logging.getLogger(__name__)


def per_module(completions: ray.data.Dataset, outline: Outline) -> ray.data.Dataset:
    """(enrollment_id, course_id, module_id, done, complete): each enrollment's completed
    lessons per module, and whether that is all of the module's lessons."""
    course_of, module_of, sizes = outline.course_of(), outline.module_of(), outline.module_sizes()

    def attach(batch: pd.DataFrame) -> pd.DataFrame:
        batch = batch[batch.lesson_id.isin(module_of)]
        return pd.DataFrame(
            {
                "enrollment_id": batch.enrollment_id,
                "course_id": batch.lesson_id.map(course_of).astype("int64"),
                "module_id": batch.lesson_id.map(module_of).astype("int64"),
            }
        )

    def flag(batch: pd.DataFrame) -> pd.DataFrame:
        batch["complete"] = batch["done"] == batch.module_id.map(sizes)
        return batch

    return (
        completions.map_batches(attach, batch_format="pandas")
        .groupby(["enrollment_id", "course_id", "module_id"])
        .aggregate(Count(alias_name="done"))
        .map_batches(flag, batch_format="pandas")
        .materialize()
    )


def module_progress(
    completions: ray.data.Dataset, outline: Outline
) -> tuple[dict[int, int], dict[int, int]]:
    """Enrollments that started each course (≥1 lesson) and that completed each module."""
    modules = per_module(completions, outline)
    started = (
        modules.groupby(["course_id", "enrollment_id"])
        .count()
        .groupby("course_id")
        .aggregate(Count(alias_name="n"))
        .to_pandas()
    )
    finished = (
        modules.map_batches(completed_only, batch_format="pandas")
        .groupby("module_id")
        .aggregate(Count(alias_name="n"))
        .to_pandas()
    )
    return counts(started, "course_id"), counts(finished, "module_id")


def completed_only(batch: pd.DataFrame) -> pd.DataFrame:
    """The completed modules' rows (a batch at a time: a row filter calls Python per row)."""
    return batch[batch.complete.astype(bool)]


def counts(frame: pd.DataFrame, key: str) -> dict[int, int]:
    if frame.empty:
        return {}
    return {int(k): int(n) for k, n in zip(frame[key], frame.n, strict=True)}


def course_totals(enrollments: ray.data.Dataset) -> pd.DataFrame:
    """Per course: enrollments and completed enrollments."""

    def mark(batch: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "course_id": batch.course_id,
                "is_completed": (batch.status == EnrollmentStatus.COMPLETED).astype("int64"),
            }
        )

    return (
        enrollments.map_batches(mark, batch_format="pandas")
        .groupby("course_id")
        .aggregate(Count(alias_name="enrolled"), Sum("is_completed", alias_name="completed"))
        .to_pandas()
    )


def funnel_rows(
    totals: pd.DataFrame,
    started: dict[int, int],
    finished: dict[int, int],
    outline: Outline,
    titles: dict[int, str],
) -> pd.DataFrame:
    """The long table: one row per course and step, in funnel order."""
    modules = outline.lessons.drop_duplicates("module_id")
    rows: list[dict[str, object]] = []
    for course in totals.sort_values("course_id").itertuples(index=False):
        steps: list[tuple[str, int | None, int]] = [
            ("enrolled", None, int(course.enrolled)),
            ("started", None, int(started.get(course.course_id, 0))),
        ]
        for module in modules[modules.course_id == course.course_id].itertuples(index=False):
            label = f"module {module.module_position}: {module.module_title}"
            steps.append((label, int(module.module_id), int(finished.get(module.module_id, 0))))
        steps.append(("completed", None, int(course.completed)))
        for step, (stage, module_id, count) in enumerate(steps):
            rows.append(
                {
                    "course_id": int(course.course_id),
                    "course_title": titles.get(course.course_id, ""),
                    "step": step,
                    "stage": stage,
                    "module_id": module_id,
                    "count": count,
                    "share_of_enrolled": count / course.enrolled if course.enrolled else 0.0,
                }
            )
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame["module_id"] = frame.module_id.astype("Int64")
    return frame


def draw_course(axes: Axes, rows: pd.DataFrame, title: str) -> None:
    """One course's funnel: a horizontal bar per stage, top to bottom, with counts and shares."""
    positions = range(len(rows))
    colors = ["tab:blue", "tab:cyan", *["tab:olive"] * (len(rows) - 3), "tab:green"]
    axes.barh(positions, rows["count"], color=colors[: len(rows)])
    axes.set_yticks(list(positions), [wrapped(stage, 24) for stage in rows.stage])
    axes.invert_yaxis()
    top = max(int(rows["count"].max()), 1)
    for y, (count, share) in enumerate(zip(rows["count"], rows.share_of_enrolled, strict=True)):
        axes.text(count + top * 0.02, y, f"{count} ({share:.0%})", va="center", fontsize="small")
    axes.set_xlim(0, top * 1.3)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("enrollments reaching the stage")
    axes.set_title(wrapped(title, 45), fontsize="medium")


def chart(table: pd.DataFrame, courses: int = 4) -> Callable[[Figure], None]:
    """The funnel of each of the largest few courses, a panel each, stages named."""

    def draw(figure: Figure) -> None:
        if table.empty:
            figure.subplots().set_title("Completion funnel: no enrollments")
            return
        enrolled = table[table.stage == "enrolled"].nlargest(courses, "count")
        columns = 1 if len(enrolled) == 1 else 2
        grid = figure.subplots((len(enrolled) + columns - 1) // columns, columns, squeeze=False)
        for axes in grid.flat[len(enrolled) :]:
            axes.set_axis_off()
        for axes, course in zip(grid.flat, enrolled.itertuples(index=False), strict=False):
            rows = table[table.course_id == course.course_id].sort_values("step")
            name = f"{course.course_title} (course {course.course_id}), {course.count} enrolled"
            draw_course(axes, rows, name)
        figure.suptitle(
            f"Completion funnel: enrollments reaching each stage, {len(enrolled)} largest "
            f"of {table.course_id.nunique()} courses"
        )

    return draw


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """One row per course: enrolled, started, modules completed in order, completed."""
    rows = []
    for (course_id, title), steps in table.groupby(["course_id", "course_title"], sort=True):
        modules = steps[steps.module_id.notna()]
        by_stage = dict(zip(steps.stage, steps["count"], strict=True))
        rows.append(
            {
                "course_id": course_id,
                "course_title": title,
                "enrolled": by_stage["enrolled"],
                "started": by_stage["started"],
                "modules completed (in order)": " → ".join(map(str, modules["count"])),
                "completed": by_stage["completed"],
                "completion %": 100 * steps.share_of_enrolled.iloc[-1],
            }
        )
    return pd.DataFrame(rows)


def run(source: Source, stages: Stages) -> JobResult:
    """The funnel of every course with at least one enrollment."""
    with stages.stage("read outlines"):
        outline = load_outline(source)
        courses = source.frame("courses")
    titles = dict(zip(courses.id, courses.title, strict=True))
    with stages.stage("count enrollments per course"):
        totals = course_totals(source.dataset("enrollments"))
    with stages.stage("count module completions"):
        started, finished = module_progress(source.dataset("lesson_completions"), outline)
    log.info(
        "event=funnel_counted courses=%d enrollments=%d started=%d module_completions=%d",
        len(totals),
        int(totals.enrolled.sum()) if not totals.empty else 0,
        sum(started.values()),
        sum(finished.values()),
    )
    table = funnel_rows(totals, started, finished, outline, titles)
    return JobResult(
        name="funnel",
        title="Completion funnel per course and module",
        description=(__doc__ or "").strip(),
        table=table,
        chart=chart(table),
        summary=summarize(table) if not table.empty else table,
    )
