"""Operations: liveness, readiness (each dependency and each pipeline named), the admin status
page with the figures behind readiness, and Prometheus metrics.

A scrape of /metrics also refreshes the pipeline gauges from the same checks as /readyz, so the
alert rules (deploy/prometheus/alerts.yml) see a loop without a heartbeat or a stuck outbox
without anyone asking /readyz."""

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Gauge

from actors.handlers import CONSUMERS
from core.errors import Forbidden
from core.identity import Principal, Role
from gateway.auth import current_principal
from gateway.context import GatewayContext, context
from serve import readiness as pipelines
from storage.health import probe_all
from storage.pipelines import TEMPORAL_WORKER, bounded, event_loops, loop_ages, outbox_state
from storage.telemetry import exposition

router = APIRouter(tags=["operations"])
# Set by the replica that answers a scrape: across replicas, the latest value counts.
PIPELINE_READY = Gauge(
    "smartcourse_pipeline_ready",
    "1 if /readyz finds it running",
    ["pipeline"],
    multiprocess_mode="mostrecent",
)
LOOP_ALIVE = Gauge(
    "smartcourse_loop_alive",
    "1 while the loop's heartbeat is live",
    ["loop"],
    multiprocess_mode="mostrecent",
)
OLDEST_PENDING = Gauge(
    "smartcourse_outbox_oldest_pending_seconds",
    "Age of the oldest unpublished outbox row",
    multiprocess_mode="mostrecent",
)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def states(results: dict[str, str | None]) -> dict[str, str]:
    return {name: ("ok" if reason is None else reason) for name, reason in results.items()}


async def readiness(ctx: GatewayContext) -> tuple[dict[str, str], dict[str, str]]:
    """Dependencies and pipelines, all probed at once (each bounded by the dependency timeout)."""
    dependencies, flows, actors = await asyncio.gather(
        probe_all(ctx.settings),
        pipelines.verdicts(ctx.settings, list(CONSUMERS)),
        ctx.actors.verdicts(),
    )
    return states(dependencies), states(pipelines.combined(flows, actors))


@router.get("/readyz")
async def readyz(ctx: GatewayContext = Depends(context)) -> JSONResponse:
    dependencies, flows = await readiness(ctx)
    down = sorted(name for name, state in {**dependencies, **flows}.items() if state != "ok")
    if not down:
        return JSONResponse({"status": "ready", "dependencies": dependencies, "pipelines": flows})
    body = {
        "error": {
            "code": "dependency_unavailable",
            "message": "Unavailable: " + ", ".join(down),
            "details": {**dependencies, **flows},
        }
    }
    return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})


@router.get("/status")
async def status(
    principal: Principal = Depends(current_principal), ctx: GatewayContext = Depends(context)
) -> dict[str, Any]:
    """Readiness with its figures: outbox backlog and oldest pending age, lag per consumer
    group, heartbeat ages, Celery workers and queue depths, Temporal pollers."""
    if principal.role is not Role.ADMIN:
        raise Forbidden("Only administrators see the system status")
    groups = {group: list(subscription.topics) for group, subscription in CONSUMERS.items()}
    (dependencies, flows), figures = await asyncio.gather(
        readiness(ctx), pipelines.figures(ctx.settings, groups)
    )
    ready = all(state == "ok" for state in (*dependencies.values(), *flows.values()))
    return {
        "status": "ready" if ready else "unavailable",
        "dependencies": dependencies,
        "pipelines": flows,
        **figures,
    }


async def refresh_pipeline_gauges(ctx: GatewayContext) -> None:
    """Each figure that can be read now; one that cannot keeps its last value (the readiness
    gauge of its pipeline says why not)."""
    settings, groups = ctx.settings, list(CONSUMERS)
    flows, ages, outbox = await asyncio.gather(
        pipelines.verdicts(settings, groups),
        bounded(settings, loop_ages(settings, [*event_loops(groups), TEMPORAL_WORKER])),
        bounded(settings, outbox_state(settings)),
        return_exceptions=True,
    )
    if isinstance(flows, dict):
        for name, reason in flows.items():
            PIPELINE_READY.labels(name).set(1 if reason is None else 0)
    if isinstance(ages, dict):
        for name, age in ages.items():
            LOOP_ALIVE.labels(name).set(0 if age is None else 1)
    if not isinstance(outbox, BaseException):
        OLDEST_PENDING.set(outbox.oldest_pending_seconds or 0.0)


@router.get("/metrics", include_in_schema=False)
async def metrics(ctx: GatewayContext = Depends(context)) -> Response:
    await refresh_pipeline_gauges(ctx)
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)
