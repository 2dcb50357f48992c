"""The drop-off lesson per course: for enrollments that did not complete (every status but
`completed`), the first lesson in course order (module position, lesson position) they have
not completed; per course, the lesson where most of them stopped (ties: the earlier lesson).
Enrollments that did every lesson without being completed have no drop-off lesson."""

import logging
from collections.abc import Callable

import pandas as pd
import pyarrow as pa
import ray.data
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from ray.data.aggregate import Count

from core.status import EnrollmentStatus
from jobs.outline import Outline, load_outline
from jobs.report import JobResult
from jobs.sizing import Stages
from jobs.source import Source

log = logging.getLogger(__name__)
MARKS = pa.schema(
    [("enrollment_id", pa.int64()), ("course_id", pa.int64()), ("lesson_id", pa.int64())]
)


def open_marks(batch: pa.Table) -> pa.Table:
    """A mark per open (not completed) enrollment: its id and course, no lesson."""
    frame = batch.to_pandas()
    frame = frame[frame.status != EnrollmentStatus.COMPLETED]
    return pa.table(
        [
            pa.array(frame.id, pa.int64()),
            pa.array(frame.course_id, pa.int64()),
            pa.nulls(len(frame), pa.int64()),
        ],
        schema=MARKS,
    )


def done_marks(batch: pa.Table) -> pa.Table:
    """A mark per completion: its enrollment and lesson, no course."""
    ids = batch["enrollment_id"]
    return pa.table([ids, pa.nulls(len(ids), pa.int64()), batch["lesson_id"]], schema=MARKS)


def stops(batch: pd.DataFrame, steps: pd.DataFrame) -> pd.DataFrame:
    """Every enrollment's rows are in this block (the repartition by key): per open
    enrollment, its course's lessons not done (`steps`: course_id, lesson_id, step), the first
    in course order. Vectorized, where a call per enrollment (map_groups) took hours at
    millions of them."""
    marks = batch[batch.course_id.notna()]
    opened = pd.DataFrame(
        {
            "enrollment_id": marks.enrollment_id.astype("int64"),
            "course_id": marks.course_id.astype("int64"),
        }
    )
    done = batch.loc[batch.lesson_id.notna(), ["enrollment_id", "lesson_id"]]
    done = done.astype("int64").assign(done=True)
    candidates = opened.merge(steps, on="course_id").merge(
        done, on=["enrollment_id", "lesson_id"], how="left"
    )
    missing = candidates[candidates.done.isna()].sort_values(["enrollment_id", "step"])
    first = missing.drop_duplicates("enrollment_id")
    return first[["course_id", "lesson_id"]].astype("int64")


def first_missing(
    enrollments: ray.data.Dataset, completions: ray.data.Dataset, outline: Outline
) -> pd.DataFrame:
    """(course_id, lesson_id, stuck): open enrollments per first lesson they have not done.

    The join of open enrollments to their completions is a union partitioned by enrollment:
    a row with a course marks an open enrollment, rows with a lesson are its completions."""
    steps = outline.lessons[["course_id", "lesson_id", "step"]]
    partitions = ray.data.DataContext.get_current().default_hash_shuffle_parallelism
    return (
        enrollments.map_batches(open_marks, batch_format="pyarrow")
        .union(completions.map_batches(done_marks, batch_format="pyarrow"))
        .repartition(partitions, keys=["enrollment_id"])
        .map_batches(stops, batch_format="pandas", batch_size=None, fn_kwargs={"steps": steps})
        .groupby(["course_id", "lesson_id"])
        .aggregate(Count(alias_name="stuck"))
        .to_pandas()
    )


def top_lessons(stuck: pd.DataFrame, outline: Outline, courses: pd.DataFrame) -> pd.DataFrame:
    """Per course, the lesson with the most stuck enrollments, and its share of the course's."""
    if stuck.empty:
        return pd.DataFrame(columns=["course_id", "course_title", "lesson_id", "stuck"])
    ranked = stuck.merge(outline.lessons, on=["course_id", "lesson_id"]).sort_values(
        ["course_id", "stuck", "step"], ascending=[True, False, True]
    )
    ranked["open_enrollments"] = ranked.groupby("course_id").stuck.transform("sum")
    top = ranked.drop_duplicates("course_id").copy()
    top["share"] = top.stuck / top.open_enrollments
    titles = courses.rename(columns={"id": "course_id", "title": "course_title"})
    top = top.merge(titles[["course_id", "course_title"]], on="course_id", how="left")
    columns = [
        "course_id",
        "course_title",
        "lesson_id",
        "lesson_title",
        "module_position",
        "lesson_position",
        "stuck",
        "open_enrollments",
        "share",
    ]
    return top.sort_values(["stuck", "course_id"], ascending=[False, True])[columns].reset_index(
        drop=True
    )


def chart(table: pd.DataFrame, courses: int = 15) -> Callable[[Figure], None]:
    """A bar per course, named by course and lesson (module.lesson position and title)."""

    def draw(figure: Figure) -> None:
        axes = figure.subplots()
        shown = table.head(courses).iloc[::-1]
        labels = [
            f"{row.course_title} / module {row.module_position}, lesson {row.lesson_position}: "
            f"{row.lesson_title}"[:64]
            for row in shown.itertuples(index=False)
        ]
        axes.barh(labels, shown.stuck if not shown.empty else [], color="tab:red")
        top = max(int(shown.stuck.max()), 1) if not shown.empty else 1
        for y, row in enumerate(shown.itertuples(index=False)):
            note = f"{row.stuck} of {row.open_enrollments} open ({row.share:.0%})"
            axes.text(row.stuck + top * 0.02, y, note, va="center", fontsize="small")
        axes.set_xlim(0, top * 1.35)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel("open enrollments whose first lesson not done is this one")
        axes.set_title(
            f"Drop-off lesson per course: where unfinished enrollments stop "
            f"({len(shown)} of {len(table)} courses, most stuck first)"
        )

    return draw


def run(source: Source, stages: Stages) -> JobResult:
    """The drop-off lesson of every course with an open enrollment that has one."""
    with stages.stage("read outlines"):
        outline = load_outline(source)
        courses = source.frame("courses")
    with stages.stage("find each open enrollment's first missing lesson"):
        stuck = first_missing(
            source.dataset("enrollments"), source.dataset("lesson_completions"), outline
        )
    table = top_lessons(stuck, outline, courses)
    total = int(stuck.stuck.sum()) if not stuck.empty else 0
    log.info("event=dropoff_counted courses=%d stuck_enrollments=%d", len(table), total)
    return JobResult(
        name="dropoff",
        title="Drop-off lesson per course",
        description=(__doc__ or "").strip(),
        table=table,
        chart=chart(table),
    )
