"""`/metrics` counts every ingress replica of a node (gateway/observability.py): each replica
process writes its samples to the node's directory, and whichever answers the scrape sums them.
Two processes stand in for two replicas."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.observability import SAMPLES_DIR, exposition

REPLICA = (
    "import sys\n"
    "from gateway.observability import REQUESTS\n"
    "from gateway.routes.ops import OLDEST_PENDING\n"
    "REQUESTS.labels('GET', '/healthz', '200').inc(int(sys.argv[1]))\n"
    "OLDEST_PENDING.set(float(sys.argv[1]))\n"
)


def replica_serves(directory: Path, requests: int) -> None:
    env = {**os.environ, SAMPLES_DIR: str(directory)}
    subprocess.run([sys.executable, "-c", REPLICA, str(requests)], env=env, check=True, timeout=120)


def test_the_scrape_sums_the_replicas_of_the_node(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "metrics" / "ingress"  # made by the first replica (gateway/__init__)
    replica_serves(directory, 2)
    replica_serves(directory, 3)
    monkeypatch.setenv(SAMPLES_DIR, str(directory))
    text = exposition().decode()
    assert 'smartcourse_http_requests_total{method="GET",route="/healthz",status="200"} 5.0' in text
    # A gauge set at each scrape: the latest replica's value, not a sum.
    assert "smartcourse_outbox_oldest_pending_seconds 3.0" in text
