"""Readiness of the pipelines, put together: the storage-level checks of `storage.pipelines`
(outbox, heartbeats, Kafka lag, Temporal pollers) and the Celery side (`workflows.celery_status`).

`verdicts()` is what /readyz asks (cheap, concurrent, each bounded by
`dependency_timeout_seconds`): per pipeline None when it runs, or a short reason.
`ActorProbe.verdicts()` adds what only the actors can tell, asked directly: a shard or an events
actor that does not answer (killed, restarting: `shards`, `outbox`, `consumers`), a shard that
(re)started less than `loop_settle_seconds` ago (Ray restarts one in well under a second) and a
loop that is failing or just recovered (a terminated database connection is over in a second,
and no heartbeat would show it). `figures()` is what GET /status shows beside them.

The probe holds the actors' handles, so the gateway keeps one per replica (its context).
"""

import asyncio
from collections.abc import Awaitable
from dataclasses import asdict
from typing import Any

import ray

from actors.placement import RELAY, actor_roles, shard_names
from actors.shards import NAMESPACE
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

PIPELINES = ("outbox", "consumers", "celery", "temporal_worker", "shards")


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


class ActorProbe:
    """Asks the actors directly. Each handle is looked up once, and again after a call failed."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._handles: dict[str, ray.actor.ActorHandle] = {}

    async def ask(self, name: str, method: str) -> tuple[Any, str | None]:
        """(answer, None) from the named actor's `method`, or (None, why there is none)."""
        try:
            if name not in self._handles:
                self._handles[name] = await asyncio.to_thread(ray.get_actor, name, NAMESPACE)
            call = getattr(self._handles[name], method).remote()
            timeout = self._settings.actor_probe_timeout_seconds
            return await asyncio.wait_for(call, timeout), None
        except TimeoutError:
            return None, f"{name} does not answer"
        except Exception as error:  # gone for good, or not created yet: look it up again next time
            self._handles.pop(name, None)
            return None, f"{name}: {type(error).__name__}"

    async def verdicts(self) -> dict[str, str | None]:
        """`outbox`, `consumers` and `shards` as the actors running them answer."""
        settings = self._settings
        roles = actor_roles(settings)
        shards = shard_names(settings)
        answers = await asyncio.gather(
            *(self.ask(name, "health") for name in roles),
            *(self.ask(name, "stats") for name in shards),
        )
        found: dict[str, list[str]] = {"outbox": [], "consumers": [], "shards": []}
        for runs, (loops, reason) in zip(roles.values(), answers, strict=False):
            if reason is not None and RELAY in runs:
                found["outbox"].append(reason)
            if reason is not None and set(runs) - {RELAY}:
                found["consumers"].append(reason)
            for loop, trouble in (loops or {}).items():
                if trouble is not None:
                    where = "consumers" if loop.startswith("consumer:") else "outbox"
                    found[where].append(trouble)
        found["shards"] = [
            reason or f"{name} restarted {stats['up_seconds']:.1f}s ago"
            for name, (stats, reason) in zip(shards, answers[len(roles) :], strict=True)
            if reason is not None or stats["up_seconds"] < settings.loop_settle_seconds
        ]
        return {pipeline: "; ".join(reasons) or None for pipeline, reasons in found.items()}


def combined(*verdicts: dict[str, str | None]) -> dict[str, str | None]:
    """Each pipeline's reasons from every source, or None when none has one."""
    names = dict.fromkeys(name for verdict in verdicts for name in verdict)
    return {
        name: "; ".join(r for verdict in verdicts if (r := verdict.get(name))) or None
        for name in names
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
