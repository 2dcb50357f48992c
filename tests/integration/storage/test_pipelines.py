"""Readiness of the pipelines against real servers: each check names the loop that stopped and
clears once it runs again; the status figures carry the numbers behind the verdicts."""

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis

from core.settings import Settings
from serve import readiness
from serve.celery_worker import start_celery_worker
from serve.stack import LocalStack
from storage import migrate, pipelines
from storage.dsn import plain_dsn
from storage.heartbeats import Heartbeats
from workflows.celery_app import delete_broker_objects

GROUPS = ["group-a", "group-b"]


@pytest.fixture
def own(scratch: Settings, servers: LocalStack, tmp_path: Path) -> Iterator[Settings]:
    """A database, Celery prefix, task queue and Redis names of this test's own."""
    migrate.upgrade(scratch)
    # A Redis db beside the session's: the running system's loops beat their heartbeats there.
    base, db = scratch.redis_url.rsplit("/", 1)
    settings = scratch.model_copy(
        update={
            "redis_url": f"{base}/{int(db) % 15 + 1}",
            "celery_queue_prefix": f"t{uuid.uuid4().hex[:10]}.",
            "temporal_task_queue": f"pipelines-{uuid.uuid4().hex[:8]}",
            "outbox_lag_budget_seconds": 5.0,
            "data_dir": tmp_path,
        }
    )
    yield settings
    delete_broker_objects(settings)


@pytest.fixture
async def heartbeats(own: Settings) -> AsyncIterator[Heartbeats]:
    client = aioredis.from_url(own.redis_url)
    names = [*pipelines.event_loops(GROUPS), pipelines.TEMPORAL_WORKER]
    yield Heartbeats(client, own)
    await client.delete(*(f"smartcourse:heartbeat:{name}" for name in names))
    await client.aclose()


async def outbox_row(settings: Settings, age_seconds: int) -> None:
    conn = await asyncpg.connect(plain_dsn(settings.database_url))
    try:
        await conn.execute(
            "INSERT INTO outbox (event_id, event_type, topic, key, payload, created_at) "
            "VALUES ($1, 'x.y', 'x.events', 'k', '{}', now() - make_interval(secs => $2))",
            uuid.uuid4(),
            float(age_seconds),
        )
    finally:
        await conn.close()


async def test_outbox_is_named_when_its_oldest_pending_row_is_over_the_budget(
    own: Settings,
) -> None:
    assert (await readiness.verdicts(own, GROUPS))["outbox"] is None
    await outbox_row(own, 1)
    assert (await readiness.verdicts(own, GROUPS))["outbox"] is None
    await outbox_row(own, 60)
    reason = (await readiness.verdicts(own, GROUPS))["outbox"]
    assert reason is not None and "budget 5s" in reason and "backlog 2" in reason
    state = await pipelines.outbox_state(own)
    assert state.backlog == 2 and state.oldest_pending_seconds >= 60


async def test_consumers_name_each_loop_without_a_heartbeat(
    own: Settings, heartbeats: Heartbeats
) -> None:
    reason = (await readiness.verdicts(own, GROUPS))["consumers"]
    assert reason == "no heartbeat from relay, consumer:group-a, consumer:group-b"
    await heartbeats.beat("relay")
    await heartbeats.beat("consumer:group-a")
    reason = (await readiness.verdicts(own, GROUPS))["consumers"]
    assert reason == "no heartbeat from consumer:group-b"
    await heartbeats.beat("consumer:group-b")
    assert (await readiness.verdicts(own, GROUPS))["consumers"] is None


async def test_celery_is_named_until_a_worker_of_its_prefix_answers(own: Settings) -> None:
    assert (await readiness.verdicts(own, GROUPS))["celery"] == "no worker answered a ping"
    worker = start_celery_worker(own)
    try:
        assert (await readiness.verdicts(own, GROUPS))["celery"] is None
        figures = await readiness.figures(own, {group: ["x.events"] for group in GROUPS})
        assert figures["celery_workers"] == [worker.hostname]
        queue = f"{own.celery_queue_prefix}certificate_queue"
        assert figures["queues"][queue] == {"messages": 0, "consumers": 1}
    finally:
        worker.stop()


async def test_temporal_worker_needs_its_heartbeat_and_a_poller(
    own: Settings, heartbeats: Heartbeats
) -> None:
    verdict = (await readiness.verdicts(own, GROUPS))["temporal_worker"]
    assert verdict == "no heartbeat from temporal_worker"
    await heartbeats.beat(pipelines.TEMPORAL_WORKER)
    # A beat but nobody polls this test's task queue: Temporal's own view says so.
    verdict = (await readiness.verdicts(own, GROUPS))["temporal_worker"]
    assert verdict == f"no pollers on task queue {own.temporal_task_queue}"
