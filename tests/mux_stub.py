"""A local stand-in for Mux (https://docs.mux.com): a real HTTP server on 127.0.0.1, started
in a thread by the `mux_stub` fixture, speaking Mux Video's documented API for direct uploads
and assets, and building the webhook events Mux would send as the upload goes on.

- `POST /video/v1/uploads` (HTTP basic auth with the token id and secret) → `201
  {"data": {"id", "url", "status": "waiting", "timeout", "cors_origin", "new_asset_settings"}}`
- `GET /video/v1/uploads/{id}` and `GET /video/v1/assets/{id}` → `{"data": {...}}`
- a wrong token is `401 {"error": {"type": "unauthorized", "messages": [...]}}`

`failing_with(status)` makes the API answer errors, `slow(seconds)` makes it late (timeouts)
and then answer an error.
The event builders (`asset_created`, `asset_ready`, `asset_errored`, `upload_cancelled`)
update the stub's objects as Mux would and return the event body, which tests sign and post
to `/webhooks/mux`.
"""

from __future__ import annotations

import base64
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.servers import free_port, wait_for_port

TOKEN_ID = "stub-token-id"
TOKEN_SECRET = "stub-token-secret"


def _mux_id() -> str:
    return uuid.uuid4().hex + uuid.uuid4().hex[:8]


def _error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"type": kind, "messages": [message]}}, status_code=status)


@dataclass
class MuxStub:
    port: int = field(default_factory=free_port)
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)
    assets: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: (method, path, JSON body) of every authorised API request, oldest first.
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    failure: int | None = None
    delay: float = 0.0
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- the server ------------------------------------------------------------------------

    def start(self) -> MuxStub:
        app = Starlette(
            routes=[
                Route("/video/v1/uploads", self._create_upload, methods=["POST"]),
                Route("/video/v1/uploads/{upload_id}", self._get_upload, methods=["GET"]),
                Route("/video/v1/assets/{asset_id}", self._get_asset, methods=["GET"]),
            ]
        )
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=5)

    def reset(self) -> None:
        self.uploads.clear()
        self.assets.clear()
        self.requests.clear()
        self.failure, self.delay = None, 0.0

    def failing_with(self, status: int) -> None:
        self.failure = status

    def slow(self, seconds: float) -> None:
        self.delay = seconds

    def _authorised(self, request: Request) -> bool:
        expected = base64.b64encode(f"{TOKEN_ID}:{TOKEN_SECRET}".encode()).decode()
        return request.headers.get("authorization") == f"Basic {expected}"

    async def _guard(self, request: Request) -> JSONResponse | None:
        if self.delay:
            # Blocks the server's thread, so the client's timeout runs out; the late answer
            # creates nothing (a later test would find it in the stub otherwise).
            time.sleep(self.delay)
            return _error(504, "timeout", "Too late")
        if not self._authorised(request):
            return _error(401, "unauthorized", "Unauthorized request")
        if self.failure is not None:
            return _error(
                self.failure, "server_error" if self.failure >= 500 else "invalid_parameters", "Failed"
            )
        return None

    async def _create_upload(self, request: Request) -> JSONResponse:
        if refused := await self._guard(request):
            return refused
        body = await request.json()
        self.requests.append(("POST", request.url.path, body))
        upload_id = _mux_id()
        upload = {
            "id": upload_id,
            "url": f"{self.url}/upload/{upload_id}?signature=stub",
            "status": "waiting",
            "timeout": 3600,
            "cors_origin": body.get("cors_origin"),
            "new_asset_settings": body.get("new_asset_settings", {}),
        }
        self.uploads[upload_id] = upload
        return JSONResponse({"data": upload}, status_code=201)

    async def _get_upload(self, request: Request) -> JSONResponse:
        if refused := await self._guard(request):
            return refused
        upload = self.uploads.get(request.path_params["upload_id"])
        if upload is None:
            return _error(
                404,
                "not_found",
                "The requested resource either doesn't exist or you don't have access to it.",
            )
        return JSONResponse({"data": upload})

    async def _get_asset(self, request: Request) -> JSONResponse:
        if refused := await self._guard(request):
            return refused
        asset = self.assets.get(request.path_params["asset_id"])
        if asset is None:
            return _error(
                404,
                "not_found",
                "The requested resource either doesn't exist or you don't have access to it.",
            )
        return JSONResponse({"data": asset})

    # -- what Mux does next, as webhook events -----------------------------------------------

    def _event(self, event_type: str, object_type: str, data: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": event_type,
            "object": {"type": object_type, "id": data["id"]},
            "id": str(uuid.uuid4()),
            "environment": {"name": "Development", "id": "stub-environment"},
            "data": dict(data),
            "created_at": "2026-11-26T10:00:00.000000Z",
            "attempts": [],
            "accessor_source": None,
            "accessor": None,
            "request_id": None,
        }

    def asset_created(self, upload_id: str) -> dict[str, Any]:
        """The file arrived: Mux creates the asset (`preparing`) and reports it on the upload."""
        upload = self.uploads[upload_id]
        settings = upload["new_asset_settings"]
        asset_id = _mux_id()
        self.assets[asset_id] = {
            "id": asset_id,
            "status": "preparing",
            "upload_id": upload_id,
            "passthrough": settings.get("passthrough"),
            "playback_ids": [
                {"id": _mux_id(), "policy": policy} for policy in settings.get("playback_policy", [])
            ],
            "created_at": "1764151200",
        }
        upload.update(status="asset_created", asset_id=asset_id)
        return self._event("video.upload.asset_created", "upload", upload)

    def asset_ready(self, asset_id: str, duration: float = 754.3) -> dict[str, Any]:
        asset = self.assets[asset_id]
        asset.update(status="ready", duration=duration, max_stored_resolution="HD", aspect_ratio="16:9")
        return self._event("video.asset.ready", "asset", asset)

    def asset_errored(self, asset_id: str, *messages: str) -> dict[str, Any]:
        asset = self.assets[asset_id]
        asset.update(status="errored", errors={"type": "invalid_input", "messages": list(messages)})
        return self._event("video.asset.errored", "asset", asset)

    def upload_cancelled(self, upload_id: str) -> dict[str, Any]:
        upload = self.uploads[upload_id]
        upload.update(status="cancelled")
        return self._event("video.upload.cancelled", "upload", upload)
