"""Request body size limits: refuse an oversized body before reading it, and stop reading one that lies.

A declared `Content-Length` over the limit is answered 413 at once. A body sent without one (chunked) or
with a false one is counted as it streams, and reading stops with 413 as soon as it passes the limit, so
a client can never make the bridge buffer more than the limit in memory or on disk.
"""
from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """Raised from inside `receive` when the streamed body passes the limit; FastAPI passes it through as 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"request body is larger than the limit of {_size(limit)}")


class BodyLimit:
    """ASGI middleware: `limits` maps a path prefix to its byte limit (longest prefix wins), else `default`."""

    def __init__(self, app: ASGIApp, default: int, limits: dict[str, int] | None = None) -> None:
        self.app = app
        self.default = default
        self.limits = sorted((limits or {}).items(), key=lambda item: -len(item[0]))

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.limits:
            if path.startswith(prefix):
                return limit
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared == -1:
            await JSONResponse({"detail": "Content-Length is not a number"}, status_code=400)(scope, receive, send)
            return
        if declared is not None and declared > limit:
            await JSONResponse({"detail": BodyTooLarge(limit).detail}, status_code=413)(scope, receive, send)
            return

        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge as exc:
            # raised where no exception handler saw it (outside a route's body parsing)
            if started:
                raise
            await JSONResponse({"detail": exc.detail}, status_code=413)(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    """The declared length, None when absent, -1 when malformed."""
    for key, value in scope["headers"]:
        if key.lower() == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else -1
    return None


def _size(limit: int) -> str:
    if limit >= 1024 * 1024 and limit % (1024 * 1024) == 0:
        return f"{limit // (1024 * 1024)} MB"
    if limit >= 1024 and limit % 1024 == 0:
        return f"{limit // 1024} KB"
    return f"{limit} bytes"
