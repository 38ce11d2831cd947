"""Transactional outbox: events are rows written in the same transaction as the change.

`emit()` adds a row. Without a broker, the `OutboxDispatcher` claims due rows and runs their
handlers in-process (through `core.delivery.HandlerRunner`: one transaction per handler,
recorded in `processed_events`, so each handler's database effect happens once). With
`BROKER_URL`, `core.broker.OutboxRelay` claims them the same way and publishes them to
RabbitMQ instead, for `studyhall worker` to handle. Delivery is at least once: an external
side effect (an email) can repeat when a process dies after it but before its commit, so
external calls must be safe to repeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

import structlog
from pydantic_core import to_jsonable_python
from sqlalchemy import JSON, Index, String, Text, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from studyhall.core.background import BackgroundLoop
from studyhall.core.clock import utcnow
from studyhall.core.db import Base

if TYPE_CHECKING:
    from studyhall.core.delivery import HandlerResult
    from studyhall.core.metrics import Metrics

logger = structlog.get_logger(__name__)

OUTBOX_PENDING_FLAG = "outbox_pending"
MAX_BACKOFF_SECONDS = 3600.0


class OutboxStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    DEAD = "dead"
    RELAYED = "relayed"  # published to the broker (broker mode); workers handle it there


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


def backoff_seconds(attempt: int, base: float, initial: float | None = None) -> float:
    """Seconds before retry number `attempt`: `initial * base ** (attempt - 1)`, capped at an
    hour; `initial` defaults to `base` (so `base ** attempt`)."""
    first = base if initial is None else initial
    return float(min(MAX_BACKOFF_SECONDS, first * base ** (attempt - 1)))


def _due(now: datetime) -> Any:
    return or_(
        and_(OutboxEvent.status == OutboxStatus.PENDING, OutboxEvent.available_at <= now),
        and_(
            OutboxEvent.status == OutboxStatus.PROCESSING,
            OutboxEvent.lease_expires_at < now,
        ),
    )


async def claim_due_events(
    sessionmaker: async_sessionmaker[AsyncSession], batch_size: int, lease: timedelta
) -> tuple[uuid.UUID, list[Event]]:
    """Claim up to `batch_size` due events under a fresh token and lease, oldest first.

    One UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED): safe across claimers
    (dispatchers, relays) on PostgreSQL; on SQLite the write lock serialises them. An event
    whose lease expired (its claimer died) is due again."""
    token = uuid.uuid4()
    now = utcnow()
    due_ids = (
        select(OutboxEvent.id)
        .where(_due(now))
        .order_by(OutboxEvent.created_at)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(due_ids), _due(now))
            .values(
                status=OutboxStatus.PROCESSING,
                claim_token=token,
                lease_expires_at=now + lease,
                attempts=OutboxEvent.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        rows = (
            await session.execute(
                select(
                    OutboxEvent.id,
                    OutboxEvent.event_type,
                    OutboxEvent.payload,
                    OutboxEvent.created_at,
                    OutboxEvent.attempts,
                )
                .where(OutboxEvent.claim_token == token)
                .order_by(OutboxEvent.created_at)
            )
        ).all()
    return token, [Event(*row) for row in rows]


async def release_claim(
    sessionmaker: async_sessionmaker[AsyncSession],
    token: uuid.UUID,
    event_ids: Iterable[uuid.UUID],
    **values: Any,
) -> int:
    """Set `values` on the claimed events, ending the claim; a claim lost to another
    claimer (expired lease) is left alone. Returns how many rows were still ours."""
    ids = list(event_ids)
    if not ids:
        return 0
    async with sessionmaker() as session, session.begin():
        result = await session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(ids), OutboxEvent.claim_token == token)
            .values(claim_token=None, lease_expires_at=None, **values)
            .execution_options(synchronize_session=False)
        )
    return int(result.rowcount)  # type: ignore[attr-defined]


class OutboxLoop(BackgroundLoop):
    """Runs `run_once` in a background task: again at once while it finds work, else after
    `poll_interval` or as soon as `wake()` is called (after a commit that emitted events).
    An error is logged and retried at the next poll."""

    name = "outbox_loop"

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        batch_size: int,
        lease_seconds: float,
        poll_interval: float,
    ) -> None:
        """Claims come `batch_size` outbox rows at a time, under a lease of `lease_seconds`."""
        self.sessionmaker = sessionmaker
        self.batch_size = batch_size
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_interval = poll_interval
        self._wakeup = asyncio.Event()

    async def run_once(self) -> int:
        raise NotImplementedError

    def wake(self) -> None:
        self._wakeup.set()

    async def _run_forever(self) -> None:
        while True:
            try:
                handled = await self.run_once()
            except Exception as exc:
                logger.warning(f"{self.name}_failed", error=f"{type(exc).__name__}: {exc}")
                handled = 0
            if handled == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), timeout=self.poll_interval)
                self._wakeup.clear()

    async def drain(self, max_rounds: int = 100) -> int:
        """Run until nothing is due (tests and the CLI use it)."""
        total = 0
        for _ in range(max_rounds):
            handled = await self.run_once()
            if handled == 0:
                break
            total += handled
        return total


class OutboxDispatcher(OutboxLoop):
    """Embedded mode: claims due events in batches and runs their handlers in-process.

    The batch goes through `core.delivery.HandlerRunner.run_batch` (per handler one
    transaction over the batch, processed-events rows, failures counted per handler). The
    rows all done are then marked `done` in one statement; a row is made due again after
    the shortest back-off of its failing handlers, or `dead` once no handler is left to
    retry and one of them died."""

    name = "outbox_dispatcher"

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        handlers: HandlerRegistry,
        *,
        batch_size: int = 50,
        max_attempts: int = 8,
        backoff_base: float = 2.0,
        backoff_initial: float | None = None,
        lease_seconds: float = 60.0,
        poll_interval: float = 1.0,
        metrics: Metrics | None = None,
    ) -> None:
        # Imported here: the runner's module builds on this one (Event, HandlerRegistry).
        from studyhall.core.delivery import HandlerRunner, RetryPolicy

        super().__init__(
            sessionmaker, batch_size=batch_size, lease_seconds=lease_seconds, poll_interval=poll_interval
        )
        self.handlers = handlers
        self.metrics = metrics
        self.runner = HandlerRunner(
            sessionmaker, handlers, RetryPolicy(max_attempts, backoff_base, backoff_initial), metrics
        )

    async def run_once(self) -> int:
        """Claim one batch and deliver it; returns how many events were claimed."""
        from studyhall.core.delivery import Delivery

        token, events = await claim_due_events(self.sessionmaker, self.batch_size, self.lease)
        if not events:
            return 0
        results = await self.runner.run_batch([Delivery(e, redelivered=e.attempt > 1) for e in events])
        now = utcnow()
        unsettled = {
            e.id: values for e, r in zip(events, results, strict=True) if (values := _unsettled(r, now))
        }
        done = [e for e in events if e.id not in unsettled]
        await self._release(token, done, "done", status=OutboxStatus.DONE, processed_at=now, last_error=None)
        for event in events:  # the rare ones, one statement each: their values differ
            if event.id in unsettled:
                result, row_values = unsettled[event.id]
                await self._release(token, [event], result, **row_values)
        return len(events)

    # -- delivering ----------------------------------------------------------------

    async def _release(self, token: uuid.UUID, events: list[Event], result: str, **values: Any) -> None:
        """End the claim of these events (one statement), setting `values`."""
        if not events:
            return
        released = await release_claim(self.sessionmaker, token, [e.id for e in events], **values)
        if released != len(events):
            # Another dispatcher reclaimed some (our lease expired); it finishes them.
            logger.warning("outbox_lease_lost", events=len(events) - released)
        for event in events:
            self._count(event.type, result)

    def _count(self, event_type: str, result: str) -> None:
        if self.metrics is not None:
            self.metrics.events_processed.labels(event_type, result).inc()


def _unsettled(results: list[HandlerResult], now: datetime) -> tuple[str, dict[str, Any]] | None:
    """How an event's outbox row ends when a handler is to retry (due again after the
    shortest back-off) or dead (none left to retry); None when every handler is done."""
    from studyhall.core.delivery import Outcome

    retrying = [r for r in results if r.outcome == Outcome.RETRY]
    if retrying:
        delay = timedelta(seconds=min(r.retry_in for r in retrying))
        return "retry", {
            "status": OutboxStatus.PENDING,
            "available_at": now + delay,
            "last_error": retrying[0].error,
        }
    dead = [r for r in results if r.outcome == Outcome.DEAD]
    if dead:
        return "dead", {"status": OutboxStatus.DEAD, "processed_at": now, "last_error": dead[0].error}
    return None


async def outbox_counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(OutboxEvent.status, func.count()).group_by(OutboxEvent.status))
    counts = {status.value: 0 for status in OutboxStatus}
    counts.update({str(status): int(n) for status, n in rows.all()})
    return counts


class Wakeable(Protocol):
    def wake(self) -> None: ...


def wake_dispatcher_after_commit(dispatcher: Wakeable) -> Callable[[AsyncSession], None]:
    """An after-commit callback: deliver (or relay) new events now, not at the next poll."""

    def callback(session: AsyncSession) -> None:
        if session.info.get(OUTBOX_PENDING_FLAG):
            dispatcher.wake()

    return callback


async def outbox_lag_seconds(session: AsyncSession) -> float:
    """Age of the oldest event not yet delivered (embedded) or relayed (broker mode); 0 when
    there is none."""
    oldest = await session.scalar(
        select(func.min(OutboxEvent.created_at)).where(
            OutboxEvent.status.in_((OutboxStatus.PENDING, OutboxStatus.PROCESSING))
        )
    )
    if oldest is None:
        return 0.0
    if oldest.tzinfo is None:  # SQLite hands aggregates back without the column type
        oldest = oldest.replace(tzinfo=UTC)
    return max(0.0, (utcnow() - oldest).total_seconds())
