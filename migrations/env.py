"""Alembic environment: async engines, batch mode on SQLite, UTC timestamps rendered plainly."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from studyhall.core.db import UTCDateTime
from studyhall.models import metadata

config = context.config


def database_url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from studyhall.config import Settings

    return Settings().database_url


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Migrations store plain timezone-aware DateTime; the UTC handling lives in the model type.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=metadata,
        render_item=render_item,
        compare_type=True,
        **kwargs,
    )


def run_offline() -> None:
    url = database_url()
    _configure(url=url, literal_binds=True, render_as_batch=url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()


def run_with_connection(connection: Connection) -> None:
    _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


async def run_async() -> None:
    engine = create_async_engine(database_url(), poolclass=NullPool, hide_parameters=True)
    async with engine.begin() as connection:
        await connection.run_sync(run_with_connection)
    await engine.dispose()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:  # called from studyhall.core.migrate inside an event loop
        run_with_connection(connection)
    else:
        asyncio.run(run_async())


if context.is_offline_mode():
    run_offline()
else:
    run_online()
