"""Transactional outbox: events are rows written in the same transaction as the change.

`emit()` adds a row; a dispatcher claims pending rows, runs the handlers registered for
the event type and marks the row done in the *same* transaction as the handlers' writes.
Delivery is at least once (a crash after an external side effect, e.g. an email, but
before commit repeats it), so handlers must be idempotent: guard database effects with a
unique key (`INSERT ... ON CONFLICT DO NOTHING`, or a row keyed by `event.id`), and make
external calls safe to repeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import structlog
from pydantic_core import to_jsonable_python
from sqlalchemy import JSON, Index, String, Text, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from studyhall.core.clock import utcnow
from studyhall.core.db import Base

if TYPE_CHECKING:
    from studyhall.core.metrics import Metrics

logger = structlog.get_logger(__name__)

OUTBOX_PENDING_FLAG = "outbox_pending"
MAX_BACKOFF_SECONDS = 3600.0
MAX_ERROR_LENGTH = 2000


class OutboxStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    DEAD = "dead"


class OutboxEvent(Base):
    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_events_status_available_at", "status", "available_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    event_type: Mapped[str] = mapped_column(String(100), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    available_at: Mapped[datetime] = mapped_column(default=utcnow)
    claim_token: Mapped[uuid.UUID | None] = mapped_column(default=None, index=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(default=None)


@dataclass(frozen=True, slots=True)
class Event:
    """What a handler sees: an immutable copy of the outbox row."""

    id: uuid.UUID
    type: str
    payload: dict[str, Any]
    created_at: datetime
    attempt: int


Handler = Callable[[Event, AsyncSession], Awaitable[None]]


class HandlerRegistry:
    """Event type → handlers. The application fills one from `studyhall.subscribers`."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)

    def on(self, *event_types: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            for event_type in event_types:
                if handler not in self._handlers[event_type]:
                    self._handlers[event_type].append(handler)
            return handler

        return register

    def handlers_for(self, event_type: str) -> list[Handler]:
        return list(self._handlers.get(event_type, ()))

    def event_types(self) -> Iterable[str]:
        return self._handlers.keys()


def emit(session: AsyncSession, event_type: str, payload: dict[str, Any]) -> OutboxEvent:
    """Record an event in the caller's transaction; it is delivered only if that commits."""
    event = OutboxEvent(event_type=event_type, payload=to_jsonable_python(payload))
    session.add(event)
    session.info[OUTBOX_PENDING_FLAG] = True
    return event


def backoff_seconds(attempt: int, base: float) -> float:
    return float(min(MAX_BACKOFF_SECONDS, base**attempt))


class OutboxDispatcher:
    """Claims due events in batches and delivers them to their handlers."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        handlers: HandlerRegistry,
        *,
        batch_size: int = 50,
        max_attempts: int = 8,
        backoff_base: float = 2.0,
        lease_seconds: float = 60.0,
        poll_interval: float = 1.0,
        metrics: Metrics | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.handlers = handlers
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_interval = poll_interval
        self.metrics = metrics
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # -- running -------------------------------------------------------------------

    def wake(self) -> None:
        self._wakeup.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run_forever(), name="outbox-dispatcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run_forever(self) -> None:
        while True:
            try:
                handled = await self.run_once()
            except Exception:
                logger.exception("outbox_dispatch_failed")
                handled = 0
            if handled == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), timeout=self.poll_interval)
                self._wakeup.clear()

    async def run_once(self) -> int:
        """Claim one batch and deliver it; returns how many events were claimed."""
        token, events = await self._claim()
        for event in events:
            await self._deliver(event, token)
        return len(events)

    async def drain(self, max_rounds: int = 100) -> int:
        """Deliver until nothing is due (tests and the CLI use it)."""
        total = 0
        for _ in range(max_rounds):
            handled = await self.run_once()
            if handled == 0:
                break
            total += handled
        return total

    # -- claiming and delivering ---------------------------------------------------

    def _due(self, now: datetime) -> Any:
        return or_(
            and_(OutboxEvent.status == OutboxStatus.PENDING, OutboxEvent.available_at <= now),
            and_(
                OutboxEvent.status == OutboxStatus.PROCESSING,
                OutboxEvent.lease_expires_at < now,
            ),
        )

    async def _claim(self) -> tuple[uuid.UUID, list[Event]]:
        """One UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED): safe across
        dispatchers on PostgreSQL; on SQLite the write lock serialises claimers."""
        token = uuid.uuid4()
        now = utcnow()
        due_ids = (
            select(OutboxEvent.id)
            .where(self._due(now))
            .order_by(OutboxEvent.created_at)
            .limit(self.batch_size)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        async with self.sessionmaker() as session, session.begin():
            await session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id.in_(due_ids), self._due(now))
                .values(
                    status=OutboxStatus.PROCESSING,
                    claim_token=token,
                    lease_expires_at=now + self.lease,
                    attempts=OutboxEvent.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            )
            rows = (
                await session.scalars(
                    select(OutboxEvent)
                    .where(OutboxEvent.claim_token == token)
                    .order_by(OutboxEvent.created_at)
                )
            ).all()
        events = [
            Event(id=r.id, type=r.event_type, payload=r.payload, created_at=r.created_at, attempt=r.attempts)
            for r in rows
        ]
        return token, events

    async def _deliver(self, event: Event, token: uuid.UUID) -> None:
        log = logger.bind(event_id=str(event.id), event_type=event.type, attempt=event.attempt)
        try:
            async with self.sessionmaker() as session, session.begin():
                for handler in self.handlers.handlers_for(event.type):
                    await handler(event, session)
                marked = await session.execute(
                    update(OutboxEvent)
                    .where(OutboxEvent.id == event.id, OutboxEvent.claim_token == token)
                    .values(
                        status=OutboxStatus.DONE,
                        processed_at=utcnow(),
                        lease_expires_at=None,
                        last_error=None,
                    )
                )
                if marked.rowcount != 1:  # type: ignore[attr-defined]
                    raise LeaseLost(f"event {event.id} was reclaimed by another dispatcher")
        except LeaseLost:
            log.warning("outbox_lease_lost")
            self._count(event.type, "lease_lost")
        except Exception as exc:
            await self._record_failure(event, token, exc)
        else:
            self._count(event.type, "done")

    async def _record_failure(self, event: Event, token: uuid.UUID, exc: Exception) -> None:
        dead = event.attempt >= self.max_attempts
        error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH]
        values: dict[str, Any] = {"last_error": error, "claim_token": None, "lease_expires_at": None}
        if dead:
            values.update(status=OutboxStatus.DEAD, processed_at=utcnow())
        else:
            delay = timedelta(seconds=backoff_seconds(event.attempt, self.backoff_base))
            values.update(status=OutboxStatus.PENDING, available_at=utcnow() + delay)
        async with self.sessionmaker() as session, session.begin():
            await session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id == event.id, OutboxEvent.claim_token == token)
                .values(**values)
            )
        log = logger.bind(event_id=str(event.id), event_type=event.type, attempt=event.attempt)
        if dead:
            log.error("outbox_event_dead", error=error)
        else:
            log.warning("outbox_event_retry", error=error)
        self._count(event.type, "dead" if dead else "retry")

    def _count(self, event_type: str, result: str) -> None:
        if self.metrics is not None:
            self.metrics.events_processed.labels(event_type, result).inc()


class LeaseLost(Exception):
    """Our claim expired and another dispatcher took the event over."""


async def outbox_counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(OutboxEvent.status, func.count()).group_by(OutboxEvent.status))
    counts = {status.value: 0 for status in OutboxStatus}
    counts.update({str(status): int(n) for status, n in rows.all()})
    return counts


def wake_dispatcher_after_commit(dispatcher: OutboxDispatcher) -> Callable[[AsyncSession], None]:
    """An after-commit callback: deliver new events now instead of at the next poll."""

    def callback(session: AsyncSession) -> None:
        if session.info.get(OUTBOX_PENDING_FLAG):
            dispatcher.wake()

    return callback
