"""The error envelope of API.md, applied in exactly one place to every error the gateway answers."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from ray.exceptions import RayTaskError
from starlette.exceptions import HTTPException

from core.errors import DomainError

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    503: "dependency_unavailable",
}


def envelope(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details}}
    return JSONResponse(body, status_code=status, headers=headers)


def domain_error_response(error: DomainError) -> JSONResponse:
    retry_after = getattr(error, "retry_after", None)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return envelope(error.status, error.code, error.message, error.details, headers)


def validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {
            "field": ".".join(str(part) for part in err["loc"] if part != "body"),
            "message": err["msg"],
        }
        for err in exc.errors()
    ]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def on_domain_error(request: Request, exc: DomainError) -> JSONResponse:
        return domain_error_response(exc)

    @app.exception_handler(RayTaskError)
    async def on_service_error(request: Request, exc: RayTaskError) -> JSONResponse:
        # A service raised; Ray wraps the error, its cause is ours when it is a DomainError.
        cause = exc.cause if isinstance(exc.cause, Exception) else None
        if isinstance(cause, DomainError):
            return domain_error_response(cause)
        log.error("event=service_error error=%s", type(cause or exc).__name__, exc_info=exc)
        return envelope(500, "internal_error", "Internal error")

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        if any(err.get("type") == "json_invalid" for err in exc.errors()):
            return envelope(400, "malformed_json", "The request body is not valid JSON")
        return envelope(
            422, "validation_error", "Request validation failed", validation_details(exc)
        )

    @app.exception_handler(HTTPException)
    async def on_http_error(request: Request, exc: HTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        return envelope(exc.status_code, code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("event=unhandled_error error=%s", type(exc).__name__, exc_info=exc)
        return envelope(500, "internal_error", "Internal error")
