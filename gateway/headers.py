"""Security headers on every answer of the gateway, errors and 413s from middleware included.

The API answers JSON with personal data and tokens, so nothing may be sniffed as another type,
framed, or kept in a cache; only the self-hosted Swagger UI under /docs may run its page
script. (The `Server: uvicorn` banner is added by uvicorn below any middleware; HAProxy deletes
it, see serve/haproxy.py.)
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
]
DOCS_POLICY = (
    b"default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data:; frame-ancestors 'none'"
)
NO_STORE = (b"cache-control", b"no-store")
DOCS_PREFIXES = ("/docs",)


def security_headers(path: str, present: set[bytes]) -> list[tuple[bytes, bytes]]:
    """The headers to add to a response for `path` that already carries `present`."""
    docs = path.startswith(DOCS_PREFIXES)
    added = [
        (name, DOCS_POLICY if docs and name == b"content-security-policy" else value)
        for name, value in API_HEADERS
        if name not in present
    ]
    # Static docs assets may be cached; every API answer (tokens above all) may not.
    if not docs and b"cache-control" not in present:
        added.append(NO_STORE)
    return added


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server"]
                present = {name.lower() for name, _ in headers}
                message["headers"] = headers + security_headers(path, present)
            await send(message)

        await self.app(scope, receive, send_with_headers)
