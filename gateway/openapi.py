"""The OpenAPI document as API.md promises it: every operation lists the error statuses the
gateway can answer, each with the error envelope as its schema (also for 422, in place of
FastAPI's own validation-error schema), so clients and schemathesis' conformance checks see
the real contract."""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR_STATUSES = {
    "400": "Malformed request (bad JSON, nested too deep, not UTF-8)",
    "401": "No, bad or expired token",
    "403": "Authenticated but not allowed",
    "404": "Not found, or not visible to the caller",
    "409": "Conflict with the current state",
    "413": "Request body too large",
    "415": "Unsupported body encoding",
    "422": "Validation failed; details lists the fields",
    "429": "Rate limited; see Retry-After",
    "503": "A dependency is down; see Retry-After",
}
ENVELOPE_REF = {"$ref": "#/components/schemas/ErrorEnvelope"}
ENVELOPE_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {},
            },
        }
    },
}
FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def error_responses() -> dict[str, Any]:
    return {
        status: {"description": text, "content": {"application/json": {"schema": ENVELOPE_REF}}}
        for status, text in ERROR_STATUSES.items()
    }


def with_error_responses(spec: dict[str, Any]) -> dict[str, Any]:
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].update(error_responses())
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for name in FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    schemas["ErrorEnvelope"] = ENVELOPE_SCHEMA
    return spec


def install_openapi(app: FastAPI) -> None:
    """Replace `app.openapi` with one that documents the error envelope (built once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = with_error_responses(spec)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
