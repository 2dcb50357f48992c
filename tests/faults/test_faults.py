"""The fault suite (issue 15): each fault hits while students enroll and complete lessons over
HTTP; afterwards every acknowledged write is stored once, every event's effect happened exactly
once (notifications, certificates with PDFs, analytics counters), /readyz named the fault while
it lasted, and the system was ready again within 30 s with no hand on it.

The tests share one running system and run in this order, the broker last: the local broker
keeps its log in memory, so its restart is the fault whose recovery leans on the most
(re-publishing from the outbox)."""

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Awaitable, Callable
from functools import partial

import httpx
import pytest
import ray
import redis

from actors.placement import actor_roles, shard_name
from core.settings import Settings
from serve.stack import LocalStack
from tests.conftest import System, terminate_backends
from tests.e2e.accounts import account, many_accounts
from tests.e2e.catalog import lesson_ids, poll, published_course
from tests.faults.checks import Readiness, settled, stored_once
from tests.faults.workload import Workload
from tests.redis_child import RedisChild

pytestmark = pytest.mark.faults
NAMESPACE = "smartcourse"
STUDENTS, MODULES, LESSONS = 10, 2, 2
READY_WITHIN_SECONDS = 30.0


def events_actor_names(settings: Settings) -> list[str]:
    """The actors that run the outbox relay and the consumer groups (actors.placement)."""
    return list(actor_roles(settings))


def sigkill(servers: LocalStack, name: str) -> Callable[[], Awaitable[None]]:
    async def inject() -> None:
        process = servers.started[name].process
        assert process is not None, f"{name} is not running"
        os.killpg(process.pid, signal.SIGKILL)

    return inject


def kill_actors(names: list[str]) -> Callable[[], Awaitable[None]]:
    async def inject() -> None:
        for name in names:
            ray.kill(ray.get_actor(name, namespace=NAMESPACE), no_restart=False)

    return inject


def restart_redis(settings: Settings, own: RedisChild | None) -> Callable[[], Awaitable[None]]:
    """Redis SIGKILLed and started again, empty (no persistence), when the session has a Redis
    of its own; without redis-server the machine's is shared with other processes and is not
    restarted, and losing everything it held (FLUSHDB of this run's db) stands in for it."""

    async def inject() -> None:
        if own is not None:
            await asyncio.to_thread(own.restart)
            return
        client = redis.Redis.from_url(settings.redis_url)
        try:
            client.flushdb()
        finally:
            client.close()

    return inject


async def exercise(
    system: System,
    client: httpx.AsyncClient,
    inject: Callable[[], Awaitable[None]],
    names: set[str] | None,
) -> None:
    """Run the workload, inject the fault a third of the way in, and check everything; all
    problems are reported together."""
    settings = system.settings
    owner = await account(settings, "instructor")
    course = await published_course(client, owner, modules=MODULES, lessons=LESSONS)
    lessons = lesson_ids(course)
    workload = Workload(client, await many_accounts(settings, STUDENTS), course["id"], lessons)
    with Readiness(client) as readiness:
        running = asyncio.get_running_loop().create_task(workload.run())
        await workload.acknowledged(0.3, running)
        began = time.monotonic()
        await inject()
        acks = await running

        async def ready() -> bool:
            return readiness.ready_after(began) is not None

        with contextlib.suppress(AssertionError):  # judged below, with everything else
            await poll(ready, within=max(1.0, began + READY_WITHIN_SECONDS + 5 - time.monotonic()))
    problems = await stored_once(settings, course["id"], acks)
    if len(acks.enrollments) < STUDENTS:
        problems.append(f"only {len(acks.enrollments)} of {STUDENTS} enrollments acked")
    problems += await settled(settings, course["id"], acks, len(lessons), MODULES)
    if names is not None and not readiness.named(began, names):
        problems.append(f"/readyz never named {names}: {readiness.unready(began)}")
    took = readiness.ready_after(began)
    if took is None or took > READY_WITHIN_SECONDS:
        last = readiness.seen[-1][2] if readiness.seen else "nothing"
        problems.append(
            f"not ready within {READY_WITHIN_SECONDS}s: {readiness.unready(began)}; last: {last}"
        )
    assert not problems, "\n".join([*problems, f"retried: {dict(acks.retried)}"])


async def test_celery_worker_sigkill(
    system: System, client: httpx.AsyncClient, servers: LocalStack
) -> None:
    await exercise(system, client, sigkill(servers, "celery"), {"celery"})


async def test_temporal_sigkill_and_restart(
    system: System, client: httpx.AsyncClient, servers: LocalStack
) -> None:
    await exercise(system, client, sigkill(servers, "temporal"), {"temporal"})


async def test_redis_restart(
    system: System, client: httpx.AsyncClient, own_redis: RedisChild | None
) -> None:
    names = {"redis", "consumers", "temporal_worker"}
    await exercise(system, client, restart_redis(system.settings, own_redis), names)


async def test_every_postgres_backend_terminated(system: System, client: httpx.AsyncClient) -> None:
    # Over in an instant; the relay's NOTIFY listener (and whichever loop was in a statement)
    # fails with it, and readiness names the loop until it has worked again for a while.
    names = {"outbox", "consumers"}
    await exercise(system, client, partial(terminate_backends, system.settings), names)


async def test_shard_sigkill(system: System, client: httpx.AsyncClient) -> None:
    await exercise(system, client, kill_actors([shard_name(0)]), {"shards"})


async def test_events_actor_killed(system: System, client: httpx.AsyncClient) -> None:
    names = {"outbox", "consumers"}
    await exercise(system, client, kill_actors(events_actor_names(system.settings)), names)


async def test_broker_sigkill_then_supervisor_restart(
    system: System, client: httpx.AsyncClient, servers: LocalStack
) -> None:
    # Down for under a second; then the relay and the groups, back on an empty log, are named
    # until the replay has started and they have worked for a while.
    names = {"kafka", "outbox", "consumers"}
    await exercise(system, client, sigkill(servers, "kafka"), names)
