"""Hours from enrollment to completion, per course: count, mean, p50, p90, min and max over
completed enrollments (quantiles interpolate linearly), with a histogram of all courses."""

import logging
from collections.abc import Callable

import numpy as np
import pandas as pd
import ray.data
from matplotlib.figure import Figure
from ray.data.aggregate import Count, Max, Mean, Min, Quantile

from core.status import EnrollmentStatus
from jobs.report import JobResult
from jobs.sizing import Stages
from jobs.source import Source

log = logging.getLogger(__name__)
BINS = 20


def completion_hours(enrollments: ray.data.Dataset) -> ray.data.Dataset:
    """Rows (course_id, hours) of the completed enrollments that carry both timestamps."""

    def hours(batch: pd.DataFrame) -> pd.DataFrame:
        done = batch[(batch.status == EnrollmentStatus.COMPLETED) & batch.completed_at.notna()]
        elapsed = (done.completed_at - done.enrolled_at).dt.total_seconds() / 3600
        return pd.DataFrame({"course_id": done.course_id, "hours": elapsed.astype("float64")})

    return enrollments.map_batches(hours, batch_format="pandas")


def per_course(hours: ray.data.Dataset) -> pd.DataFrame:
    return (
        hours.groupby("course_id")
        .aggregate(
            Count(alias_name="completed"),
            Mean("hours", alias_name="mean_hours"),
            Quantile("hours", q=0.5, alias_name="p50_hours"),
            Quantile("hours", q=0.9, alias_name="p90_hours"),
            Min("hours", alias_name="min_hours"),
            Max("hours", alias_name="max_hours"),
        )
        .to_pandas()
    )


def histogram(hours: ray.data.Dataset, top: float) -> tuple[np.ndarray, np.ndarray]:
    """Counts in BINS equal bins over [0, top], counted in the map tasks; (counts, edges)."""
    edges = np.linspace(0.0, max(top, 1.0), BINS + 1)

    def bin_of(batch: pd.DataFrame) -> pd.DataFrame:
        index = np.clip(np.searchsorted(edges, batch.hours, side="right") - 1, 0, BINS - 1)
        return pd.DataFrame({"bin": index.astype("int64")})

    binned = (
        hours.map_batches(bin_of, batch_format="pandas")
        .groupby("bin")
        .aggregate(Count(alias_name="n"))
        .to_pandas()
    )
    counts = np.zeros(BINS, dtype=np.int64)
    counts[binned["bin"].to_numpy(dtype=np.int64)] = binned["n"].to_numpy()
    return counts, edges


def chart(counts: np.ndarray, edges: np.ndarray, courses: int) -> Callable[[Figure], None]:
    def draw(figure: Figure) -> None:
        axes = figure.subplots()
        axes.bar(edges[:-1], counts, width=np.diff(edges), align="edge", edgecolor="black")
        axes.set_xlabel(f"hours from enrollment to completion ({edges[1] - edges[0]:.1f} h bins)")
        axes.set_ylabel("completed enrollments")
        axes.set_title(
            f"Time to complete: {int(counts.sum())} completed enrollments in {courses} courses"
        )

    return draw


def run(source: Source, stages: Stages) -> JobResult:
    """The statistics of every course with at least one completion."""
    with stages.stage("read courses"):
        courses = source.frame("courses")
    with stages.stage("hours to complete per enrollment"):
        hours = completion_hours(source.dataset("enrollments")).materialize()
    with stages.stage("statistics per course"):
        stats = per_course(hours)
    with stages.stage("histogram"):
        if stats.empty:
            stats = pd.DataFrame(columns=["course_id", "completed", "mean_hours", "p50_hours"])
            counts, edges = np.zeros(BINS, dtype=np.int64), np.linspace(0.0, 1.0, BINS + 1)
        else:
            counts, edges = histogram(hours, float(stats.max_hours.max()))
    titles = courses.rename(columns={"id": "course_id", "title": "course_title"})
    table = (
        stats.merge(titles[["course_id", "course_title"]], on="course_id", how="left")
        .sort_values(["completed", "course_id"], ascending=[False, True])
        .reset_index(drop=True)
    )
    table = table[["course_id", "course_title", *(c for c in stats if c != "course_id")]]
    log.info("event=time_to_complete_counted courses=%d completions=%d", len(table), counts.sum())
    return JobResult(
        name="time_to_complete",
        title="Time to complete per course",
        description=(__doc__ or "").strip(),
        table=table,
        chart=chart(counts, edges, len(table)),
    )
