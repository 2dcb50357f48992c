"""Readiness of the pipelines, put together: the storage-level checks of `storage.pipelines`
(outbox, heartbeats, Kafka lag, Temporal pollers) and the Celery side (`workflows.celery_status`).

`verdicts()` is what /readyz asks (cheap, concurrent, each bounded by
`dependency_timeout_seconds`): per pipeline None when it runs, or a short reason.
`figures()` is what GET /status shows beside them.
"""

import asyncio
from collections.abc import Awaitable
from dataclasses import asdict
from typing import Any

from core.settings import Settings
from storage.pipelines import (
    TEMPORAL_WORKER,
    bounded,
    consumer_lag,
    consumers_verdict,
    event_loops,
    failure,
    loop_ages,
    outbox_state,
    outbox_verdict,
    temporal_pollers,
    temporal_verdict,
)
from workflows.celery_status import celery_workers, queue_depths

PIPELINES = ("outbox", "consumers", "celery", "temporal_worker")


async def celery_verdict(settings: Settings) -> str | None:
    workers = await asyncio.to_thread(celery_workers, settings, True)
    return None if workers else "no worker answered a ping"


async def verdicts(settings: Settings, groups: list[str]) -> dict[str, str | None]:
    """Each pipeline's state, checked concurrently: None when it runs, else why not."""

    async def outbox() -> str | None:
        return outbox_verdict(settings, await outbox_state(settings))

    checks = {
        "outbox": outbox(),
        "consumers": consumers_verdict(settings, groups),
        "celery": celery_verdict(settings),
        "temporal_worker": temporal_verdict(settings),
    }
    results = await asyncio.gather(
        *(bounded(settings, check) for check in checks.values()), return_exceptions=True
    )
    return {
        name: failure(result) if isinstance(result, BaseException) else result
        for name, result in zip(checks, results, strict=True)
    }


async def attempt(settings: Settings, check: Awaitable[Any]) -> Any:
    """A figure, or the reason it could not be read (a status page shows what it can)."""
    try:
        return await bounded(settings, check)
    except Exception as error:
        return {"error": failure(error)}


async def figures(settings: Settings, groups: dict[str, list[str]]) -> dict[str, Any]:
    """The numbers behind the verdicts, for GET /status."""

    async def outbox() -> dict[str, Any]:
        return asdict(await outbox_state(settings))

    names = [*event_loops(list(groups)), TEMPORAL_WORKER]
    keys = ("outbox", "heartbeat_ages_seconds", "consumer_lag", "celery_workers", "queues")
    values = await asyncio.gather(
        attempt(settings, outbox()),
        attempt(settings, loop_ages(settings, names)),
        attempt(settings, consumer_lag(settings, groups)),
        attempt(settings, asyncio.to_thread(celery_workers, settings, False)),
        attempt(settings, asyncio.to_thread(queue_depths, settings)),
        attempt(settings, temporal_pollers(settings)),
    )
    result = dict(zip(keys, values[:-1], strict=True))
    result["temporal"] = {"task_queue": settings.temporal_task_queue, "pollers": values[-1]}
    return result
