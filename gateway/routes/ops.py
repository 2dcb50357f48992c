"""Operations: liveness, readiness (each dependency named) and Prometheus metrics."""

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.context import GatewayContext, context
from storage.health import probe_all

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(ctx: GatewayContext = Depends(context)) -> JSONResponse:
    results = await probe_all(ctx.settings)
    down = {name: reason for name, reason in results.items() if reason is not None}
    dependencies = {name: ("ok" if reason is None else reason) for name, reason in results.items()}
    if not down:
        return JSONResponse({"status": "ready", "dependencies": dependencies})
    message = "Unavailable: " + ", ".join(sorted(down))
    body = {
        "error": {"code": "dependency_unavailable", "message": message, "details": dependencies}
    }
    return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
