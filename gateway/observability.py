"""Per-request plumbing: the request id in every log line, Prometheus request metrics
labelled by route template (never the raw path, so cardinality stays bounded), and the
request id on the request's trace span (FastAPI's own, which it names after that template).

Serve's proxy assigns `x-request-id` (keeping a client's own) and puts it on the response; the
middleware reads it from the request so logs carry the same id."""

import re
import time
import uuid

from opentelemetry import trace
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.logs import request_id

REQUESTS = Counter(
    "smartcourse_http_requests_total", "HTTP requests", ["method", "route", "status"]
)
LATENCY = Histogram(
    "smartcourse_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0),
)
REQUEST_ID_HEADER = b"x-request-id"
REQUEST_ID_ATTRIBUTE = "smartcourse.request_id"
# Only plain ids reach the logs, so a client cannot forge log lines through the header.
SAFE_ID = re.compile(rb"[A-Za-z0-9._-]+")


def incoming_request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER and 0 < len(value) <= 128 and SAFE_ID.fullmatch(value):
            return value.decode("ascii")
    return uuid.uuid4().hex


class RequestContextMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware) so the hot path pays one function call."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = incoming_request_id(scope)
        token = request_id.set(rid)
        # FastAPI's server span (it names it after the route template) is current here, and
        # ends with the response: the request id that finds it goes on first.
        trace.get_current_span().set_attribute(REQUEST_ID_ATTRIBUTE, rid)
        status = 500
        started = time.perf_counter()

        async def send_recording_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_recording_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "-")
            REQUESTS.labels(method, template, str(status)).inc()
            LATENCY.labels(method, template, str(status)).observe(time.perf_counter() - started)
            request_id.reset(token)
