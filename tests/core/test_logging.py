"""Logging on the request path: one JSON line per request, built only when `INFO` is on;
other libraries' records and secrets are rendered as before."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from studyhall.core import middleware
from studyhall.main import create_app
from tests.conftest import make_settings


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def info(self, event: str, **fields: Any) -> None:
        self.calls.append((event, fields))


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


async def test_a_disabled_access_line_is_not_even_built(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder()
    monkeypatch.setattr(middleware, "logger", recorder)
    app = create_app(make_settings(database_url, tmp_path, log_level="WARNING"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            assert (await client.get("/health/live")).status_code == 200
    assert recorder.calls == []

    logging.getLogger().setLevel(logging.INFO)  # the same app logs it once INFO is on
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            assert (await client.get("/health/live")).status_code == 200
    assert [event for event, _ in recorder.calls] == ["request"]


async def test_each_request_writes_one_json_access_line(
    client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    response = await client.get("/health/live", headers={"X-Request-ID": "line-1"})

    lines = [line for line in json_lines(capsys.readouterr().err) if line.get("event") == "request"]
    assert response.status_code == 200
    assert len(lines) == 1
    assert lines[0] | {"duration_ms": 0, "timestamp": ""} == {
        "event": "request",
        "method": "GET",
        "path": "/health/live",
        "route": "/health/live",
        "status": 200,
        "duration_ms": 0,
        "request_id": "line-1",
        "level": "info",
        "logger": "studyhall.request",
        "timestamp": "",
    }
    assert isinstance(lines[0]["duration_ms"], float)
    assert lines[0]["timestamp"].endswith("Z")


async def test_other_libraries_records_and_secrets_render_as_json(
    client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    import structlog

    capsys.readouterr()
    logging.getLogger("uvicorn.error").warning("worker %s started", 3)
    structlog.get_logger("studyhall.test").info("signed_in", token="abc123", user="u1")

    lines = json_lines(capsys.readouterr().err)
    foreign = next(line for line in lines if line.get("logger") == "uvicorn.error")
    ours = next(line for line in lines if line.get("event") == "signed_in")
    assert (foreign["event"], foreign["level"]) == ("worker 3 started", "warning")
    assert (ours["token"], ours["user"], ours["level"]) == ("[redacted]", "u1", "info")
    assert "abc123" not in json.dumps(lines)
