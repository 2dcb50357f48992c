"""Storage-level readiness checks of the pipelines behind the writes: the outbox relay, the
consumer groups and the Temporal worker. A dependency can answer while the loop that uses it has
stopped (issue 15: a relay task died, the actor lived, /readyz said 200); these checks look at
what the loops leave behind instead: the oldest pending outbox row, heartbeats in Redis, the
groups' committed offsets and Temporal's pollers. `serve.readiness` puts them together with the
Celery side.
"""

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

import asyncpg
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from core.settings import Settings
from storage.dsn import plain_dsn
from storage.heartbeats import Heartbeats
from storage.kafka import topic_name

T = TypeVar("T")
RELAY, TEMPORAL_WORKER = "relay", "temporal_worker"
OLDEST_PENDING = (
    "SELECT count(*), EXTRACT(EPOCH FROM now() - min(created_at))::float8 "
    "FROM outbox WHERE published_at IS NULL"
)


def consumer_loop(group: str) -> str:
    return f"consumer:{group}"


def event_loops(groups: list[str]) -> list[str]:
    """The heartbeat names of the event pipeline: the relay and every consumer group."""
    return [RELAY, *(consumer_loop(group) for group in groups)]


@dataclass(frozen=True, slots=True)
class OutboxState:
    backlog: int
    oldest_pending_seconds: float | None


async def outbox_state(settings: Settings) -> OutboxState:
    """One query over the partial index of pending rows."""
    conn = await asyncpg.connect(plain_dsn(settings.database_url))
    try:
        count, age = await conn.fetchrow(OLDEST_PENDING)
    finally:
        await conn.close()
    return OutboxState(count, age)


async def loop_ages(settings: Settings, names: list[str]) -> dict[str, float | None]:
    client = aioredis.from_url(settings.redis_url)
    try:
        return await Heartbeats(client, settings).ages(names)
    finally:
        await client.aclose()


_temporal: dict[tuple[str, str], Client] = {}


async def temporal_pollers(settings: Settings) -> int:
    """Workflow pollers Temporal has seen on the task queue (it forgets one minutes after it
    stopped; the heartbeat is the quick signal, this is the server's own view)."""
    key = (settings.temporal_address, settings.temporal_namespace)
    if key not in _temporal:
        _temporal[key] = await Client.connect(key[0], namespace=key[1])
    request = DescribeTaskQueueRequest(
        namespace=settings.temporal_namespace,
        task_queue=TaskQueue(name=settings.temporal_task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    try:
        answer = await _temporal[key].workflow_service.describe_task_queue(request)
    except Exception:
        _temporal.pop(key, None)
        raise
    return len(answer.pollers)


async def group_lag(settings: Settings, group: str, topics: list[str]) -> int:
    """Messages `group` has not committed yet over its topics' partitions. Read through a
    consumer of the group that never subscribes (so it joins nothing): the broker's admin
    offset-fetch API is not one every Kafka-compatible broker serves."""
    reader = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, group_id=group, enable_auto_commit=False
    )
    await reader.start()
    try:
        partitions = [
            TopicPartition(name, partition)
            for name in (topic_name(settings, topic) for topic in topics)
            for partition in sorted(reader.partitions_for_topic(name) or ())
        ]
        ends = await reader.end_offsets(partitions) if partitions else {}
        lag = 0
        for partition in partitions:
            committed = await reader.committed(partition)
            lag += max(0, ends[partition] - (committed or 0))
        return lag
    finally:
        await reader.stop()


async def consumer_lag(settings: Settings, groups: dict[str, list[str]]) -> dict[str, int]:
    lags = await asyncio.gather(
        *(group_lag(settings, group, topics) for group, topics in groups.items())
    )
    return dict(zip(groups, lags, strict=True))


async def bounded(settings: Settings, check: Awaitable[T]) -> T:
    return await asyncio.wait_for(check, settings.dependency_timeout_seconds)


def failure(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "cannot tell: timed out"
    return f"cannot tell: {type(error).__name__}: {str(error)[:120]}"


def outbox_verdict(settings: Settings, state: OutboxState) -> str | None:
    age, budget = state.oldest_pending_seconds, settings.outbox_lag_budget_seconds
    if age is None or age <= budget:
        return None
    return f"oldest pending row is {age:.0f}s old (budget {budget:.0f}s); backlog {state.backlog}"


def missing(ages: dict[str, float | None]) -> list[str]:
    return [name for name, age in ages.items() if age is None]


async def temporal_verdict(settings: Settings) -> str | None:
    ages = await loop_ages(settings, [TEMPORAL_WORKER])
    if missing(ages):
        return f"no heartbeat from {TEMPORAL_WORKER}"
    if await temporal_pollers(settings) == 0:
        return f"no pollers on task queue {settings.temporal_task_queue}"
    return None


async def consumers_verdict(settings: Settings, groups: list[str]) -> str | None:
    stopped = missing(await loop_ages(settings, event_loops(groups)))
    return f"no heartbeat from {', '.join(stopped)}" if stopped else None
