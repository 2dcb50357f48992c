"""Batch analytics jobs on Ray Data: completion funnel, time to complete, drop-off lesson and
instructor leaderboard, read from PostgreSQL (or an event archive) and written as Parquet, a
markdown summary and a PNG chart. `python -m jobs --help` runs one; see `jobs.__main__`."""

from jobs.runner import JOBS, run_job

__all__ = ["JOBS", "run_job"]
