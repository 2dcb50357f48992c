"""Shard memory per active enrollment entity: how many bytes one student's entity holding one
enrollment costs, built the way a shard loads it (`core.enrollments.enrollment_state` over the
stored row's values, as storage/repositories/enrollment.py passes them), measured with
tracemalloc over 100,000 entities. The goal (issue 14): <= 1 KB with 10 lessons done, so a
million active learners fit in 1 GB of shard memory.

`python -m benchmarks.entity_memory [--entities 100000] [--report
benchmarks/results/entity_memory.md]` (a few seconds; not part of any test run). `make bench`
(benchmarks/progress.py) measures the same after its rounds.
"""

import argparse
import gc
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from actors.entities.enrollment import StudentEntity
from core.enrollments import enrollment_state

ENTITIES = 100_000
LESSONS_DONE = 10
CASES = {"10 lessons done": 0, "10 lessons done, 2 quizzes tried": 2}


def loaded(n: int, quizzes: int) -> StudentEntity:
    """Student `n`'s entity as a shard loads it: fresh int and datetime objects per row, as
    the database driver makes them, and the status as the driver's string."""
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=n)
    student_id, course_id = 1_000_000 + n, 5_000 + n % 200
    columns = (10_000_000 + n, student_id, course_id, "active", at, None, at, None)
    lessons = [int(f"{course_id}{x:03d}") for x in range(LESSONS_DONE)]
    attempts = [(lessons[x], 1, 80) for x in range(quizzes)]
    state = enrollment_state(columns, lessons, attempts)
    return StudentEntity(student_id, {course_id: state})


def bytes_per_entity(entities: int, quizzes: int) -> float:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    held = [loaded(n, quizzes) for n in range(entities)]
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    # The list holding them is the benchmark's, not the shard's (which keys a dict by student).
    return (after - before) / len(held) - 8


def table(entities: int) -> list[str]:
    """Each case's bytes per entity over `entities` entities, as a Markdown table."""
    rows = [(name, bytes_per_entity(entities, quizzes)) for name, quizzes in CASES.items()]
    return [
        "| case | bytes per entity | a million in |",
        "|---|---:|---:|",
        *(f"| {name} | {size:,.0f} | {size * 1e6 / 2**30:.2f} GiB |" for name, size in rows),
    ]


def main() -> None:
    from benchmarks.machine import machine

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=ENTITIES)
    parser.add_argument("--report", type=Path, default=Path("benchmarks/results/entity_memory.md"))
    args = parser.parse_args()
    lines = [
        "# Shard memory per active enrollment entity",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `python -m benchmarks.entity_memory` "
        f"on {machine()}; {args.entities:,} entities per case, tracemalloc.",
        "",
        "One student entity holding one active enrollment, built as a shard loads it "
        "(`core.enrollments.enrollment_state`). Goal: <= 1,024 bytes with 10 lessons done.",
        "",
        *table(args.entities),
        "",
    ]
    args.report.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
