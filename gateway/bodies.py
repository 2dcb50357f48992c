"""JSON request bodies checked before anything parses them: UTF-8 only (415 for another
declared charset, 400 for bytes that are not UTF-8) and nested at most `max_depth` levels
(400): a body nested 1,000 deep used to reach Python's recursion limit inside the parser, and
`json.loads` would also accept UTF-16 and UTF-32 silently.

The body is already bounded by BodyLimitMiddleware, which runs outside this one, so buffering
it here costs at most that limit.
"""

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import envelope

WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})
STRUCTURAL = re.compile(rb'[\[\]{}"\\]')
UTF8 = frozenset({"utf-8", "utf8"})


def json_depth_exceeds(body: bytes, max_depth: int) -> bool:
    """Whether the JSON text nests arrays/objects deeper than `max_depth`; brackets inside
    strings do not count. Scans only structural bytes, so a 1 MB body costs milliseconds."""
    depth, in_string, escaped_at = 0, False, -1
    for match in STRUCTURAL.finditer(body):
        char, at = match.group(), match.start()
        if in_string:
            if at == escaped_at:
                continue
            if char == b"\\":
                escaped_at = at + 1
            elif char == b'"':
                in_string = False
        elif char == b'"':
            in_string = True
        elif char in (b"[", b"{"):
            depth += 1
            if depth > max_depth:
                return True
        elif char in (b"]", b"}"):
            depth -= 1
    return False


def media_type(scope: Scope) -> tuple[str, str | None]:
    """The request's media type and declared charset (lower case), `("", None)` when absent."""
    raw = dict(scope.get("headers", ())).get(b"content-type", b"").decode("latin-1")
    media, *params = (part.strip().lower() for part in raw.split(";"))
    charsets = [p.split("=", 1)[1].strip('"') for p in params if p.startswith("charset=")]
    charset = charsets[0] if charsets else None
    return media, charset


def is_json(media: str) -> bool:
    # FastAPI reads a body without a content type as JSON too.
    return media in ("", "application/json") or media.endswith("+json")


class JsonBodyMiddleware:
    def __init__(self, app: ASGIApp, max_depth: int = 32) -> None:
        self.app, self.max_depth = app, max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in WITH_BODY:
            await self.app(scope, receive, send)
            return
        media, charset = media_type(scope)
        if not is_json(media):
            await self.app(scope, receive, send)
            return
        if charset is not None and charset not in UTF8:
            message = "JSON bodies must be UTF-8"
            await envelope(415, "unsupported_media_type", message)(scope, receive, send)
            return
        body, last = await self.read_body(receive)
        problem = self.problem(body) if last["type"] == "http.request" else None
        if problem:
            await envelope(400, "malformed_json", problem)(scope, receive, send)
            return
        await self.app(scope, self.replay(body, last, receive), send)

    @staticmethod
    async def read_body(receive: Receive) -> tuple[bytes, Message]:
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks), message
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(chunks), message

    def problem(self, body: bytes) -> str | None:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return "The request body is not valid UTF-8"
        if json_depth_exceeds(body, self.max_depth):
            return f"The JSON body is nested deeper than {self.max_depth} levels"
        return None

    @staticmethod
    def replay(body: bytes, last: Message, receive: Receive) -> Receive:
        """The buffered body once (or the disconnect that ended it), then the real channel."""
        pending: list[Message] = [
            {"type": "http.request", "body": body, "more_body": False}
            if last["type"] == "http.request"
            else last
        ]

        async def replaying() -> Message:
            return pending.pop() if pending else await receive()

        return replaying
