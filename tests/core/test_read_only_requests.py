"""GET and HEAD requests run without a transaction (`core.db.ReadOnlySession`): no BEGIN and
COMMIT round trips, no SQLite write lock. A write slipping into one fails loudly instead of
landing outside a transaction; endpoints that write on GET say so (`writes_on_read`)."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.engine import make_url

from studyhall.core.db import WriteInReadOnlySession
from studyhall.identity.models import Organization, User
from tests.factories import API, count_rows, create_user, fresh_row


async def test_a_read_only_unit_of_work_refuses_to_flush_new_rows(app: FastAPI) -> None:
    with pytest.raises(WriteInReadOnlySession):
        async with app.state.database.read_only_scope() as session:
            session.add(Organization(name="Never stored"))
            await session.flush()
    assert await count_rows(app, Organization, Organization.name == "Never stored") == 0


async def test_a_read_only_unit_of_work_refuses_write_statements(app: FastAPI) -> None:
    user = await create_user(app)
    with pytest.raises(WriteInReadOnlySession):
        async with app.state.database.read_only_scope() as session:
            await session.execute(update(User).where(User.id == user.user.id).values(full_name="Changed"))
    assert (await fresh_row(app, User, user.user.id)).full_name == user.user.full_name


@pytest.mark.sqlite_only
async def test_reads_do_not_wait_for_the_sqlite_write_lock(
    app: FastAPI, client: httpx.AsyncClient, database_url: str
) -> None:
    """Another process holding the write lock (a long import, a migration) no longer stalls
    every read for the busy timeout: reads take no lock under WAL."""
    student = await create_user(app)
    writer = sqlite3.connect(str(make_url(database_url).database), isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        response = await client.get(f"{API}/auth/me", headers=student.headers)
        elapsed = time.monotonic() - started
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert response.status_code == 200, response.text
    assert response.json()["id"] == student.id
    assert elapsed < 2.5  # the busy timeout, which a write would wait out, is 5 s


async def test_concurrent_reads_and_writes_each_see_committed_state(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    student = await create_user(app)
    rename = client.patch(f"{API}/auth/me", headers=student.headers, json={"full_name": "Renamed Student"})
    reads = [client.get(f"{API}/auth/me", headers=student.headers) for _ in range(5)]
    responses = await asyncio.gather(rename, *reads)
    assert [r.status_code for r in responses] == [200] * 6
    names = {r.json()["full_name"] for r in responses[1:]}
    assert names <= {student.user.full_name, "Renamed Student"}
    after = await client.get(f"{API}/auth/me", headers=student.headers)
    assert after.json()["full_name"] == "Renamed Student"
