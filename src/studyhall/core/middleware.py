"""Request context: request id, access log, request metrics, and the last-resort 500."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import TYPE_CHECKING

import structlog
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from studyhall.core.errors import internal_error_response
from studyhall.core.request_context import enter_request, leave_request

if TYPE_CHECKING:
    from studyhall.core.metrics import Metrics

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
logger = structlog.get_logger("studyhall.request")
#: The standard library's side of `logger`: its level check is cached, so a request costs
#: nothing to log when the access line is disabled (`LOG_LEVEL` above `INFO`).
_access_log = logging.getLogger("studyhall.request")


def _incoming_request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _VALID_REQUEST_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


def _route_template(scope: Scope) -> str:
    path: object = getattr(scope.get("route"), "path", None)
    return str(path) if isinstance(path, str) else "<unmatched>"


class RequestContextMiddleware:
    """Pure ASGI middleware (outermost) so it also wraps unexpected exceptions."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        context_token = enter_request(scope, request_id)
        started = time.perf_counter()
        status_holder = {"status": 500, "started": False}

        async def send_with_request_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = True
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        except Exception:
            logger.exception("unhandled_exception", method=scope.get("method"), path=scope.get("path"))
            if scope["type"] == "http" and not status_holder["started"]:
                response = internal_error_response(request_id)
                response.headers[REQUEST_ID_HEADER] = request_id
                await response(scope, receive, send)
            status_holder["status"] = 500
        finally:
            if scope["type"] == "http":
                self._record(scope, int(status_holder["status"]), time.perf_counter() - started)
            structlog.contextvars.unbind_contextvars("request_id")
            leave_request(context_token)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = _route_template(scope)
        method = scope.get("method", "GET")
        self.metrics.observe_request(method, route, status, seconds)
        if not _access_log.isEnabledFor(logging.INFO):
            return
        logger.info(
            "request",
            method=method,
            path=scope.get("path"),
            route=route,
            status=status,
            duration_ms=round(seconds * 1000, 2),
        )
