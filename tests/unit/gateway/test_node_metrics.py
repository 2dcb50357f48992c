"""The gateway's `/metrics` counts every process of the stack on its node (storage/telemetry.py):
each writes its samples to the node's directory, and whichever ingress replica answers the
scrape sums them. Processes stand in for two replicas and a shard."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from storage.telemetry import SAMPLES_DIR, exposition

REPLICA = (
    "import sys\n"
    "import gateway\n"  # makes the directory, as a replica's first import does
    "from gateway.observability import REQUESTS\n"
    "from gateway.routes.ops import OLDEST_PENDING\n"
    "REQUESTS.labels('GET', '/healthz', '200').inc(int(sys.argv[1]))\n"
    "OLDEST_PENDING.set(float(sys.argv[1]))\n"
)
SHARD = (
    "from storage.keyvalue import fail_open\n"
    "from storage.telemetry import make_samples_dir\n"
    "make_samples_dir()\n"
    "fail_open('progress_cache', ConnectionError('redis down'))\n"
)


def run(directory: Path, program: str, *args: str) -> None:
    env = {**os.environ, SAMPLES_DIR: str(directory)}
    subprocess.run([sys.executable, "-c", program, *args], env=env, check=True, timeout=120)


def test_the_scrape_sums_the_processes_of_the_node(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "metrics"
    run(directory, REPLICA, "2")
    run(directory, REPLICA, "3")
    run(directory, SHARD)
    monkeypatch.setenv(SAMPLES_DIR, str(directory))
    text = exposition().decode()
    assert 'smartcourse_http_requests_total{method="GET",route="/healthz",status="200"} 5.0' in text
    # A gauge set at each scrape: the latest replica's value, not a sum.
    assert "smartcourse_outbox_oldest_pending_seconds 3.0" in text
    # A shard's Redis fail-open, which no scrape saw while each process had its own registry.
    assert 'smartcourse_redis_fail_open_total{check="progress_cache"} 1.0' in text
