"""Run Alembic migrations programmatically, from sync code (CLI) or inside an event loop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from studyhall.config import normalize_database_url

MIGRATIONS_DIR = Path(__file__).resolve().parents[3] / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", normalize_database_url(database_url).replace("%", "%%"))
    return config


def _ensure_sqlite_parent(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


async def _with_connection(database_url: str, action: Any, *args: Any) -> Any:
    url = normalize_database_url(database_url)
    _ensure_sqlite_parent(url)
    engine = create_async_engine(url, poolclass=NullPool, hide_parameters=True)
    try:
        async with engine.begin() as connection:
            return await connection.run_sync(action, url, *args)
    finally:
        await engine.dispose()


def _run_command(connection: Connection, url: str, name: str, revision: str) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = connection
    getattr(command, name)(config, revision)


def _current(connection: Connection, _url: str) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def upgrade(database_url: str, revision: str = "head") -> None:
    await _with_connection(database_url, _run_command, "upgrade", revision)


async def downgrade(database_url: str, revision: str = "base") -> None:
    await _with_connection(database_url, _run_command, "downgrade", revision)


async def current_revision(database_url: str) -> str | None:
    result: str | None = await _with_connection(database_url, _current)
    return result
