"""Embedded mode (no broker): the in-process dispatcher runs the same per-handler runner, so
each handler's effect happens once, retries follow the same back-off, and dead events are
listed and requeued by the same `studyhall events` commands."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from studyhall.core.broker import requeue_dead
from studyhall.core.db import Database
from studyhall.core.delivery import EventFailure, ProcessedEvent, dead_events
from studyhall.core.events import OutboxDispatcher, OutboxEvent, OutboxStatus, emit
from tests.event_probe import ECHOED, PING, effects, probe_registry, started
from tests.factories import FakeClock
from tests.transport import EventTransport


def dispatcher(database: Database, **kwargs: object) -> OutboxDispatcher:
    options: dict[str, object] = {"max_attempts": 3, "backoff_base": 2.0, "backoff_initial": 0.5}
    options.update(kwargs)
    return OutboxDispatcher(database.sessionmaker, probe_registry(), **options)  # type: ignore[arg-type]


async def ping(database: Database, markers: Path, count: int = 1, **payload: object) -> list[str]:
    async with database.sessionmaker() as session, session.begin():
        rows = [emit(session, PING, {"dir": str(markers), "n": n, **payload}) for n in range(count)]
        await session.flush()
        return [str(row.id) for row in rows]


async def ping_row(database: Database, event_id: str) -> OutboxEvent:
    async with database.sessionmaker() as session:
        row = await session.get(OutboxEvent, uuid.UUID(event_id))
        assert row is not None
        return row


async def test_each_handler_takes_effect_once_and_only_failed_handlers_retry(
    database: Database, markers: Path, tmp_path: Path, clock: FakeClock
) -> None:
    fault = tmp_path / "fault"
    fault.touch()
    [event_id] = await ping(database, markers, fail_while=str(fault))
    runner = dispatcher(database)

    assert await runner.drain() == 2, "the ping, then the event its echo emitted"
    assert dict(await effects(database.sessionmaker, ECHOED)) == {event_id: 1}
    assert await effects(database.sessionmaker) == {}
    row = await ping_row(database, event_id)
    assert row.status == OutboxStatus.PENDING and row.last_error == "RuntimeError: probe fault"
    assert row.available_at == clock.now + timedelta(seconds=0.5), "initial back-off"

    fault.unlink()
    clock.advance(seconds=0.5)
    assert await runner.drain() >= 1
    assert dict(await effects(database.sessionmaker)) == {event_id: 1}
    assert dict(await effects(database.sessionmaker, ECHOED)) == {event_id: 1}, "not run again"
    assert (await ping_row(database, event_id)).status == OutboxStatus.DONE
    async with database.sessionmaker() as session:
        handlers = set((await session.scalars(select(ProcessedEvent.handler))).all())
        failures = (await session.scalars(select(EventFailure))).all()
    assert handlers == {"tests.event_probe.record_probe", "tests.event_probe.echo_probe"}
    assert [(f.handler, f.attempts, f.dead_at) for f in failures] == [
        ("tests.event_probe.record_probe", 1, None)
    ]


async def test_a_redelivered_event_does_not_repeat_any_effect(database: Database, markers: Path) -> None:
    [event_id] = await ping(database, markers)
    await dispatcher(database).drain()
    async with database.sessionmaker() as session, session.begin():  # as after a lost lease
        row = await session.get(OutboxEvent, uuid.UUID(event_id))
        assert row is not None
        row.status = OutboxStatus.PENDING
    await dispatcher(database).drain()
    assert dict(await effects(database.sessionmaker)) == {event_id: 1}
    assert dict(await effects(database.sessionmaker, ECHOED)) == {event_id: 1}
    assert len(started(markers)) == 1, "the processed row stops the handler before it runs"


async def test_dead_after_max_attempts_then_events_retry_requeues_it(
    database: Database, database_url: str, markers: Path, tmp_path: Path, clock: FakeClock
) -> None:
    fault = tmp_path / "fault"
    fault.touch()
    [event_id] = await ping(database, markers, fail_while=str(fault))
    runner = dispatcher(database)
    for _ in range(3):
        assert await runner.drain() >= 1
        clock.advance(seconds=60)
    assert await runner.run_once() == 0
    row = await ping_row(database, event_id)
    assert (row.status, row.last_error) == (OutboxStatus.DEAD, "RuntimeError: probe fault")
    assert [name.split("-")[-1] for name in started(markers)] == ["1", "2", "3"]

    cli = EventTransport(database_url, None, tmp_path / "var")
    listing = cli.cli("events", "dead")
    assert listing.returncode == 0, listing.stderr
    [row_line] = listing.stdout.splitlines()[1:]
    assert row_line.split("\t")[:4] == [event_id, PING, "tests.event_probe.record_probe", "3"]

    fault.unlink()
    retried = cli.cli("events", "retry", "--all")
    assert retried.returncode == 0, retried.stderr
    assert "requeued 1 event(s), 1 handler(s)" in retried.stdout
    row = await ping_row(database, event_id)
    assert row.status == OutboxStatus.PENDING

    await runner.drain()
    assert dict(await effects(database.sessionmaker)) == {event_id: 1}
    assert dict(await effects(database.sessionmaker, ECHOED)) == {event_id: 1}
    assert (await ping_row(database, event_id)).status == OutboxStatus.DONE
    async with database.sessionmaker() as session:
        assert await dead_events(session) == []
    assert await requeue_dead(database.sessionmaker, [uuid.UUID(event_id)], None) == {}, "no longer dead"


async def warm_pool(database: Database, connections: int) -> None:
    async def connect() -> None:
        async with database.sessionmaker() as session:
            await session.execute(select(1))
            await asyncio.sleep(0.05)

    await asyncio.gather(*(connect() for _ in range(connections)))


@pytest.mark.postgresql_only
async def test_two_dispatchers_at_once_take_each_effect_once(database: Database, markers: Path) -> None:
    ids = await ping(database, markers, 200)
    first, second = dispatcher(database, batch_size=10), dispatcher(database, batch_size=10)
    await warm_pool(database, 4)  # else one can drain all while the other still connects
    counts = await asyncio.gather(first.drain(max_rounds=1000), second.drain(max_rounds=1000))
    assert all(count > 0 for count in counts), counts
    assert dict(await effects(database.sessionmaker)) == dict.fromkeys(ids, 1)
    assert dict(await effects(database.sessionmaker, ECHOED)) == dict.fromkeys(ids, 1)
    assert len(started(markers)) == 200


@pytest.mark.sqlite_only
async def test_worker_and_relay_refuse_to_start_without_a_broker(database_url: str, tmp_path: Path) -> None:
    cli = EventTransport(database_url, None, tmp_path / "var")
    commands = ("worker", "relay")
    results = await asyncio.gather(*(asyncio.to_thread(cli.cli, command) for command in commands))
    for result in results:
        assert result.returncode == 2
        assert "BROKER_URL is not set" in result.stderr


def test_max_attempts_keeps_its_former_name() -> None:
    from studyhall.config import Settings

    assert Settings(outbox_max_attempts=3).event_max_attempts == 3
    assert Settings(event_max_attempts=4).event_max_attempts == 4
