"""The jobs benchmark's report: benchmarks/results/jobs.md (a table per run) and jobs.png
(seconds against lesson completions, log-log, Ray solid and SQL dashed)."""

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure


def chart(path: Path, timings: Sequence[Any], machine: str) -> None:
    figure = Figure(figsize=(9, 5.5))
    axes = figure.subplots()
    for index, job in enumerate(dict.fromkeys(t.job for t in timings)):
        mine = sorted((t for t in timings if t.job == job), key=lambda t: t.rows)
        rows = [t.rows for t in mine]
        color = f"C{index}"
        axes.plot(rows, [t.ray_seconds for t in mine], "o-", color=color, label=f"{job} (Ray)")
        axes.plot(rows, [t.sql_seconds for t in mine], "s--", color=color, label=f"{job} (SQL)")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("lesson completions in the database (rows, log scale)")
    axes.set_ylabel("wall time (seconds, log scale)")
    axes.set_title(f"Ray Data jobs vs one SQL query\n{machine}", fontsize="medium")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize="small", ncol=2)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def write_results(
    folder: Path,
    timings: Sequence[Any],
    seeding: dict[int, float],
    machine: str,
    ray_start: float,
) -> Path:
    """Write jobs.md and jobs.png into `folder`; returns the markdown path."""
    folder.mkdir(parents=True, exist_ok=True)
    chart(folder / "jobs.png", timings, machine)
    lines = [
        "# Batch jobs: Ray Data against one SQL query",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `python -m benchmarks.jobs` "
        f"(`make jobs-bench`) on {machine}; PostgreSQL 127.0.0.1 (server defaults: "
        "work_mem 4MB, 2 parallel workers per query), a local Ray with one CPU per core "
        f"(started in {ray_start:.1f} s, not counted below).",
        "",
        "Ray: `jobs.run_job` wall time, sizing, reads, aggregation and the three report files "
        "included; SQL: the same question as one query (benchmarks/jobs_sql.py), result "
        "fetched. Peak MB: the most resident memory the run added over what the processes "
        "held before (Ray: the driver and its Ray processes; SQL: the backend and its "
        "parallel workers); RSS counts shared memory touched, so both include some cache. "
        "Rows: result rows, Ray / SQL (the funnel's Ray table also lists stages no one "
        "reached). Load: the 1-minute load average after the pair (2 cores: above 2, other "
        "work on the machine was competing).",
        "",
        "| completions | job | Ray s | SQL s | Ray / SQL | Ray peak MB | SQL peak MB | rows "
        "| load |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for t in timings:
        ratio = t.ray_seconds / t.sql_seconds if t.sql_seconds else float("inf")
        lines.append(
            f"| {t.rows:,} | {t.job} | {t.ray_seconds:.2f} | {t.sql_seconds:.2f} | "
            f"{ratio:.1f}x | {t.ray_peak_mb:.0f} | {t.sql_peak_mb:.0f} | "
            f"{t.result_rows} / {t.sql_rows} | {t.load:.1f} |"
        )
    lines += [
        "",
        "Seeding (COPY through storage/bulk.py): "
        + ", ".join(f"{size:,} completions in {seconds:.0f} s" for size, seconds in seeding.items())
        + ".",
        "",
        "![seconds against rows](jobs.png)",
        "",
    ]
    path = folder / "jobs.md"
    path.write_text("\n".join(lines))
    return path
