"""The multi-node scenario, run in a process of its own (a Ray driver can join one cluster
only, and the test session already runs one): a head and two worker nodes from Ray's
`cluster_utils`, shards spread over them, a worker node removed in the middle of concurrent
lesson completions, then a batch job submitted to the cluster through Ray's job API (`ray job
submit`, as the README shows) with the system's settings in its runtime environment. Prints a
JSON summary for tests/integration/jobs/test_multinode.py to judge.

`python -m tests.integration.jobs.multinode` with the test settings in the environment.
"""

import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import ray
from ray.cluster_utils import Cluster
from ray.job_submission import JobStatus, JobSubmissionClient
from sqlalchemy import select

from actors.client import ShardClient
from actors.ops import Complete, ReadProgress
from actors.shards import NAMESPACE, shard_handles
from benchmarks.population import seed_population
from core.errors import DependencyDown
from core.settings import get_settings
from storage.db import Database
from storage.models.enrollment import Enrollment, LessonCompletion
from tests.conftest import free_port

# A refused call waits out `shard_call_timeout_seconds`; a node's shards are back elsewhere
# within a few of those.
RETRIES = 10


async def stored(population) -> set[tuple[int, int]]:
    db = Database(get_settings())
    try:
        async with db.unit_of_work() as uow:
            rows = await uow.session.execute(
                select(Enrollment.student_id, LessonCompletion.lesson_id)
                .join(LessonCompletion, LessonCompletion.enrollment_id == Enrollment.id)
                .where(Enrollment.course_id == population.course_id)
            )
            return {tuple(row) for row in rows}
    finally:
        await db.dispose()


async def scenario(cluster: Cluster, workers: list) -> dict:
    settings = get_settings()
    population = await seed_population(settings, 40, 2, 5)
    shards = shard_handles(settings)
    before = [s["node_id"] for s in ray.get([shard.stats.remote() for shard in shards])]
    # The shards are spread over the nodes: the node removed is a worker that holds one
    # (the test fails if none does, as then they did not spread).
    victim = next((w for w in workers if w.node_id in before), workers[0])
    client = ShardClient(settings)
    acknowledged: set[tuple[int, int]] = set()
    refused = 0
    halfway = asyncio.Event()

    async def complete(student_id: int, lesson_id: int) -> None:
        """As a client does: a refusal (the shard's node is gone) is retried until the
        completion is acknowledged; completing a lesson twice is a no-op."""
        nonlocal refused
        for _ in range(RETRIES):
            try:
                await client.call(Complete(student_id, lesson_id))
            except DependencyDown:
                refused += 1
                continue
            acknowledged.add((student_id, lesson_id))
            break
        if len(acknowledged) >= 100:
            halfway.set()

    async def remove_node() -> None:
        await halfway.wait()
        await asyncio.to_thread(cluster.remove_node, victim)

    work = [complete(s, x) for x in population.lesson_ids for s in population.student_ids]
    await asyncio.gather(remove_node(), *work)
    after = [s["node_id"] for s in ray.get([shard.stats.remote() for shard in shards])]
    rows = await stored(population)
    async with Database(settings).unit_of_work() as uow:
        enrollment_of = dict(
            (
                await uow.session.execute(
                    select(Enrollment.student_id, Enrollment.id).where(
                        Enrollment.course_id == population.course_id
                    )
                )
            ).all()
        )
    disagree = {}
    for student_id, enrollment_id in enrollment_of.items():
        read = await client.call(ReadProgress(student_id, enrollment_id))
        in_db = {lesson for s, lesson in rows if s == student_id}
        if set(read["progress"]["completed_lessons"]) != in_db:
            disagree[student_id] = [sorted(read["progress"]["completed_lessons"]), sorted(in_db)]
    return {
        "victim": victim.node_id,
        "nodes_before": before,
        "nodes_after": after,
        "acknowledged": len(acknowledged),
        "refused": refused,
        "lost": len(acknowledged - rows),
        "unacknowledged_rows": len(rows - acknowledged),
        "disagree": disagree,
    }


@ray.remote(num_cpus=1)
def node_of_task() -> str:
    return ray.get_runtime_context().get_node_id()


def spreadable(nodes: int, within: float = 120) -> None:
    """Wait until every node takes work: a node that has registered shows up in the
    scheduler's view of free resources a moment later."""
    deadline = time.monotonic() + within
    while True:
        probes = [node_of_task.options(scheduling_strategy="SPREAD").remote() for _ in range(nodes)]
        if len(set(ray.get(probes))) == nodes:
            return
        assert time.monotonic() < deadline, f"SPREAD never reached {nodes} nodes"


async def submit(client: JobSubmissionClient, within: float = 60, **job) -> str:
    """Submit `job`; the job API answers "No available agent to submit job, please try again
    later" until a node's dashboard agent has registered with it (seen in CI right after the
    node loss), so that answer is retried, with a growing pause, until `within` seconds."""
    deadline, pause = time.monotonic() + within, 0.2
    while True:
        try:
            return client.submit_job(**job)
        except RuntimeError as error:
            if "No available agent" not in str(error) or time.monotonic() > deadline:
                raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, 3.0)


async def submitted_job(dashboard: str) -> dict:
    """`python -m jobs leaderboard` submitted to the cluster's job API with the settings the
    system runs with; the job's log is followed until it ends (no polling)."""
    client = JobSubmissionClient(f"http://{dashboard}")
    settings = {k: v for k, v in os.environ.items() if k.startswith("SMARTCOURSE_")}
    out = Path(tempfile.mkdtemp(prefix="sc-job-"))
    job = await submit(
        client,
        # The cluster's Python (here the venv's, which is not on the job's PATH; an image
        # has its own as `python`).
        entrypoint=f"{sys.executable} -m jobs leaderboard --out {out}",
        runtime_env={"env_vars": settings},
    )
    logs = "".join([line async for line in client.tail_job_logs(job)])
    status = client.get_job_status(job)
    return {
        "job_status": str(status),
        "job_succeeded": status == JobStatus.SUCCEEDED,
        "job_outputs": sorted(await asyncio.to_thread(os.listdir, out)),
        "job_summary": [x for x in logs.splitlines() if x.startswith("leaderboard")][-1:],
        "job_log_tail": logs[-2000:] if status != JobStatus.SUCCEEDED else "",
    }


def main() -> None:
    # Each node's dashboard agent on a free port: the default one (52365) may be the test
    # session's own Ray's, and then the job API finds no agent ("No available agent").
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 1,
            "include_dashboard": True,
            "dashboard_port": 0,
            "dashboard_agent_listen_port": free_port(),
        },
    )
    workers = [
        cluster.add_node(num_cpus=1, dashboard_agent_listen_port=free_port()) for _ in range(2)
    ]
    cluster.wait_for_nodes()
    joined = ray.init(address=cluster.address, namespace=NAMESPACE, logging_level="ERROR")
    try:
        spreadable(nodes=3)
        summary = asyncio.run(scenario(cluster, workers))
        summary |= asyncio.run(submitted_job(joined.dashboard_url))
    finally:
        ray.shutdown()
        cluster.shutdown()
    print("SUMMARY " + json.dumps(summary))


if __name__ == "__main__":
    main()
