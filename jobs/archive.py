"""Enrollments and lesson completions rebuilt from an archive of domain events, so the
`funnel` and `time_to_complete` jobs can run on exported events instead of the database.

The archive is either the Parquet archive the events actor writes (storage/event_archive.py;
`s3://BUCKET/PREFIX` in the settings' object store, or a folder copied from it; only the
enrollment and progress topics' partitions are read), or a folder of JSON-lines files
(`*.jsonl`, `*.json`), one event envelope ({id, type, version, source, time, subject, data})
a line, as exported from the outbox. An enrollment exists when its
`enrollment.created` event is in the archive (enrolled_at is that event's time); its status is
`completed` after `enrollment.completed` (completed_at from the event's data), else `dropped`
after `enrollment.dropped`, else `active`. Each `progress.updated` is a lesson completion.
Redelivered events (same id) count once; malformed lines and other types are skipped. Course
structure (modules, lessons, titles) still comes from the fallback source.
"""

import json
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import ray.data
from ray.data.datasource.partitioning import PathPartitionFilter

from core.errors import ValidationFailed
from core.events import EVENT_DATA, parse_event, topic_for
from core.settings import Settings
from jobs.source import Source
from storage.job_tables import ID, TABLES, TEXT, TIME

KEPT = ("enrollment.created", "enrollment.completed", "enrollment.dropped", "progress.updated")
TOPICS_KEPT = frozenset(topic_for(kind) for kind in KEPT)
ENVELOPE_COLUMNS = ["id", "type", "version", "source", "time", "subject", "data"]
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


def flat_row(payload: str | dict) -> dict | None:
    """One envelope → its flat row, or None when it is malformed or of a type not kept."""
    try:
        event = parse_event(payload)
    except ValidationFailed:
        return None
    if event.type not in KEPT:
        return None
    data = EVENT_DATA[event.type].model_validate(event.data)
    return {
        "event_id": str(event.id),
        "type": event.type,
        "time": event.time,
        "enrollment_id": data.enrollment_id,
        "student_id": data.student_id,
        "course_id": data.course_id,
        "lesson_id": getattr(data, "lesson_id", None),
        "completed_at": getattr(data, "completed_at", None),
    }


def flatten(batch: dict[str, np.ndarray]) -> pa.Table:
    """Lines of text → one flat row per kept event."""
    rows = (flat_row(line) for line in batch["text"] if line.strip())
    return pa.Table.from_pylist([row for row in rows if row is not None], FLAT)


def flatten_parquet(batch: pa.Table) -> pa.Table:
    """Parquet archive rows (storage/event_archive.py) → one flat row per kept event."""
    rows = []
    for record in batch.select(ENVELOPE_COLUMNS).to_pylist():
        try:
            record["data"] = json.loads(record["data"])
        except (TypeError, ValueError):
            continue
        if (row := flat_row(record)) is not None:
            rows.append(row)
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


def archive_filesystem(settings: Settings) -> pafs.S3FileSystem:
    """The object store of the settings, as pyarrow (and so Ray Data's readers) reach it."""
    endpoint = urlsplit(settings.s3_endpoint_url)
    return pafs.S3FileSystem(
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key.get_secret_value(),
        region=settings.s3_region,
        endpoint_override=endpoint.netloc,
        scheme=endpoint.scheme or "https",
    )


def read_parquet_archive(location: str, settings: Settings) -> ray.data.Dataset:
    """The kept topics' rows of a Parquet archive at `s3://BUCKET/PREFIX` or in a folder."""
    keep = PathPartitionFilter.of(
        filter_fn=lambda values: values.get("topic") in TOPICS_KEPT, style="hive"
    )
    filesystem = archive_filesystem(settings) if location.startswith("s3://") else None
    return ray.data.read_parquet(
        location.removeprefix("s3://") if filesystem else location,
        filesystem=filesystem,
        partition_filter=keep,
        file_extensions=["parquet"],
    ).map_batches(flatten_parquet, batch_format="pyarrow")


def read_events(location: str, settings: Settings) -> ray.data.Dataset:
    """Flat rows of the archive at `location`: Parquet in the object store or a folder of
    Parquet files, else a folder of JSON-lines files."""
    if location.startswith("s3://") or any(Path(location).rglob("*.parquet")):
        return read_parquet_archive(location, settings)
    return ray.data.read_text(location, file_extensions=["jsonl", "json"]).map_batches(
        flatten, batch_format="numpy"
    )


class EventArchiveSource:
    """`enrollments` and `lesson_completions` from the archive; other tables from `fallback`."""

    def __init__(self, location: str, settings: Settings, fallback: Source) -> None:
        self._location = location
        self._settings = settings
        self._fallback = fallback
        self._folded: ray.data.Dataset | None = None

    def folded(self) -> ray.data.Dataset:
        if self._folded is None:
            self._folded = (
                read_events(self._location, self._settings)
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
    return EventArchiveSource(str(events), settings, fallback)
