"""Retention of handled events: the outbox and the processed marks do not grow forever, and
nothing a retry or a redelivery still needs goes."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.core.clock import utcnow
from studyhall.core.db import Database
from studyhall.core.delivery import EventFailure, ProcessedEvent, dead_events
from studyhall.core.events import Event, HandlerRegistry, OutboxDispatcher, OutboxEvent, OutboxStatus, emit
from studyhall.workers import periodic_jobs
from tests.factories import FakeClock


async def emit_one(database: Database, event_type: str) -> uuid.UUID:
    async with database.sessionmaker() as session, session.begin():
        event = emit(session, event_type, {})
        await session.flush()
        return event.id


async def handled_history(
    database: Database,
) -> tuple[dict[uuid.UUID, str], Counter[uuid.UUID], set[uuid.UUID]]:
    """Outbox statuses, processed marks per event, and events with failure rows."""
    async with database.sessionmaker() as session:
        statuses = dict((await session.execute(select(OutboxEvent.id, OutboxEvent.status))).all())
        marks = Counter((await session.scalars(select(ProcessedEvent.event_id))).all())
        failed = set((await session.scalars(select(EventFailure.event_id))).all())
    return statuses, marks, failed


async def test_handled_events_go_after_the_retention_and_unsettled_ones_stay(
    app: FastAPI, clock: FakeClock
) -> None:
    database: Database = app.state.database
    handlers = HandlerRegistry()
    recovers_at = clock.now + timedelta(minutes=30)

    @handlers.on("fine", "flaky", "broken")
    async def first(event: Event, session: AsyncSession) -> None:
        # "flaky" fails in the first round only (one failure counted), "broken" always.
        if event.type == "broken" or (event.type == "flaky" and utcnow() < recovers_at):
            raise ConnectionError("down")

    @handlers.on("fine", "flaky")
    async def second(event: Event, session: AsyncSession) -> None:
        pass

    fine, flaky, broken = [await emit_one(database, kind) for kind in ("fine", "flaky", "broken")]
    relayed = await emit_one(database, "relayed")  # handled by a broker worker, still retrying
    relayed_done = await emit_one(database, "relayed")
    async with database.sessionmaker() as session, session.begin():
        await session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_([relayed, relayed_done]))
            .values(status=OutboxStatus.RELAYED, processed_at=clock.now)
        )
    dispatcher = OutboxDispatcher(database.sessionmaker, handlers, max_attempts=3, backoff_base=2.0)
    for _ in range(4):
        await dispatcher.drain()
        clock.advance(seconds=3600)

    clock.advance(days=31)
    recent = await emit_one(database, "fine")
    await dispatcher.drain()
    async with database.sessionmaker() as session, session.begin():  # the worker's retry failed just now
        session.add(
            EventFailure(event_id=relayed, handler="h", event_type="relayed", attempts=1, failed_at=clock.now)
        )
    statuses, marks, failed = await handled_history(database)
    assert statuses[fine] == statuses[flaky] == statuses[recent] == OutboxStatus.DONE
    assert statuses[broken] == OutboxStatus.DEAD
    assert marks[fine] == marks[flaky] == marks[recent] == 2
    assert failed == {flaky, broken, relayed}

    jobs = {job.name: job for job in periodic_jobs(app.state.settings, database, app.state.storage)}
    retention = jobs["event_retention"]
    assert (app.state.settings.event_retention_days, retention.interval) == (30, 3600.0)
    assert await retention.run() == 3  # fine, flaky (its failure long over), relayed_done

    statuses, marks, failed = await handled_history(database)
    assert set(statuses) == {broken, relayed, recent}
    assert set(marks) == {recent}
    assert failed == {broken, relayed}
    async with database.sessionmaker() as session:
        assert [dead.event_id for dead in await dead_events(session)] == [broken]  # retry still can
    assert await retention.run() == 0


def test_the_event_retention_job_can_be_switched_off(app: FastAPI) -> None:
    off = app.state.settings.model_copy(update={"event_retention_interval_seconds": 0})
    assert "event_retention" not in {
        job.name for job in periodic_jobs(off, app.state.database, app.state.storage)
    }
