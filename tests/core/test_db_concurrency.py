"""Concurrent read-then-write transactions succeed on both databases (no spurious lock errors)."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from sqlalchemy import func, select, update

from studyhall.core.db import Database
from studyhall.core.events import OutboxEvent, emit


async def test_concurrent_read_modify_write_transactions_all_commit(app: FastAPI) -> None:
    database: Database = app.state.database
    async with database.sessionmaker() as session, session.begin():
        event = emit(session, "counter", {"n": 0})
    event_id = event.id

    async def increment() -> None:
        async with database.sessionmaker() as session, session.begin():
            attempts = await session.scalar(
                select(OutboxEvent.attempts).where(OutboxEvent.id == event_id).with_for_update()
            )
            await asyncio.sleep(0.01)  # let the other transactions read too
            await session.execute(
                update(OutboxEvent).where(OutboxEvent.id == event_id).values(attempts=(attempts or 0) + 1)
            )

    await asyncio.gather(*(increment() for _ in range(5)))
    async with database.sessionmaker() as session:
        assert await session.scalar(select(OutboxEvent.attempts).where(OutboxEvent.id == event_id)) == 5
        assert await session.scalar(select(func.count()).select_from(OutboxEvent)) == 1


async def test_savepoint_rolls_back_only_its_part(app: FastAPI) -> None:
    database: Database = app.state.database
    async with database.sessionmaker() as session, session.begin():
        emit(session, "kept", {})
        await session.flush()
        nested = await session.begin_nested()
        emit(session, "discarded", {})
        await session.flush()
        await nested.rollback()
    async with database.sessionmaker() as session:
        kinds = (await session.scalars(select(OutboxEvent.event_type))).all()
    assert kinds == ["kept"]
