"""Dead database connections without a pre-ping round trip: a connection the server closed is
replaced at checkout, one lost mid-request answers 503 once, and the pool recovers."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from studyhall.core.deps import SessionDep
from tests.factories import assert_problem, create_user
from tests.statements import count_wire_statements, kinds

pytestmark = pytest.mark.postgresql_only

ME = "/api/v1/auth/me"


async def terminate_backends(database_url: str, *pids: int) -> int:
    """Ends the app's server connections (all of them, or `pids`) the way a restart or an
    administrator does, and waits until those backends have exited."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            wanted = "AND pid = ANY(:pids)" if pids else ""
            ended = await conn.execute(
                text(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
                    f"WHERE datname = current_database() AND pid <> pg_backend_pid() {wanted}"
                ),
                {"pids": list(pids)} if pids else {},
            )
            count: int = ended.scalar_one()
    finally:
        await engine.dispose()
    await asyncio.sleep(0.05)  # let the event loop read the closed sockets
    return count


async def backend_pids(database_url: str) -> set[int]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            return set(rows.scalars())
    finally:
        await engine.dispose()


async def test_no_round_trip_checks_a_connection_before_the_request_uses_it(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    student = await create_user(app)
    assert (await client.get(ME, headers=student.headers)).status_code == 200
    async with count_wire_statements(app) as statements:
        assert (await client.get(ME, headers=student.headers)).status_code == 200
    # No pre-ping (BEGIN; `;`; ROLLBACK) before the request's own statement; a read runs
    # without a transaction (core.db.ReadOnlySession).
    assert kinds(statements) == {"SELECT": 1}, statements


async def test_connections_closed_by_the_server_are_replaced_before_use(
    app: FastAPI, client: httpx.AsyncClient, database_url: str
) -> None:
    student = await create_user(app)
    responses = await asyncio.gather(*(client.get(ME, headers=student.headers) for _ in range(4)))
    assert [r.status_code for r in responses] == [200] * 4  # several connections pooled
    before = await backend_pids(database_url)
    assert before

    assert await terminate_backends(database_url) == len(before)

    for _ in range(3):
        response = await client.get(ME, headers=student.headers)
        assert response.status_code == 200, response.text
        assert response.json()["id"] == student.id
    assert (await backend_pids(database_url)).isdisjoint(before)  # fresh connections


def install_backend_killer(app: FastAPI, database_url: str) -> None:
    """A route whose connection dies between two statements: nothing at checkout could
    have seen it coming."""
    router = APIRouter(prefix="/_probe")

    @router.post("/connection-lost")
    async def connection_lost(session: SessionDep) -> None:
        pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        await terminate_backends(database_url, pid)
        await session.execute(text("SELECT 1"))

    app.include_router(router)


async def test_a_connection_lost_mid_request_is_503_once_and_the_pool_recovers(
    app: FastAPI, client: httpx.AsyncClient, database_url: str
) -> None:
    install_backend_killer(app, database_url)
    student = await create_user(app)

    lost = await client.post("/_probe/connection-lost")

    body = assert_problem(lost, 503, "database_unavailable")
    assert lost.headers["retry-after"] == "1"
    assert "request_id" not in body  # an expected outage, not a crash report
    for _ in range(3):
        response = await client.get(ME, headers=student.headers)
        assert response.status_code == 200, response.text
