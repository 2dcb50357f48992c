"""Instructor leaderboard: per instructor, published courses, enrollments and completions over
all their courses (any status), and the completion rate; ranked by completions, then
enrollments, then instructor id."""

import logging
from collections.abc import Callable

import pandas as pd
import ray.data
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from ray.data.aggregate import Count, Sum

from core.status import CourseStatus, EnrollmentStatus
from jobs.report import JobResult
from jobs.sizing import Stages
from jobs.source import Source

log = logging.getLogger(__name__)


def course_counts(enrollments: ray.data.Dataset) -> pd.DataFrame:
    """Per course: enrollments and completions."""

    def mark(batch: pd.DataFrame) -> pd.DataFrame:
        completed = (batch.status == EnrollmentStatus.COMPLETED).astype("int64")
        return pd.DataFrame({"course_id": batch.course_id, "is_completed": completed})

    counted = (
        enrollments.map_batches(mark, batch_format="pandas")
        .groupby("course_id")
        .aggregate(Count(alias_name="enrollments"), Sum("is_completed", alias_name="completions"))
        .to_pandas()
    )
    return (
        counted
        if not counted.empty
        else pd.DataFrame({"course_id": [], "enrollments": [], "completions": []}, dtype="int64")
    )


def instructors(users: ray.data.Dataset) -> pd.DataFrame:
    """Users with the instructor role (the student rows stay on the cluster)."""

    def keep(batch: pd.DataFrame) -> pd.DataFrame:
        return batch.loc[batch.role == "instructor", ["id", "full_name"]]

    return users.map_batches(keep, batch_format="pandas").to_pandas()


def rank(courses: pd.DataFrame, counts: pd.DataFrame, people: pd.DataFrame) -> pd.DataFrame:
    """One row per instructor (with or without courses), ranked from 1."""
    courses = courses.rename(columns={"id": "course_id"}).merge(counts, on="course_id", how="left")
    courses[CourseStatus.PUBLISHED] = (courses.status == CourseStatus.PUBLISHED).astype("int64")
    per = courses.groupby("instructor_id", as_index=False).agg(
        courses=("course_id", "count"),
        published_courses=("published", "sum"),
        enrollments=("enrollments", "sum"),
        completions=("completions", "sum"),
    )
    names = people.rename(columns={"id": "instructor_id", "full_name": "instructor_name"})
    table = names.merge(per, on="instructor_id", how="outer")
    for column in ("courses", "published_courses", "enrollments", "completions"):
        table[column] = table[column].fillna(0).astype("int64")
    table["completion_rate"] = (
        table.completions / table.enrollments.where(table.enrollments > 0)
    ).fillna(0.0)
    table = table.sort_values(
        ["completions", "enrollments", "instructor_id"], ascending=[False, False, True]
    ).reset_index(drop=True)
    table.insert(0, "rank", range(1, len(table) + 1))
    return table[
        [
            "rank",
            "instructor_id",
            "instructor_name",
            "published_courses",
            "courses",
            "enrollments",
            "completions",
            "completion_rate",
        ]
    ]


def draw_table(axes: Axes, shown: pd.DataFrame) -> None:
    axes.set_axis_off()
    cells = [
        [
            str(row.rank),
            str(row.instructor_name)[:24],
            str(row.published_courses),
            str(row.enrollments),
            str(row.completions),
            f"{row.completion_rate:.0%}",
        ]
        for row in shown.itertuples(index=False)
    ]
    header = ["#", "instructor", "published", "enrollments", "completions", "rate"]
    if cells:
        grid = axes.table(cellText=cells, colLabels=header, loc="upper center", cellLoc="left")
        grid.auto_set_font_size(False)
        grid.set_fontsize(9)
        grid.auto_set_column_width(list(range(len(header))))
    axes.set_title("Ranked by completions, then enrollments", fontsize="medium")


def chart(table: pd.DataFrame, top: int = 15) -> Callable[[Figure], None]:
    """The top instructors as a table beside a bar chart of enrollments and completions."""

    def draw(figure: Figure) -> None:
        left, right = figure.subplots(1, 2, width_ratios=(1.1, 1))
        shown = table.head(top)
        draw_table(left, shown)
        bars = shown.iloc[::-1]
        labels = [f"#{row.rank} {row.instructor_name}"[:30] for row in bars.itertuples()]
        right.barh(labels, bars.enrollments, label="enrollments", color="lightgray")
        right.barh(labels, bars.completions, label="completions", color="tab:green")
        right.set_xlabel("enrollments in the instructor's courses (any status)")
        right.set_title("Enrollments and completions", fontsize="medium")
        right.legend(loc="lower right")
        figure.suptitle(f"Instructor leaderboard, top {len(shown)} of {len(table)} instructors")

    return draw


def run(source: Source, stages: Stages) -> JobResult:
    """The leaderboard of every instructor."""
    with stages.stage("count enrollments per course"):
        counts = course_counts(source.dataset("enrollments"))
    with stages.stage("read courses and instructors"):
        courses, people = source.frame("courses"), instructors(source.dataset("users"))
    table = rank(courses, counts, people)
    log.info(
        "event=leaderboard_counted instructors=%d enrollments=%d completions=%d",
        len(table),
        int(table.enrollments.sum()),
        int(table.completions.sum()),
    )
    return JobResult(
        name="leaderboard",
        title="Instructor leaderboard",
        description=(__doc__ or "").strip(),
        table=table,
        chart=chart(table),
    )
