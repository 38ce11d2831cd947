"""The request body size limit, enforced while the body streams in."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from studyhall.core.errors import PayloadTooLarge, http_error_response


def declared_length(scope: Scope) -> int | None:
    """The request's `Content-Length`, or None when absent or unreadable (the server frames
    such bodies itself, and they are counted as they arrive)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimitMiddleware:
    """`413 payload_too_large` for a body over `max_bytes`: before reading anything when the
    declared `Content-Length` is over it, otherwise as soon as the bytes received so far pass
    it (chunked bodies). Nothing is buffered here, and the rest of an oversized body is never
    read, so memory stays flat whatever the client sends.

    Starlette's `RequestBodyLimitMiddleware` (FastAPI's `max_body_size`) does the counting
    too, but answers plain text from outside the request context (no problem document, no
    request id); this one sits inside it.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, unlimited_paths: tuple[str, ...] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        #: Path prefixes whose routes limit their bodies themselves (signed storage uploads).
        self.unlimited_paths = unlimited_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.unlimited_paths):
            await self.app(scope, receive, send)
            return
        declared = declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await http_error_response(PayloadTooLarge(self.max_bytes))(scope, receive, send)
            return
        received = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise PayloadTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except PayloadTooLarge as exc:  # read outside a route (middleware); routes render it themselves
            if response_started:
                raise
            await http_error_response(exc)(scope, receive, send)
