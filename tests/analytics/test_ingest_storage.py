"""The activity store's upkeep: monthly partitions ahead of time and on demand (PostgreSQL),
retention of whole months (partitions dropped on PostgreSQL, rows deleted on SQLite)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from fastapi import FastAPI

from studyhall.analytics.models import ActivityEvent, ActivityEventKey
from studyhall.analytics.records import ActivityRecord, ActivitySource
from studyhall.analytics.store import Arrival, maintain, partition_months, store
from tests.factories import count_rows, create_user, rows

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def record(user_id: uuid.UUID, occurred_at: datetime) -> ActivityRecord:
    return ActivityRecord(
        event_id=str(uuid.uuid4()),
        event_type="page.viewed",
        user_id=user_id,
        occurred_at=occurred_at,
        source=ActivitySource.CLIENT,
        data={"path": "/"},
    )


async def store_records(app: FastAPI, records: list[ActivityRecord]) -> list[ActivityRecord]:
    async with app.state.database.sessionmaker() as session, session.begin():
        return await store(session, [Arrival(records, NOW)])


async def test_retention_removes_the_months_before_the_kept_ones(app: FastAPI) -> None:
    student = await create_user(app)
    months = [datetime(2026, month, 15, tzinfo=UTC) for month in (8, 9, 10, 11)]
    await store_records(app, [record(student.user.id, moment) for moment in months])

    await maintain(app.state.database.engine, retention_months=2, now=NOW)

    kept = sorted(event.occurred_at for event in await rows(app, ActivityEvent))
    assert kept == months[2:]  # October and November
    assert await count_rows(app, ActivityEventKey) == 2


async def test_a_stored_event_stays_stored_once_after_the_upkeep(app: FastAPI) -> None:
    student = await create_user(app)
    event = record(student.user.id, NOW)
    await maintain(app.state.database.engine, retention_months=13, now=NOW)

    first = await store_records(app, [event])
    again = await store_records(app, [event])

    assert (len(first), len(again)) == (1, 0)
    assert await count_rows(app, ActivityEvent) == 1


@pytest.mark.postgresql_only
async def test_partitions_are_made_ahead_and_on_demand_and_old_ones_dropped(app: FastAPI) -> None:
    engine = app.state.database.engine
    student = await create_user(app)
    await store_records(app, [record(student.user.id, datetime(2026, 6, 3, tzinfo=UTC))])  # on demand

    upkeep = await maintain(engine, retention_months=5, now=NOW)

    months = await partition_months(engine)
    assert {date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1)} <= set(months)
    assert date(2026, 6, 1) in upkeep.dropped
    assert all(month >= date(2026, 7, 1) for month in months)
    assert await count_rows(app, ActivityEvent) == 0
    # A month dropped and written again gets its partition back.
    await store_records(app, [record(student.user.id, datetime(2026, 6, 4, tzinfo=UTC))])
    assert date(2026, 6, 1) in await partition_months(engine)
