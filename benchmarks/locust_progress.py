"""Locust scenario of the progress benchmark: students completing lessons, each request a new
(student, lesson) pair, lesson by lesson across all students so no student nears the rate limit.

Driven by benchmarks/progress.py through env vars: BENCH_WORK (a JSON file with `tokens`,
`lessons` and `start`, the pair to begin at) and BENCH_USER_RATE (requests/s per user; 0 runs
closed-loop, every user sending its next request as soon as the last one answered)."""

import itertools
import json
import os

from locust import FastHttpUser, constant, constant_throughput, task

with open(os.environ["BENCH_WORK"]) as work_file:
    WORK = json.load(work_file)
PAIRS = itertools.islice(
    ((token, lesson) for lesson in WORK["lessons"] for token in WORK["tokens"]), WORK["start"], None
)
RATE = float(os.environ.get("BENCH_USER_RATE", "0"))


class Student(FastHttpUser):
    wait_time = constant_throughput(RATE) if RATE else constant(0)

    @task
    def complete_lesson(self) -> None:
        token, lesson = next(PAIRS)
        self.client.post(
            f"/lessons/{lesson}/complete",
            headers={"Authorization": f"Bearer {token}"},
            name="/lessons/{lesson_id}/complete",
        )
