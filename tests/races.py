"""Helpers for tests that fire the same request many times at once."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable, Iterable
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from studyhall.core.events import OutboxEvent

RowT = TypeVar("RowT")


async def race(requests: Iterable[Awaitable[httpx.Response]]) -> list[httpx.Response]:
    """The requests all in flight together (each on its own connection), answers in order."""
    return list(await asyncio.gather(*requests))


def outcomes(responses: list[httpx.Response]) -> Counter[tuple[int, str | None]]:
    """How many responses ended in each (status, problem `code`); `code` is None on success."""
    return Counter((r.status_code, r.json().get("code") if r.status_code >= 400 else None) for r in responses)


async def event_count(app: FastAPI, event_type: str) -> int:
    async with app.state.database.sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.event_type == event_type)
        )
        return int(count or 0)


async def fresh_row(app: FastAPI, model: type[RowT], row_id: Any) -> RowT:
    """The row as committed now, read in a session of its own."""
    async with app.state.database.sessionmaker() as session:
        row = await session.get(model, row_id if isinstance(row_id, uuid.UUID) else uuid.UUID(row_id))
        assert row is not None
        return row
