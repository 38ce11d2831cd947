"""Events handled in batches: per handler, one transaction over the batch's events, split
into one transaction per event when the handler raises for any of them. Both delivery
modes go through the same runner (the worker's batches: tests/events/test_broker_delivery.py)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.core.db import Database
from studyhall.core.delivery import Delivery, EventFailure, HandlerRunner, Outcome, RetryPolicy
from studyhall.core.events import Event, HandlerRegistry, OutboxDispatcher, OutboxEvent, OutboxStatus, emit
from tests.event_probe import ECHOED, effects
from tests.factories import FakeClock

BATCHED = "test.batched"
COUNTED = "test.counted"

#: The payload `n` of every run of `count_batched`, committed or not, in order.
calls: list[int] = []


async def count_batched(event: Event, session: AsyncSession) -> None:
    """Logs the run, raises while the payload's `fail_while` file exists, else leaves a
    `test.counted` row (its committed effect)."""
    calls.append(event.payload["n"])
    fail_while = event.payload.get("fail_while")
    if fail_while and Path(fail_while).exists():
        raise RuntimeError("batched fault")
    emit(session, COUNTED, {"of": str(event.id)})


@pytest.fixture
def database(app: FastAPI) -> Database:
    db: Database = app.state.database
    return db


@pytest.fixture(autouse=True)
def fresh_calls() -> None:
    calls.clear()


def registry() -> HandlerRegistry:
    handlers = HandlerRegistry()
    handlers.on(BATCHED)(count_batched)
    return handlers


def faulty(n: int, failing: Collection[int], fault: Path | None) -> dict[str, object]:
    """Payload of event `n`: it fails while `fault` exists if it is one of `failing`."""
    return {"n": n, **({"fail_while": str(fault)} if n in failing and fault else {})}


async def write(
    database: Database, count: int, failing: Collection[int] = (), fault: Path | None = None
) -> list[Event]:
    """Commit `count` events numbered from 0, each a microsecond after the one before, so the
    outbox (oldest first) hands them out in that order even under a frozen clock."""
    async with database.sessionmaker() as session, session.begin():
        rows = [emit(session, BATCHED, faulty(n, failing, fault)) for n in range(count)]
        await session.flush()
        for n, row in enumerate(rows):
            row.created_at += timedelta(microseconds=n)
        await session.flush()
        return [Event(r.id, r.event_type, r.payload, r.created_at, 1) for r in rows]


def runner(database: Database) -> HandlerRunner:
    return HandlerRunner(database.sessionmaker, registry(), RetryPolicy(max_attempts=3, backoff_initial=0.5))


async def test_a_failing_event_splits_the_batch_and_only_it_is_retried(
    database: Database, tmp_path: Path, clock: FakeClock
) -> None:
    fault = tmp_path / "fault"
    fault.touch()
    events = await write(database, 4, failing=[2], fault=fault)
    dispatcher = OutboxDispatcher(
        database.sessionmaker, registry(), batch_size=10, max_attempts=3, backoff_initial=0.5
    )

    assert await dispatcher.run_once() == 4
    assert calls == [0, 1, 2, 0, 1, 2, 3], "the batch ran to the fault, rolled back, then one by one"
    ids = [str(e.id) for e in events]
    assert dict(await effects(database.sessionmaker, COUNTED)) == {ids[0]: 1, ids[1]: 1, ids[3]: 1}
    async with database.sessionmaker() as session:
        [failure] = (await session.scalars(select(EventFailure))).all()
        rows = await session.execute(
            select(OutboxEvent.id, OutboxEvent.status).where(OutboxEvent.event_type == BATCHED)
        )
        statuses = dict(rows.all())
    assert (failure.event_id, failure.attempts, failure.last_error) == (
        events[2].id,
        1,
        "RuntimeError: batched fault",
    ), "one failure, counted once"
    assert [statuses[e.id] for e in events] == ["done", "done", "pending", "done"]

    fault.unlink()
    clock.advance(seconds=0.5)
    await dispatcher.drain()
    assert calls[7:] == [2], "only the failing event ran again"
    assert dict(await effects(database.sessionmaker, COUNTED)) == dict.fromkeys(ids, 1)
    async with database.sessionmaker() as session:
        [failure] = (await session.scalars(select(EventFailure))).all()
        assert (failure.event_id, failure.attempts, failure.dead_at) == (events[2].id, 1, None)
        done = await session.scalars(select(OutboxEvent.status).where(OutboxEvent.event_type == BATCHED))
        assert set(done.all()) == {OutboxStatus.DONE}


async def test_a_batch_commits_its_handler_effects_together(database: Database) -> None:
    events = await write(database, 3)
    results = await runner(database).run_batch([Delivery(e) for e in events])
    assert [[r.outcome for r in rs] for rs in results] == [[Outcome.DONE]] * 3
    assert calls == [0, 1, 2], "each ran once, in one transaction"
    assert dict(await effects(database.sessionmaker, COUNTED)) == {str(e.id): 1 for e in events}


async def test_a_redelivered_batch_runs_no_handler_again(database: Database) -> None:
    events = await write(database, 4)
    handled_before = [events[0], events[2]]
    await runner(database).run_batch([Delivery(e) for e in handled_before])
    assert calls == [0, 2]

    again = [*events, events[1]]  # a redelivery, and one event twice in the batch
    results = await runner(database).run_batch([Delivery(e, redelivered=True) for e in again])
    outcomes = [rs[0].outcome for rs in results]
    assert outcomes == [Outcome.SKIPPED, Outcome.DONE, Outcome.SKIPPED, Outcome.DONE, Outcome.SKIPPED]
    assert calls == [0, 2, 1, 3], "only the events new to the handler ran"
    assert dict(await effects(database.sessionmaker, COUNTED)) == {str(e.id): 1 for e in events}

    results = await runner(database).run_batch([Delivery(e, redelivered=True) for e in events])
    assert {rs[0].outcome for rs in results} == {Outcome.SKIPPED}
    assert calls == [0, 2, 1, 3]


async def test_handlers_of_one_batch_have_their_own_transactions(database: Database, tmp_path: Path) -> None:
    """A handler failing for the whole batch leaves the other handler's effects committed."""
    fault = tmp_path / "fault"
    fault.touch()
    handlers = registry()

    async def echo(event: Event, session: AsyncSession) -> None:
        emit(session, ECHOED, {"of": str(event.id)})

    handlers.on(BATCHED)(echo)
    events = await write(database, 3, failing=range(3), fault=fault)
    runner = HandlerRunner(database.sessionmaker, handlers, RetryPolicy(max_attempts=3))

    results = await runner.run_batch([Delivery(e) for e in events])
    assert [[r.outcome for r in rs] for rs in results] == [[Outcome.RETRY, Outcome.DONE]] * 3
    assert await effects(database.sessionmaker, COUNTED) == {}
    assert dict(await effects(database.sessionmaker, ECHOED)) == {str(e.id): 1 for e in events}
    async with database.sessionmaker() as session:
        failures = (await session.scalars(select(EventFailure.event_id))).all()
    assert sorted(failures) == sorted(e.id for e in events)


async def test_a_dead_handler_is_skipped_in_a_redelivered_batch(database: Database, tmp_path: Path) -> None:
    fault = tmp_path / "fault"
    fault.touch()
    events = await write(database, 3, failing=[1], fault=fault)
    batch_runner = runner(database)
    for _ in range(3):
        await batch_runner.run_batch([Delivery(e, redelivered=True) for e in events])
    async with database.sessionmaker() as session:
        [failure] = (await session.scalars(select(EventFailure))).all()
    assert failure.dead_at is not None and failure.attempts == 3
    calls.clear()
    results = await batch_runner.run_batch([Delivery(e, redelivered=True) for e in events])
    assert [[r.outcome for r in rs] for rs in results] == [[Outcome.SKIPPED], [], [Outcome.SKIPPED]]
    assert calls == [], "dead for the event: not run; done for the others: not run"
