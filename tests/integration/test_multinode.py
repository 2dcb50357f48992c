"""Shards on a three-node Ray cluster (one machine, Ray's cluster_utils): they spread over the
nodes, and removing a node mid-load moves its shards elsewhere with no acknowledged lesson
completion lost."""

import json
import os
import subprocess
import sys

from core.settings import Settings


def test_shards_spread_and_survive_the_loss_of_a_node(database: Settings) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.integration.multinode"],
        env=os.environ | {"RAY_USAGE_STATS_ENABLED": "0"},
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
    assert summary["acknowledged"] + summary["refused"] == 400
    assert summary["acknowledged"] >= 100 and summary["lost"] == 0
    assert summary["reads_agree"]
