"""Migrations go up and down on both databases and match the models."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from studyhall.core.migrate import current_revision, downgrade, upgrade
from studyhall.models import metadata
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
