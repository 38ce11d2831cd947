"""Migrations go up and down on both databases and match the models."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from studyhall.core.migrate import current_revision, downgrade, upgrade
from studyhall.identity.models import User
from studyhall.models import metadata
from studyhall.notifications.models import Notification, NotificationCounter
from tests.servers import PostgresServer


@pytest.fixture
def fresh_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database(f"mig_{uuid.uuid4().hex[:8]}")


async def table_names(url: str) -> set[str]:
    engine = create_async_engine(url, poolclass=NullPool)
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    await engine.dispose()
    return names


async def test_upgrade_downgrade_upgrade(fresh_url: str) -> None:
    assert await current_revision(fresh_url) is None
    await upgrade(fresh_url)
    head = await current_revision(fresh_url)
    assert head is not None
    assert {t.name for t in metadata.sorted_tables} <= await table_names(fresh_url)
    await downgrade(fresh_url, "base")
    assert await current_revision(fresh_url) is None
    assert await table_names(fresh_url) <= {"alembic_version"}
    await upgrade(fresh_url)
    assert await current_revision(fresh_url) == head


async def test_models_and_migrations_agree(fresh_url: str) -> None:
    await upgrade(fresh_url)
    engine = create_async_engine(fresh_url, poolclass=NullPool)
    async with engine.connect() as conn:
        diff = await conn.run_sync(
            lambda c: compare_metadata(MigrationContext.configure(c, opts={"compare_type": False}), metadata)
        )
    await engine.dispose()
    assert diff == [], f"models differ from migrations; generate a migration: {diff}"


async def test_0018_numbers_existing_notifications_per_user_in_list_order(fresh_url: str) -> None:
    """Notifications made before their numbers existed get 1, 2, 3, ... per user in the list's
    order (`created_at`, then `id`), and each user's counter starts at their last number."""
    await upgrade(fresh_url, "0017")
    ada, bob = uuid.uuid4(), uuid.uuid4()
    at = datetime(2026, 11, 1, tzinfo=UTC)
    tie = sorted([uuid.uuid4(), uuid.uuid4()])
    made = [  # (user, created_at, id), inserted out of order
        (ada, at + timedelta(hours=2), uuid.uuid4()),
        (bob, at, uuid.uuid4()),
        (ada, at, tie[1]),
        (ada, at, tie[0]),
    ]
    engine = create_async_engine(fresh_url, poolclass=NullPool)
    async with engine.begin() as conn:
        for user_id in (ada, bob):
            await conn.execute(
                User.__table__.insert().values(
                    id=user_id, email=f"{user_id}@example.com", full_name="Someone", role="student"
                )
            )
        for user_id, created_at, notification_id in made:
            await conn.execute(
                Notification.__table__.insert().values(
                    id=notification_id,
                    user_id=user_id,
                    event_id=uuid.uuid4(),
                    type="course.completed",
                    title="t",
                    body="b",
                    data={},
                    created_at=created_at,
                )
            )
    await upgrade(fresh_url)
    async with engine.connect() as conn:
        numbered = (await conn.execute(select(Notification.id, Notification.seq))).all()
        counters = (await conn.execute(select(NotificationCounter.user_id, NotificationCounter.last))).all()
    await engine.dispose()
    assert dict(numbered) == {tie[0]: 1, tie[1]: 2, made[0][2]: 3, made[1][2]: 1}
    assert dict(counters) == {ada: 3, bob: 1}
