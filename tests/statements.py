"""What a request sends to the database, for tests that pin the statements of hot paths."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import event

TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK")
PING = "PING"


@asynccontextmanager
async def count_wire_statements(app: FastAPI) -> AsyncIterator[list[str]]:
    """Every statement the block sends to the database: SQL (SQLAlchemy's cursor events) and
    what the driver sends on its own, which those events do not show: on PostgreSQL the
    `BEGIN`, `COMMIT` and `ROLLBACK` asyncpg issues, read from asyncpg's query loggers; on
    SQLite `COMMIT` (its `BEGIN IMMEDIATE` is an SQL statement); on both, a pool pre-ping
    (`PING`: one or more round trips before the request's own). Driver statements are
    delivered on the next turn of the event loop, so the list is in order within each kind,
    not across kinds: compare with `kinds`."""
    statements: list[str] = []
    engine = app.state.database.engine.sync_engine
    logged: list[Any] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    def record_driver(query: Any) -> None:
        statements.append(query.query)

    def log_driver(_dbapi_connection: Any, connection_record: Any, _proxy: Any) -> None:
        driver = connection_record.driver_connection
        driver.add_query_logger(record_driver)
        logged.append(driver)

    def record_commit(_conn: Any) -> None:
        statements.append("COMMIT")

    dialect = engine.dialect
    real_ping = dialect.do_ping

    def record_ping(dbapi_connection: Any) -> bool:
        statements.append(PING)
        return bool(real_ping(dbapi_connection))

    dialect.do_ping = record_ping
    on_postgresql = dialect.name == "postgresql"
    listeners: list[tuple[Any, str, Any]] = [(engine, "before_cursor_execute", record)]
    if on_postgresql:
        listeners.append((engine.pool, "checkout", log_driver))
    else:
        listeners.append((engine, "commit", record_commit))
    for target, name, listener in listeners:
        event.listen(target, name, listener)
    try:
        yield statements
        for _ in range(3):  # asyncpg hands its log records over with loop.call_soon
            await asyncio.sleep(0)
    finally:
        del dialect.do_ping  # the class's own again
        for target, name, listener in listeners:
            event.remove(target, name, listener)
        for driver in logged:
            driver.remove_query_logger(record_driver)


def kind(statement: str) -> str:
    """The first keyword (SELECT, INSERT, BEGIN, ..., PING)."""
    words = statement.replace(";", " ").split()
    return words[0].upper() if words else ";"


def kinds(statements: list[str]) -> Counter[str]:
    """How many statements of each kind."""
    return Counter(kind(statement) for statement in statements)


def queries(statements: list[str]) -> list[str]:
    """The SQL statements, less transaction control."""
    return [s for s in statements if kind(s) not in (*TRANSACTION_CONTROL, PING)]
