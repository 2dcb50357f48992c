"""Enrollments and lesson completions rebuilt from an archive of domain events, so the
`funnel` and `time_to_complete` jobs can run on exported events instead of the database.

The archive is a folder of JSON-lines files (`*.jsonl`, `*.json`), one event envelope
({id, type, version, source, time, subject, data}) a line. An enrollment exists when its
`enrollment.created` event is in the archive (enrolled_at is that event's time); its status is
`completed` after `enrollment.completed` (completed_at from the event's data), else `dropped`
after `enrollment.dropped`, else `active`. Each `progress.updated` is a lesson completion.
Redelivered events (same id) count once; malformed lines and other types are skipped. Course
structure (modules, lessons, titles) still comes from the fallback source.
"""

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import ray.data

from core.errors import ValidationFailed
from core.events import EVENT_DATA, parse_event
from core.settings import Settings
from jobs.source import ID, TABLES, TEXT, TIME, Source

KEPT = ("enrollment.created", "enrollment.completed", "enrollment.dropped", "progress.updated")
FLAT = pa.schema(
    [
        ("event_id", TEXT),
        ("type", TEXT),
        ("time", TIME),
        ("enrollment_id", ID),
        ("student_id", ID),
        ("course_id", ID),
        ("lesson_id", ID),
        ("completed_at", TIME),
    ]
)
ENROLLMENTS = TABLES["enrollments"].schema
FOLDED = ENROLLMENTS.append(pa.field("lessons", pa.list_(ID))).append(
    pa.field("lesson_times", pa.list_(TIME))
)


def flatten(batch: dict[str, np.ndarray]) -> pa.Table:
    """Lines of text → one flat row per kept event."""
    rows = []
    for line in batch["text"]:
        if not line.strip():
            continue
        try:
            event = parse_event(line)
        except ValidationFailed:
            continue
        if event.type not in KEPT:
            continue
        data = EVENT_DATA[event.type].model_validate(event.data)
        rows.append(
            {
                "event_id": str(event.id),
                "type": event.type,
                "time": event.time,
                "enrollment_id": data.enrollment_id,
                "student_id": data.student_id,
                "course_id": data.course_id,
                "lesson_id": getattr(data, "lesson_id", None),
                "completed_at": getattr(data, "completed_at", None),
            }
        )
    return pa.Table.from_pylist(rows, FLAT)


def fold(group: pd.DataFrame) -> pa.Table:
    """One enrollment's events → its enrollment row, with its completed lessons as lists."""
    group = group.drop_duplicates("event_id").sort_values("time")
    created = group[group.type == "enrollment.created"]
    if created.empty:
        return FOLDED.empty_table()
    completed = group[group.type == "enrollment.completed"]
    dropped = group[group.type == "enrollment.dropped"]
    lessons = group[group.type == "progress.updated"].drop_duplicates("lesson_id")
    status = "completed" if not completed.empty else "dropped" if not dropped.empty else "active"
    first = created.iloc[0]
    row = {
        "id": int(first.enrollment_id),
        "student_id": int(first.student_id),
        "course_id": int(first.course_id),
        "status": status,
        "enrolled_at": first.time,
        "completed_at": completed.completed_at.iloc[0] if not completed.empty else None,
        "dropped_at": dropped.time.iloc[0] if not dropped.empty else None,
        "completion_percentage": None,
        "lessons": [int(lesson) for lesson in lessons.lesson_id],
        "lesson_times": list(lessons.time),
    }
    return pa.Table.from_pylist([row], FOLDED)


def explode(batch: pa.Table) -> pa.Table:
    """Folded enrollments → lesson completion rows."""
    parents = pc.list_parent_indices(batch["lessons"])
    return pa.table(
        {
            "enrollment_id": pc.take(batch["id"], parents),
            "lesson_id": pc.list_flatten(batch["lessons"]),
            "completed_at": pc.list_flatten(batch["lesson_times"]),
        },
        schema=TABLES["lesson_completions"].schema,
    )


class EventArchiveSource:
    """`enrollments` and `lesson_completions` from the archive; other tables from `fallback`."""

    def __init__(self, path: Path, fallback: Source) -> None:
        self._path = path
        self._fallback = fallback
        self._folded: ray.data.Dataset | None = None

    def folded(self) -> ray.data.Dataset:
        if self._folded is None:
            self._folded = (
                ray.data.read_text(str(self._path), file_extensions=["jsonl", "json"])
                .map_batches(flatten, batch_format="numpy")
                .groupby("enrollment_id")
                .map_groups(fold, batch_format="pandas")
                .materialize()
            )
        return self._folded

    def dataset(self, table: str) -> ray.data.Dataset:
        if table == "enrollments":
            return self.folded().select_columns(ENROLLMENTS.names)
        if table == "lesson_completions":
            return self.folded().map_batches(explode, batch_format="pyarrow")
        return self._fallback.dataset(table)

    def frame(self, table: str) -> pd.DataFrame:
        if table in ("enrollments", "lesson_completions"):
            return self.dataset(table).to_pandas()
        return self._fallback.frame(table)

    def has_rows(self, table: str) -> bool:
        return self.rows(table) > 0

    def period(self) -> tuple[datetime | None, datetime | None]:
        enrollments = self.dataset("enrollments")
        if enrollments.count() == 0:
            return None, None
        return enrollments.min("enrolled_at"), enrollments.max("enrolled_at")

    def rows(self, table: str) -> int:
        if table in ("enrollments", "lesson_completions"):
            return self.dataset(table).count()  # the folded archive is materialized
        return self._fallback.rows(table)


def archive_source(events: Path | str, settings: Settings, fallback: Source) -> Source:
    """The archive `events` names, with course structure from `fallback`."""
    return EventArchiveSource(Path(events), fallback)
