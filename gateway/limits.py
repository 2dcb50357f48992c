"""Request body size limit with the API's error envelope (413), before the body is read."""

import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.errors import PayloadTooLarge


class BodyLimitMiddleware:
    """Refuses a declared Content-Length over the limit at once; a chunked body is counted as
    it arrives and refused when it passes the limit."""

    # Course materials are uploaded as multipart files with their own, larger cap.
    UPLOADS = re.compile(r"^/courses/[^/]+/materials/?$")

    def __init__(self, app: ASGIApp, max_bytes: int, upload_max_bytes: int) -> None:
        self.app, self.max_bytes, self.upload_max_bytes = app, max_bytes, upload_max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload_max_bytes if self.UPLOADS.match(scope["path"]) else self.max_bytes
        declared = dict(scope.get("headers", ())).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self.refuse(send, limit)
            return
        seen, refused = 0, False

        async def counting_receive() -> Message:
            # FastAPI turns any error raised while it reads the body into a 400, so the 413 is
            # sent from here and the app is told the client went away.
            nonlocal seen, refused
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit and not refused:
                refused = True
                await self.refuse(send, limit)
            return {"type": "http.disconnect"} if refused else message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, counting_receive, guarded_send)

    async def refuse(self, send: Send, limit: int) -> None:
        message = f"The request body is over {limit} bytes"
        body = json.dumps(
            {"error": {"code": PayloadTooLarge.code, "message": message, "details": None}}
        ).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
