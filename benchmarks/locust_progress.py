"""Locust scenario of the progress benchmark: students completing lessons, each request a new
(student, lesson) pair, lesson by lesson across all students so no student nears the rate limit.

Driven by benchmarks/progress.py through env vars: BENCH_WORK (a JSON file with `tokens`,
`lessons` and `start`, the pair to begin at) and BENCH_USER_RATE (requests/s per user; 0 runs
closed-loop, every user sending its next request as soon as the last one answered).

At a rate, each user's requests start as a Poisson process (exponential gaps, counted from the
start of the previous request), beginning at a random offset: the users' requests together
arrive as real students' do, independently. A fixed pacing would keep all users in step, so
every user would send at the same instant and each burst would queue behind itself.
"""

import itertools
import json
import os
import random
import time

from locust import FastHttpUser, task

with open(os.environ["BENCH_WORK"]) as work_file:
    WORK = json.load(work_file)
PAIRS = itertools.islice(
    ((token, lesson) for lesson in WORK["lessons"] for token in WORK["tokens"]), WORK["start"], None
)
RATE = float(os.environ.get("BENCH_USER_RATE", "0"))


class Student(FastHttpUser):
    next_start = 0.0

    def on_start(self) -> None:
        if RATE:
            time.sleep(random.expovariate(RATE))  # gevent-patched: yields to the other users
        self.next_start = time.monotonic()

    def wait_time(self) -> float:
        if not RATE:
            return 0.0
        self.next_start += random.expovariate(RATE)
        return max(0.0, self.next_start - time.monotonic())

    @task
    def complete_lesson(self) -> None:
        token, lesson = next(PAIRS)
        self.client.post(
            f"/lessons/{lesson}/complete",
            headers={"Authorization": f"Bearer {token}"},
            name="/lessons/{lesson_id}/complete",
        )
