"""The transactional outbox: delivery, retry with back-off, dead letters, concurrency."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.core.db import Database
from studyhall.core.events import (
    Event,
    HandlerRegistry,
    OutboxDispatcher,
    OutboxEvent,
    OutboxStatus,
    backoff_seconds,
    emit,
)
from tests.factories import FakeClock


@pytest.fixture
def database(app: FastAPI) -> Database:
    db: Database = app.state.database
    return db


def dispatcher_for(database: Database, handlers: HandlerRegistry, **kwargs: object) -> OutboxDispatcher:
    return OutboxDispatcher(database.sessionmaker, handlers, **kwargs)  # type: ignore[arg-type]


async def emit_committed(database: Database, count: int, event_type: str = "thing.happened") -> None:
    async with database.sessionmaker() as session, session.begin():
        for n in range(count):
            emit(session, event_type, {"n": n})


async def outbox_rows(database: Database) -> list[OutboxEvent]:
    async with database.sessionmaker() as session:
        return list((await session.scalars(select(OutboxEvent).order_by(OutboxEvent.created_at))).all())


async def test_event_is_delivered_once_and_marked_done(database: Database) -> None:
    seen: list[Event] = []
    handlers = HandlerRegistry()

    @handlers.on("thing.happened")
    async def record(event: Event, session: AsyncSession) -> None:
        seen.append(event)

    await emit_committed(database, 3)
    dispatcher = dispatcher_for(database, handlers)
    assert await dispatcher.drain() == 3
    assert sorted(e.payload["n"] for e in seen) == [0, 1, 2]
    assert all(
        r.status == OutboxStatus.DONE and r.processed_at is not None for r in await outbox_rows(database)
    )
    assert await dispatcher.drain() == 0, "done events are never delivered again"


async def test_rolled_back_transaction_emits_nothing(database: Database) -> None:
    with pytest.raises(RuntimeError):
        async with database.sessionmaker() as session, session.begin():
            emit(session, "thing.happened", {"n": 1})
            await session.flush()
            raise RuntimeError("the change failed")
    assert await outbox_rows(database) == []


async def test_handler_writes_commit_with_the_done_mark(database: Database) -> None:
    handlers = HandlerRegistry()

    @handlers.on("thing.happened")
    async def chain(event: Event, session: AsyncSession) -> None:
        emit(session, "thing.followed", {"from": str(event.id)})

    await emit_committed(database, 1)
    await dispatcher_for(database, handlers).drain()
    kinds = Counter((r.event_type, r.status) for r in await outbox_rows(database))
    assert kinds == {("thing.happened", "done"): 1, ("thing.followed", "done"): 1}


async def test_failure_is_retried_with_exponential_backoff(database: Database, clock: FakeClock) -> None:
    calls: list[int] = []
    handlers = HandlerRegistry()

    @handlers.on("thing.happened")
    async def flaky(event: Event, session: AsyncSession) -> None:
        calls.append(event.attempt)
        if event.attempt < 3:
            raise ConnectionError("smtp is down")

    await emit_committed(database, 1)
    dispatcher = dispatcher_for(database, handlers, backoff_base=2.0, max_attempts=5)
    assert await dispatcher.run_once() == 1
    [row] = await outbox_rows(database)
    assert row.status == OutboxStatus.PENDING and row.attempts == 1
    assert row.last_error == "ConnectionError: smtp is down"
    assert row.available_at == clock.now + timedelta(seconds=2)

    assert await dispatcher.run_once() == 0, "not due before its back-off"
    clock.advance(seconds=2)
    assert await dispatcher.run_once() == 1
    [row] = await outbox_rows(database)
    assert row.available_at == clock.now + timedelta(seconds=4)
    clock.advance(seconds=4)
    assert await dispatcher.run_once() == 1
    [row] = await outbox_rows(database)
    assert row.status == OutboxStatus.DONE and row.last_error is None
    assert calls == [1, 2, 3]


async def test_event_goes_dead_after_max_attempts(database: Database, clock: FakeClock) -> None:
    handlers = HandlerRegistry()

    @handlers.on("thing.happened")
    async def broken(event: Event, session: AsyncSession) -> None:
        emit(session, "never.committed", {})
        raise ValueError("bad payload")

    await emit_committed(database, 1)
    dispatcher = dispatcher_for(database, handlers, max_attempts=3, backoff_base=1.5)
    for _ in range(3):
        assert await dispatcher.run_once() == 1
        clock.advance(seconds=3600)
    assert await dispatcher.run_once() == 0
    [row] = await outbox_rows(database)
    assert row.status == OutboxStatus.DEAD
    assert row.attempts == 3
    assert row.last_error == "ValueError: bad payload"


async def test_expired_lease_is_reclaimed_and_the_effect_happens_once(
    database: Database, clock: FakeClock
) -> None:
    """A dispatcher stalls inside a handler until its lease expires; another reclaims the
    event. The handler's processed-events row lets only one of the two runs commit."""
    release = asyncio.Event()
    entered = asyncio.Event()
    deliveries: list[str] = []
    handlers = HandlerRegistry()

    @handlers.on("thing.happened")
    async def slow(event: Event, session: AsyncSession) -> None:
        deliveries.append(f"attempt{event.attempt}")
        emit(session, "thing.followed", {"from": str(event.id)})
        if event.attempt == 1:
            entered.set()
            await release.wait()

    await emit_committed(database, 1)
    stale = dispatcher_for(database, handlers, lease_seconds=30)
    stale_run = asyncio.create_task(stale.run_once())
    await entered.wait()
    clock.advance(seconds=31)  # the first dispatcher looks dead: its lease expired
    fresh_run = asyncio.create_task(dispatcher_for(database, handlers, lease_seconds=30).run_once())
    await asyncio.sleep(0.2)
    release.set()
    await asyncio.gather(stale_run, fresh_run)
    rows = await outbox_rows(database)
    assert [r.status for r in rows if r.event_type == "thing.happened"] == ["done"]
    assert sum(r.event_type == "thing.followed" for r in rows) == 1, "the effect committed once"
    assert deliveries[0] == "attempt1" and len(deliveries) <= 2


async def test_background_dispatcher_delivers_after_commit(app: FastAPI, database: Database) -> None:
    delivered = asyncio.Event()
    handlers = HandlerRegistry()

    @handlers.on("thing.happened")
    async def record(event: Event, session: AsyncSession) -> None:
        delivered.set()

    dispatcher = dispatcher_for(database, handlers, poll_interval=30)
    from studyhall.core.events import wake_dispatcher_after_commit

    database.after_commit.append(wake_dispatcher_after_commit(dispatcher))
    dispatcher.start()
    try:
        async with database.session_scope() as session:
            emit(session, "thing.happened", {})
        await asyncio.wait_for(delivered.wait(), timeout=5)  # woken, not polled (30 s)
    finally:
        await dispatcher.stop()
        database.after_commit.pop()


def test_backoff_grows_exponentially_and_is_capped() -> None:
    assert [backoff_seconds(n, 2.0) for n in (1, 2, 3)] == [2.0, 4.0, 8.0]
    assert backoff_seconds(50, 2.0) == 3600.0


@pytest.mark.postgresql_only
async def test_two_concurrent_dispatchers_never_handle_one_event_twice(database: Database) -> None:
    handled: list[str] = []
    handlers = HandlerRegistry()
    dispatcher_tasks: set[asyncio.Task[object]] = set()
    both_working = asyncio.Event()

    @handlers.on("thing.happened")
    async def record(event: Event, session: AsyncSession) -> None:
        # Each dispatcher holds its first claimed batch until the other has claimed one
        # too, so the two claims are certain to overlap (left to timing, one dispatcher
        # could drain all 400 before the other started).
        task = asyncio.current_task()
        if task not in dispatcher_tasks:
            dispatcher_tasks.add(task)  # type: ignore[arg-type]
            if len(dispatcher_tasks) == 2:
                both_working.set()
            await asyncio.wait_for(both_working.wait(), timeout=10)
        await asyncio.sleep(0.001)
        handled.append(str(event.id))

    await emit_committed(database, 400)
    first = dispatcher_for(database, handlers, batch_size=10)
    second = dispatcher_for(database, handlers, batch_size=10)
    counts = await asyncio.gather(first.drain(max_rounds=1000), second.drain(max_rounds=1000))
    assert len(handled) == 400
    assert len(set(handled)) == 400, "an event was handled twice"
    assert all(c > 0 for c in counts), f"both dispatchers should have worked: {counts}"
    async with database.sessionmaker() as session:
        done = await session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.status == OutboxStatus.DONE)
        )
    assert done == 400
