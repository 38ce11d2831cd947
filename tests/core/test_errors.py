"""Every kind of error renders as an RFC 9457 problem document; request ids everywhere."""

from __future__ import annotations

import logging
import uuid

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, Field

from studyhall.core.deps import SessionDep
from studyhall.core.errors import Conflict, RateLimited, Unauthenticated
from studyhall.core.events import OutboxEvent, emit
from tests.factories import assert_problem


class WidgetAlreadyExists(Conflict):
    code = "widget_exists"
    title = "Widget already exists"


class WidgetRevoked(Conflict):
    code = "widget_revoked"
    keeps_changes = True


class WidgetIn(BaseModel):
    name: str = Field(min_length=2)
    size: int = Field(ge=1)


def install_probe_routes(app: FastAPI) -> None:
    router = APIRouter(prefix="/_probe")

    @router.get("/conflict")
    async def conflict() -> None:
        raise WidgetAlreadyExists("a widget named 'x' exists")

    @router.get("/unauthenticated")
    async def unauthenticated() -> None:
        raise Unauthenticated("token expired")

    @router.get("/limited")
    async def limited() -> None:
        raise RateLimited(retry_after=17)

    @router.post("/widgets")
    async def create_widget(widget: WidgetIn) -> WidgetIn:
        return widget

    @router.get("/crash")
    async def crash() -> None:
        raise RuntimeError("database password is hunter2")

    @router.post("/write-then-fail")
    async def write_then_fail(session: SessionDep) -> None:
        emit(session, "probe.written", {"n": 1})
        await session.flush()
        raise WidgetAlreadyExists()

    @router.post("/write-keep-then-fail")
    async def write_keep_then_fail(session: SessionDep) -> None:
        emit(session, "probe.kept", {"n": 3})
        await session.flush()
        raise WidgetRevoked()

    @router.post("/write")
    async def write(session: SessionDep) -> dict[str, str]:
        event = emit(session, "probe.written", {"n": 2})
        await session.flush()
        return {"id": str(event.id)}

    app.include_router(router)


@pytest.fixture
def probe_app(app: FastAPI) -> FastAPI:
    install_probe_routes(app)
    return app


async def test_domain_error_renders_its_code_and_detail(
    probe_app: FastAPI, client: httpx.AsyncClient
) -> None:
    body = assert_problem(await client.get("/_probe/conflict"), 409, "widget_exists")
    assert body["title"] == "Widget already exists"
    assert body["detail"] == "a widget named 'x' exists"


async def test_unauthenticated_carries_www_authenticate(
    probe_app: FastAPI, client: httpx.AsyncClient
) -> None:
    response = await client.get("/_probe/unauthenticated")
    assert_problem(response, 401, "not_authenticated")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_rate_limited_carries_retry_after(probe_app: FastAPI, client: httpx.AsyncClient) -> None:
    response = await client.get("/_probe/limited")
    assert_problem(response, 429, "rate_limited")
    assert response.headers["retry-after"] == "17"


async def test_validation_error_lists_each_field(probe_app: FastAPI, client: httpx.AsyncClient) -> None:
    body = assert_problem(
        await client.post("/_probe/widgets", json={"name": "x", "size": 0}), 422, "validation_error"
    )
    errors = body["errors"]
    assert isinstance(errors, list)
    assert {tuple(e["loc"]) for e in errors} == {("body", "name"), ("body", "size")}
    assert all(set(e) == {"loc", "msg", "type"} for e in errors)


async def test_malformed_json_is_a_validation_error(probe_app: FastAPI, client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/_probe/widgets", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_problem(response, 422, "validation_error")


async def test_undecodable_body_is_a_validation_error(probe_app: FastAPI, client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/_probe/widgets", content=b"\x80\x81\xfe garbage", headers={"content-type": "application/json"}
    )
    body = assert_problem(response, 422, "validation_error")
    errors = body["errors"]
    assert isinstance(errors, list)
    assert [e["type"] for e in errors] == ["json_invalid"]


async def test_allow_lists_every_method_of_the_path(probe_app: FastAPI, client: httpx.AsyncClient) -> None:
    response = await client.delete("/_probe/widgets")
    assert_problem(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "POST"
    health = await client.post("/health/live")
    assert health.headers["allow"] == "GET"


async def test_unknown_route_is_404_problem(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/no/such/route"), 404, "not_found")


async def test_wrong_method_is_405_problem(client: httpx.AsyncClient) -> None:
    response = await client.delete("/health/live")
    assert_problem(response, 405, "method_not_allowed")
    assert "GET" in response.headers["allow"]


async def test_unexpected_exception_is_generic_500_with_logged_request_id(
    probe_app: FastAPI, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        response = await client.get("/_probe/crash", headers={"X-Request-ID": "crash-123"})
    body = assert_problem(response, 500, "internal_error")
    assert body["request_id"] == "crash-123"
    assert response.headers["x-request-id"] == "crash-123"
    assert "hunter2" not in response.text and "Traceback" not in response.text
    crash_logs = [r for r in caplog.records if "unhandled_exception" in str(r.msg)]
    assert crash_logs, "the crash must be logged"
    assert "crash-123" in str(crash_logs[0].msg)
    assert crash_logs[0].exc_info is not None


async def test_request_id_is_generated_when_absent(client: httpx.AsyncClient) -> None:
    first = await client.get("/health/live")
    second = await client.get("/health/live")
    assert len(first.headers["x-request-id"]) == 32
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_request_id_is_echoed_and_unsafe_ones_replaced(client: httpx.AsyncClient) -> None:
    echoed = await client.get("/health/live", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    unsafe = await client.get("/health/live", headers={"X-Request-ID": "bad id\twith spaces"})
    assert unsafe.headers["x-request-id"] != "bad id\twith spaces"
    assert_problem(await client.get("/missing", headers={"X-Request-ID": "r-404"}), 404, "not_found")


async def test_request_session_rolls_back_on_error(probe_app: FastAPI, client: httpx.AsyncClient) -> None:
    assert_problem(await client.post("/_probe/write-then-fail"), 409, "widget_exists")
    async with probe_app.state.database.sessionmaker() as session:
        assert await session.get(OutboxEvent, uuid.uuid4()) is None
        from sqlalchemy import func, select

        assert await session.scalar(select(func.count()).select_from(OutboxEvent)) == 0


async def test_error_that_keeps_changes_commits_them(probe_app: FastAPI, client: httpx.AsyncClient) -> None:
    assert_problem(await client.post("/_probe/write-keep-then-fail"), 409, "widget_revoked")
    async with probe_app.state.database.sessionmaker() as session:
        from sqlalchemy import select

        kinds = (await session.scalars(select(OutboxEvent.event_type))).all()
    assert kinds == ["probe.kept"]


async def test_request_session_commits_before_responding(
    probe_app: FastAPI, client: httpx.AsyncClient
) -> None:
    response = await client.post("/_probe/write")
    assert response.status_code == 200
    async with probe_app.state.database.sessionmaker() as session:
        event = await session.get(OutboxEvent, uuid.UUID(response.json()["id"]))
    assert event is not None and event.payload == {"n": 2}
