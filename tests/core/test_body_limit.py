"""Request bodies over MAX_REQUEST_BODY_BYTES are refused while they stream in (413).

No database is involved: an oversized body is refused before any route or query runs.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import APIRouter, FastAPI, Request

from studyhall.main import create_app
from tests.conftest import make_settings
from tests.factories import API, CHUNK, Upload, assert_problem, peak_memory
from tests.servers import free_port, wait_for_port

LIMIT = 1_048_576  # the default
MiB = 1024 * 1024
HUGE = 50 * MiB
#: A server that buffered the body would hold tens of MiB; one that streams holds a few chunks.
FLAT_MEMORY = 8 * MiB


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    data_dir = tmp_path_factory.mktemp("body-limit")
    application = create_app(make_settings(f"sqlite+aiosqlite:///{data_dir / 'unused.db'}", data_dir))
    assert application.state.settings.max_request_body_bytes == LIMIT
    router = APIRouter()

    @router.post("/_probe/body-size")
    async def body_size(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    application.include_router(router)
    return application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def assert_too_large(response: httpx.Response) -> None:
    body = assert_problem(response, 413, "payload_too_large")
    assert body["detail"] == f"The request body exceeds the limit of {LIMIT} bytes."
    assert response.headers["connection"] == "close"
    assert response.headers["x-request-id"]


LOGIN = f"{API}/auth/login"
JSON = {"content-type": "application/json"}


async def test_declared_length_over_the_limit_is_refused_before_reading(client: httpx.AsyncClient) -> None:
    upload = Upload(HUGE)
    response = await client.post(
        LOGIN, content=upload.chunks(), headers={**JSON, "content-length": str(LIMIT + 1)}
    )
    assert_too_large(response)
    assert upload.sent == 0


@pytest.mark.parametrize(
    ("path", "content_type"),
    [(LOGIN, "application/json"), ("/_probe/body-size", "application/octet-stream")],
    ids=["read-by-a-middleware", "read-by-a-route"],
)
async def test_chunked_body_is_cut_off_as_it_passes_the_limit(
    client: httpx.AsyncClient, path: str, content_type: str
) -> None:
    upload = Upload(HUGE)
    with peak_memory() as memory:
        response = await client.post(path, content=upload.chunks(), headers={"content-type": content_type})
    assert_too_large(response)
    assert upload.sent <= LIMIT + CHUNK, "reading stopped at the chunk that passed the limit"
    assert memory["peak"] < FLAT_MEMORY


async def test_bodies_up_to_the_limit_are_served(client: httpx.AsyncClient) -> None:
    for size in (LIMIT - 1, LIMIT):
        chunked = await client.post("/_probe/body-size", content=Upload(size).chunks())
        assert chunked.status_code == 200 and chunked.json() == {"size": size}
        declared = await client.post("/_probe/body-size", content=b"x" * size)
        assert declared.status_code == 200 and declared.json() == {"size": size}
    over = await client.post("/_probe/body-size", content=b"x" * (LIMIT + 1))
    assert_too_large(over)


async def test_login_body_just_under_the_limit_reaches_validation(client: httpx.AsyncClient) -> None:
    padding = LIMIT - len(b'{"email": "a@example.com", "password": ""}') - 1
    response = await client.post(LOGIN, json={"email": "a@example.com", "password": "p" * padding})
    body = assert_problem(response, 422, "validation_error")
    assert [error["loc"] for error in body["errors"]] == [["body", "password"]]  # type: ignore[index]


async def test_the_limit_is_a_setting(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", tmp_path, max_request_body_bytes=10)
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        over = await http.post(LOGIN, content=b"{" * 11, headers=JSON)
        assert_problem(over, 413, "payload_too_large")
        at_limit = await http.post(LOGIN, content=b"{" * 10, headers=JSON)
        assert_problem(at_limit, 422, "validation_error")


@contextmanager
def uvicorn_server(app: FastAPI) -> Iterator[str]:
    """The app behind a real uvicorn on a free loopback port, in a thread of this process."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_config=None)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for_port(port, timeout=15)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.mark.parametrize("declared", [False, True], ids=["chunked", "content-length"])
def test_real_server_stops_reading_an_oversized_body(app: FastAPI, declared: bool) -> None:
    """Over a socket, through uvicorn. The client is httpx's sync one: the async one pauses
    reading while it sends, so when a server answers early and closes it loses the answer (a
    client limitation that curl and browsers do not share); the sync one reads what arrived."""
    upload = Upload(HUGE)
    headers = {**JSON, **({"content-length": str(HUGE)} if declared else {})}
    with (
        uvicorn_server(app) as base_url,
        peak_memory() as memory,
        httpx.Client(base_url=base_url, timeout=30) as http,
    ):
        response = http.post(LOGIN, content=upload.sync_chunks(), headers=headers)
    assert_too_large(response)
    assert upload.sent < HUGE / 2, f"the client could send {upload.sent} bytes"
    assert memory["peak"] < FLAT_MEMORY


def test_every_operation_with_a_body_documents_the_413(app: FastAPI) -> None:
    operations = [
        op for item in app.openapi()["paths"].values() for op in item.values() if "requestBody" in op
    ]
    assert operations
    for operation in operations:
        documented = operation["responses"]["413"]
        assert "payload_too_large" in documented["description"]
        assert "application/problem+json" in documented["content"]
