"""Shards on a three-node Ray cluster (one machine, Ray's cluster_utils): they spread over the
nodes, and removing a node mid-load moves its shards elsewhere: every lesson completion is
acknowledged once its refusals are retried, none is lost, and the shards read back exactly what
is stored (a refused call may still have been applied, so the check is made on retried work).
Then a batch job submitted through Ray's job API runs on the cluster and writes its reports."""

import json
import os
import subprocess
import sys

from core.settings import Settings


def cluster_environment() -> dict[str, str]:
    """This session's environment for the cluster's driver, less what the session's own local
    Ray put there (serve/runtime.py ray_environment, keep_local_ray_on_loopback): its token,
    intervals and multi-node switch belong to that Ray, not to this cluster of its own."""
    own = {"REPORTER_UPDATE_INTERVAL_MS", "FORWARDED_ALLOW_IPS"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_") and k not in own}
    return env | {"RAY_USAGE_STATS_ENABLED": "0"}


def test_shards_spread_and_survive_the_loss_of_a_node(database: Settings) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.integration.jobs.multinode"],
        env=cluster_environment(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [x for x in done.stdout.splitlines() if x.startswith("SUMMARY ")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    summary = json.loads(lines[-1].removeprefix("SUMMARY "))
    assert len(set(summary["nodes_before"])) >= 2
    moved = [n for n in summary["nodes_before"] if n == summary["victim"]]
    assert moved, "no shard was on the removed node"
    assert summary["victim"] not in summary["nodes_after"]
    assert summary["acknowledged"] == 400, summary
    assert summary["lost"] == 0 and summary["unacknowledged_rows"] == 0, summary
    assert not summary["disagree"], summary
    # `ray job submit` (the job API) runs a batch job on the cluster with the system's settings.
    assert summary["job_succeeded"], summary["job_log_tail"]
    assert summary["job_outputs"] == ["leaderboard.md", "leaderboard.parquet", "leaderboard.png"]
    assert summary["job_summary"], "the job printed no summary line"
