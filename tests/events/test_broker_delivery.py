"""Broker mode end to end: `studyhall relay` and `studyhall worker` processes on PostgreSQL
and a real RabbitMQ. Effects are counted as the rows the probe handlers commit
(tests/event_probe.py); every scenario checks each handler's effect happened exactly once."""

from __future__ import annotations

import asyncio
import signal
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from studyhall.config import Settings
from studyhall.core.broker import Broker, event_message, publish_confirmed
from studyhall.core.db import Database
from studyhall.core.delivery import EventFailure, ProcessedEvent
from studyhall.core.events import Event, OutboxEvent, OutboxStatus, emit
from tests.event_probe import ECHOED, PING, effects, started
from tests.servers import RabbitMQServer
from tests.transport import EventTransport, eventually

pytestmark = pytest.mark.postgresql_only


@pytest.fixture
def settings(event_transport: EventTransport) -> Settings:
    return event_transport.settings()


async def ping(database: Database, markers: Path, count: int = 1, **payload: object) -> list[str]:
    """Commit `count` probe events; returns their ids."""
    async with database.sessionmaker() as session, session.begin():
        rows = [emit(session, PING, {"dir": str(markers), "n": n, **payload}) for n in range(count)]
        await session.flush()
        return [str(row.id) for row in rows]


def once_each(ids: list[str]) -> dict[str, int]:
    return dict.fromkeys(ids, 1)


async def handled_once(database: Database, ids: list[str]) -> bool:
    """Both probe handlers took effect for each of `ids`."""
    expected = once_each(ids)
    return dict(await effects(database.sessionmaker)) == expected and (
        dict(await effects(database.sessionmaker, ECHOED)) == expected
    )


async def processed_rows(database: Database) -> int:
    async with database.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(ProcessedEvent)) or 0)


async def test_each_handler_runs_once_through_relay_and_worker(
    database: Database, event_transport: EventTransport, markers: Path
) -> None:
    event_transport.start_relay(wait=False)
    event_transport.start_worker(probes=True)
    ids = await ping(database, markers, 25)

    await eventually(lambda: handled_once(database, ids), timeout=30)
    assert dict(await effects(database.sessionmaker, ECHOED)) == once_each(ids)
    assert await processed_rows(database) == 50, "one processed row per (event, handler)"
    async with database.sessionmaker() as session:
        statuses = await session.scalars(select(OutboxEvent.status).where(OutboxEvent.event_type == PING))
        assert set(statuses.all()) == {OutboxStatus.RELAYED}
    assert len(started(markers)) == 25, "no handler ran twice"


async def test_worker_killed_mid_handler_the_redelivered_message_takes_effect_once(
    database: Database, event_transport: EventTransport, markers: Path
) -> None:
    event_transport.start_relay(wait=False)
    doomed = event_transport.start_worker(probes=True)
    [event_id] = await ping(database, markers, sleep=1.0)

    async def in_progress() -> bool:
        return len(started(markers)) == 1

    await eventually(in_progress)
    event_transport.stop(doomed, signal.SIGKILL)
    assert await effects(database.sessionmaker) == {}, "the killed handler's work rolled back"

    event_transport.start_worker(probes=True)
    await eventually(lambda: handled_once(database, [event_id]), timeout=30)
    runs = started(markers)
    assert len(runs) == 2 and len({name.split("-")[-2] for name in runs}) == 2, runs
    assert dict(await effects(database.sessionmaker, ECHOED)) == {event_id: 1}


async def test_sigterm_finishes_the_messages_held_and_exits(
    database: Database, event_transport: EventTransport, markers: Path
) -> None:
    event_transport.start_relay(wait=False)
    worker = event_transport.start_worker(probes=True, broker_prefetch=2)
    ids = await ping(database, markers, 6, sleep=0.5)

    async def holding_two() -> bool:
        return len(started(markers)) >= 2

    await eventually(holding_two)
    assert event_transport.stop(worker, signal.SIGTERM) == 0
    done = await effects(database.sessionmaker)
    assert len(done) >= 2 and set(done.values()) == {1}, "the held messages were finished"
    assert len(done) < 6, "it stopped consuming"

    event_transport.start_worker(probes=True)
    await eventually(lambda: handled_once(database, ids), timeout=30)


async def test_broker_restart_while_events_are_written_loses_nothing(
    database: Database,
    event_transport: EventTransport,
    rabbitmq_server: RabbitMQServer,
    markers: Path,
) -> None:
    event_transport.start_relay(wait=False)
    event_transport.start_worker(probes=True)
    ids: list[str] = []

    async def write(count: int) -> None:
        for _ in range(count):
            ids.extend(await ping(database, markers))
            await asyncio.sleep(0.05)

    writer = asyncio.create_task(write(150))
    await asyncio.sleep(1.0)
    await asyncio.to_thread(rabbitmq_server.restart)
    await writer

    await eventually(lambda: handled_once(database, ids), timeout=60)
    assert len(ids) == 150
    assert dict(await effects(database.sessionmaker, ECHOED)) == once_each(ids)


async def test_a_failing_handler_goes_dead_and_events_retry_sends_it_back(
    database: Database, event_transport: EventTransport, markers: Path, tmp_path: Path
) -> None:
    fault = tmp_path / "fault"
    fault.touch()
    event_transport.start_relay(wait=False)
    event_transport.start_worker(probes=True)
    [event_id] = await ping(database, markers, fail_while=str(fault))

    async def dead() -> bool:
        async with database.sessionmaker() as session:
            return bool(await session.scalar(select(EventFailure).where(EventFailure.dead_at.is_not(None))))

    await eventually(dead, timeout=30)
    async with database.sessionmaker() as session:
        [failure] = (await session.scalars(select(EventFailure))).all()
    assert (failure.event_id, failure.attempts) == (uuid.UUID(event_id), 3)
    assert failure.handler == "tests.event_probe.record_probe"
    assert failure.last_error == "RuntimeError: probe fault"
    assert [name.split("-")[-1] for name in started(markers)] == ["1", "2", "3"]
    assert dict(await effects(database.sessionmaker, ECHOED)) == {event_id: 1}, "the other handler ran once"
    assert await effects(database.sessionmaker) == {}
    broker = Broker(str(event_transport.broker_url), event_transport.namespace)
    try:
        depths = await broker.queue_depths()
        assert depths[broker.topology.dead_queue] == 1

        # Three commands that change nothing, side by side: the listing, an unknown id, no id.
        listing, unknown, no_id = await asyncio.gather(
            asyncio.to_thread(event_transport.cli, "events", "dead"),
            asyncio.to_thread(event_transport.cli, "events", "retry", str(uuid.uuid4())),
            asyncio.to_thread(event_transport.cli, "events", "retry"),
        )
        assert listing.returncode == 0, listing.stderr
        [row] = listing.stdout.splitlines()[1:]
        assert row.split("\t")[:4] == [event_id, PING, "tests.event_probe.record_probe", "3"]
        assert row.endswith("RuntimeError: probe fault")

        assert unknown.returncode == 1, unknown.stderr
        assert no_id.returncode == 2, no_id.stderr
        fault.unlink()
        retried = event_transport.cli("events", "retry", event_id)
        assert retried.returncode == 0, retried.stderr
        assert "requeued 1 event(s), 1 handler(s)" in retried.stdout

        await eventually(lambda: handled_once(database, [event_id]), timeout=30)
        assert dict(await effects(database.sessionmaker, ECHOED)) == {event_id: 1}
        assert (await broker.queue_depths())[broker.topology.dead_queue] == 0
    finally:
        await broker.close()
    async with database.sessionmaker() as session:
        assert (await session.scalars(select(EventFailure))).all() == []
    assert event_transport.cli("events", "dead").stdout.strip() == "no dead events"


async def test_two_relays_and_two_workers_handle_each_event_once(
    database: Database, event_transport: EventTransport, markers: Path
) -> None:
    workers = [event_transport.start_worker(probes=True, wait=False) for _ in range(2)]
    for _ in range(2):
        event_transport.start_relay(outbox_batch_size=20, wait=False)
    event_transport.wait_started()  # all four, side by side
    ids = await ping(database, markers, 300)

    await eventually(lambda: handled_once(database, ids), timeout=60)
    assert dict(await effects(database.sessionmaker, ECHOED)) == once_each(ids)
    runs = started(markers)
    assert len(runs) == 300, "no event was handled twice"
    pids = {name.split("-")[-2] for name in runs}
    assert pids == {str(w.pid) for w in workers}, "both workers took part"


async def all_relayed(database: Database) -> bool:
    async with database.sessionmaker() as session:
        statuses = await session.scalars(select(OutboxEvent.status).where(OutboxEvent.event_type == PING))
        return set(statuses.all()) == {OutboxStatus.RELAYED}


async def test_worker_batch_with_a_failing_event_and_a_redelivered_batch(
    database: Database, event_transport: EventTransport, markers: Path, tmp_path: Path
) -> None:
    fault = tmp_path / "fault"
    fault.touch()
    event_transport.start_relay()
    ids = await ping(database, markers, 5)
    [failing] = await ping(database, markers, fail_while=str(fault))
    ids += [failing, *await ping(database, markers, 6)]
    await eventually(lambda: all_relayed(database), timeout=30)
    event_transport.start_worker(probes=True)  # it receives all 12 at once: batches of 8

    async def others_done() -> bool:
        return len(await effects(database.sessionmaker)) == 11 and (
            dict(await effects(database.sessionmaker, ECHOED)) == once_each(ids)
        )

    await eventually(others_done, timeout=30)
    assert failing not in await effects(database.sessionmaker)
    fault.unlink()
    await eventually(lambda: handled_once(database, ids), timeout=30)
    runs = started(markers)
    retried = [name for name in runs if failing in name]
    assert len(runs) - len(retried) == 11, "the others ran in their first attempt only"
    assert len(retried) >= 2, "the failing one was retried"
    async with database.sessionmaker() as session:
        failures = (await session.scalars(select(EventFailure))).all()
    assert [(f.event_id, f.dead_at) for f in failures] == [(uuid.UUID(failing), None)]

    # The same messages again (as after a lost ack): their processed rows stop every handler.
    broker = Broker(str(event_transport.broker_url), event_transport.namespace)
    try:
        async with database.sessionmaker() as session:
            rows = (await session.scalars(select(OutboxEvent).where(OutboxEvent.event_type == PING))).all()
        events = [Event(r.id, r.event_type, r.payload, r.created_at, 1) for r in rows]
        exchange = await broker.exchange(await broker.channel())
        assert all(await publish_confirmed(exchange, [(event_message(e), e.type) for e in events]))
    finally:
        await broker.close()
    # A new event behind them: once it took effect, the worker had handled those before it.
    [last] = await ping(database, markers)
    await eventually(lambda: handled_once(database, [*ids, last]), timeout=30)
    assert [name for name in started(markers) if last not in name] == runs, "no handler ran again"
