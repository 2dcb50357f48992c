"""The Ray Data analytics jobs against a seeded PostgreSQL database, with answers worked out
by hand; the database is shared with other tests, so each check looks at the rows seeded here.

Seed (hours are from enrollment to completion; lessons in course order):
- course A (instructor I1, published): module 1 = a1, a2; module 2 = a3.
  e1, e2, e3 completed everything in 10, 20, 30 h; e4 active with a1, a2; e5 dropped with a1;
  e6 active with a1, a3; e7 pending with nothing.
- course B (I2, published), modules inserted out of order: "First" (position 1) = b2 (1), b1 (2);
  "Second" (position 2) = b3. f1 completed all in 5 h; f2 active with b2; f3 active with b1;
  f4 dropped with b2, b1.
- course C (I1, archived): one module = c1. g1 completed c1 in 2 h; g2 active with nothing.
- instructor I3 has no courses.
"""

import argparse
import asyncio
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pandas as pd
import pytest
import ray
from botocore.exceptions import EndpointConnectionError

from core.events import topic_for
from core.settings import Settings
from jobs import JOBS, run_job
from jobs.runner import run_from_arguments
from serve import cli
from serve.stack import venv_binary
from storage import migrate
from storage.db import Database
from storage.event_archive import EventArchive
from tests.conftest import free_port
from tests.integration.jobs.jobs_rows import (
    OWNERS,
    PLAN,
    T0,
    Seed,
    add_course,
    add_enrollment,
    add_user,
    history,
    student_of,
)


@pytest.fixture(scope="module")
async def seed(db: Database) -> Seed:
    instructors = {
        "I1": await add_user(db, "Jobs I1", "instructor"),
        "I2": await add_user(db, "Jobs I2", "instructor"),
        "I3": await add_user(db, "Jobs I3", "instructor"),
    }
    courses, lessons = {}, {}
    for name, (owner, status) in OWNERS.items():
        courses[name], course_lessons = await add_course(db, name, instructors[owner], status)
        lessons |= course_lessons
    students = {f"S{i}": await add_user(db, f"Student {i}", "student") for i in range(1, 8)}
    enrollments = {}
    for name, plan in PLAN.items():
        student = students[student_of(name)]
        enrollments[name] = await add_enrollment(db, student, courses[plan[0]], plan, lessons)
    return Seed(instructors, courses, lessons, enrollments, students, PLAN)


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """A small local Ray, or the one another fixture of this session already started."""
    if ray.is_initialized():
        yield
        return
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def outputs(
    database: Settings, seed: Seed, local_ray: None, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, pd.DataFrame]:
    """Every job, run the way an operator runs it: `smartcourse job run NAME --out DIR`."""
    out = tmp_path_factory.mktemp("jobs")
    tables = {}
    for name in JOBS:
        assert cli.main(["job", "run", name, "--out", str(out)]) == 0
        for suffix in ("parquet", "md", "png"):
            assert (out / f"{name}.{suffix}").stat().st_size > 0
        tables[name] = pd.read_parquet(out / f"{name}.parquet")
        # Every report says which dates its data covers (the seed's enrollments are all at T0).
        assert f"Data: enrollments {T0:%Y-%m-%d} to " in (out / f"{name}.md").read_text()
    return tables


def ours(table: pd.DataFrame, seed: Seed) -> dict[str, pd.DataFrame]:
    """The rows of each seeded course, by course name."""
    return {name: table[table.course_id == cid] for name, cid in seed.courses.items()}


def test_funnel_counts_each_step_per_course_and_module(
    outputs: dict[str, pd.DataFrame], seed: Seed
) -> None:
    by_course = ours(outputs["funnel"], seed)
    stages = {
        name: list(zip(rows.stage, rows["count"], strict=True)) for name, rows in by_course.items()
    }
    assert stages == {
        "A": [
            ("enrolled", 7),
            ("started", 6),
            ("module 1: Basics", 4),
            ("module 2: Advanced", 4),
            ("completed", 3),
        ],
        "B": [
            ("enrolled", 4),
            ("started", 4),
            ("module 1: First", 2),
            ("module 2: Second", 1),
            ("completed", 1),
        ],
        "C": [("enrolled", 2), ("started", 1), ("module 1: Only", 1), ("completed", 1)],
    }
    assert by_course["A"].share_of_enrolled.iloc[-1] == pytest.approx(3 / 7)


def test_time_to_complete_reports_hours_per_course(
    outputs: dict[str, pd.DataFrame], seed: Seed
) -> None:
    columns = ["completed", "mean_hours", "p50_hours", "p90_hours", "min_hours", "max_hours"]
    stats = {
        name: rows[columns].iloc[0].tolist()
        for name, rows in ours(outputs["time_to_complete"], seed).items()
    }
    assert stats == {
        "A": pytest.approx([3, 20.0, 20.0, 28.0, 10.0, 30.0]),
        "B": pytest.approx([1, 5.0, 5.0, 5.0, 5.0, 5.0]),
        "C": pytest.approx([1, 2.0, 2.0, 2.0, 2.0, 2.0]),
    }


def test_dropoff_finds_the_first_missing_lesson_most_stop_at(
    outputs: dict[str, pd.DataFrame], seed: Seed
) -> None:
    lesson_names = {lesson_id: name for name, lesson_id in seed.lessons.items()}
    found = {
        name: (lesson_names[int(row.lesson_id)], row.stuck, row.open_enrollments)
        for name, rows in ours(outputs["dropoff"], seed).items()
        for row in rows.itertuples()
    }
    # A: a2 holds e5 and e6, a3 holds e4, a1 holds e7. B: one each on b2, b1, b3; the tie
    # goes to b2, first in course order. C: g2 never started.
    assert found == {"A": ("a2", 2, 4), "B": ("b2", 1, 3), "C": ("c1", 1, 1)}


def test_leaderboard_ranks_by_completions_then_enrollments(
    outputs: dict[str, pd.DataFrame], seed: Seed
) -> None:
    board = outputs["leaderboard"]
    names = {uid: name for name, uid in seed.instructors.items()}
    mine = board[board.instructor_id.isin(names)].sort_values("rank")
    rows = [
        (
            names[row.instructor_id],
            row.published_courses,
            row.courses,
            row.enrollments,
            row.completions,
            round(row.completion_rate, 4),
        )
        for row in mine.itertuples()
    ]
    assert rows == [
        ("I1", 1, 2, 9, 4, round(4 / 9, 4)),
        ("I2", 1, 1, 4, 1, 0.25),
        ("I3", 0, 0, 0, 0, 0.0),
    ]
    assert list(board["rank"]) == list(range(1, len(board) + 1))


def write_archive(folder: Path, seed: Seed) -> None:
    """Course A's history as JSON lines; one event is delivered twice and one line is not an
    event at all."""
    lines = ["not json", *(event.model_dump_json() for event in history(seed, ("A",)))]
    lines.append(lines[-1])
    (folder / "part-0.jsonl").write_text("\n".join(lines) + "\n")


def test_funnel_and_time_to_complete_read_an_event_archive(
    database: Settings, seed: Seed, local_ray: None, tmp_path: Path
) -> None:
    archive = tmp_path / "events"
    archive.mkdir()
    write_archive(archive, seed)
    out = tmp_path / "out"
    funnel = pd.read_parquet(run_job("funnel", database, out, events=archive).path)
    times = pd.read_parquet(run_job("time_to_complete", database, out, events=archive).path)
    assert set(funnel.course_id) == {seed.courses["A"]}
    assert list(funnel["count"]) == [7, 6, 4, 4, 3]
    assert times[["completed", "p50_hours", "p90_hours"]].iloc[0].tolist() == pytest.approx(
        [3, 20.0, 28.0]
    )


def test_a_database_without_enrollments_is_a_clear_error(
    database: Settings, local_ray: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing to report is said in one line (exit 1), not a stack trace from an empty frame."""
    empty = database.model_copy(update={"database_url": database.database_url + "_jobs_empty"})
    migrate.upgrade(empty)
    try:
        args = argparse.Namespace(
            name="funnel",
            out=tmp_path,
            events=None,
            address=None,
            read_tasks=2,
            shuffle_partitions=None,
            progress_bars=False,
        )
        assert run_from_arguments(args, empty) == 1
    finally:
        asyncio.run(migrate.drop_database(empty.database_url))
    assert "no enrollments in the database" in capsys.readouterr().err
    assert not (tmp_path / "funnel.parquet").exists()


@pytest.fixture(scope="module")
def object_store(database: Settings) -> Iterator[Settings]:
    """An S3 server of this module's own (moto, as `smartcourse up` runs it) with the bucket."""
    port = free_port()
    server = subprocess.Popen(
        [venv_binary("moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    settings = database.model_copy(update={"s3_endpoint_url": f"http://127.0.0.1:{port}"})
    client = boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key,
        aws_secret_access_key=settings.s3_secret_key.get_secret_value(),
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                client.create_bucket(Bucket=settings.s3_bucket)
                break
            except EndpointConnectionError:
                assert time.monotonic() < deadline, "the S3 server did not start"
                time.sleep(0.1)  # polling a server that is starting, not synchronising
        yield settings
    finally:
        server.terminate()
        server.wait(10)


def test_the_parquet_archive_round_trips_to_the_same_funnel(
    object_store: Settings, seed: Seed, local_ray: None, tmp_path: Path
) -> None:
    """The journey's events, written by EventArchive as Parquet to the object store (a file
    per day and topic) and read back by the funnel job, give the database's funnel."""
    settings = object_store.model_copy(update={"event_archive_batch_events": 10_000})
    archive = EventArchive(settings)
    events = history(seed)
    redelivered = events[:3]
    asyncio.run(archive.append([*events, *redelivered]))
    keys = asyncio.run(archive.flush())
    assert archive.buffered == 0
    # One object per (day, topic): events/day=D/topic=T/part-<uuid>.parquet.
    partitions = [tuple(part.split("=")[1] for part in key.split("/")[1:3]) for key in keys]
    expected = {(f"{event.time:%Y-%m-%d}", topic_for(event.type)) for event in events}
    assert sorted(partitions) == sorted(expected)

    location = f"s3://{settings.s3_bucket}/{settings.event_archive_prefix}"
    from_database = pd.read_parquet(run_job("funnel", settings, tmp_path / "db").path)
    from_archive = pd.read_parquet(
        run_job("funnel", settings, tmp_path / "archive", events=location).path
    )
    mine = from_database[from_database.course_id.isin(seed.courses.values())]
    columns = ["course_id", "step", "stage", "count", "share_of_enrolled"]
    pd.testing.assert_frame_equal(
        from_archive[columns].reset_index(drop=True), mine[columns].reset_index(drop=True)
    )
