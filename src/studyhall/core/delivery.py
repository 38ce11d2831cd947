"""Running an event's handlers, exactly once in effect, in both delivery modes.

Delivery is at least once (a redelivered message, an expired lease), so every handler runs
in its own transaction that first inserts a `processed_events` row keyed by (event id,
handler name). The primary key makes a second run of the same pair find the row and do
nothing; a concurrent run waits on the row until the first commits or rolls back. A handler
that raises rolls back, its row with it, and the failure is counted in `event_failures`;
after `max_attempts` failures the pair is dead until `studyhall events retry` requeues it.

The embedded dispatcher and the broker worker share this runner, so the retry rules and the
dead state are the same in both modes. Both hand it a batch of events (`run_batch`): per
handler, the batch's events run in ONE transaction of that handler, whose multi-row
processed-events insert (`ON CONFLICT DO NOTHING RETURNING event_id`) picks the events new to
it. If the handler raises for any of them, that transaction rolls back whole and the batch
runs again one event per transaction, so only the failing event is retried or dead.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import PrimaryKeyConstraint, String, Text, bindparam, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from studyhall.core.clock import utcnow
from studyhall.core.db import Base, delete_in_batches, for_session, per_dialect
from studyhall.core.events import Event, Handler, HandlerRegistry, OutboxEvent, OutboxStatus, backoff_seconds

if TYPE_CHECKING:
    from studyhall.core.metrics import Metrics

logger = structlog.get_logger(__name__)

MAX_ERROR_LENGTH = 2000


class ProcessedEvent(Base):
    """One row per (event, handler) whose effect has committed."""

    __tablename__ = "processed_events"
    __table_args__ = (PrimaryKeyConstraint("event_id", "handler"),)

    event_id: Mapped[uuid.UUID]
    handler: Mapped[str] = mapped_column(String(200))
    processed_at: Mapped[datetime] = mapped_column(default=utcnow)


class EventFailure(Base):
    """The failures of one (event, handler): how many, the last error, and whether it is dead."""

    __tablename__ = "event_failures"
    __table_args__ = (PrimaryKeyConstraint("event_id", "handler"),)

    event_id: Mapped[uuid.UUID]
    handler: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    failed_at: Mapped[datetime] = mapped_column(default=utcnow)
    dead_at: Mapped[datetime | None] = mapped_column(default=None, index=True)


def handler_name(handler: Handler) -> str:
    """The stable name a handler's processed and failure rows are keyed by."""
    return f"{handler.__module__}.{handler.__qualname__}"


_processed = ProcessedEvent.__table__
_failures = EventFailure.__table__

# Core statements on the tables (not the ORM classes), built once, so results carry
# `rowcount`. Given a list of parameter sets, the RETURNING form runs as one multi-row
# INSERT and returns only the rows it inserted: the events new to the handler.
_MARK_PROCESSED = per_dialect(
    lambda insert: (
        insert(_processed)
        .values(event_id=bindparam("event_id"), handler=bindparam("handler"), processed_at=bindparam("now"))
        .on_conflict_do_nothing(index_elements=["event_id", "handler"])
    )
)
_MARK_BATCH_PROCESSED = {
    dialect: statement.returning(_processed.c.event_id) for dialect, statement in _MARK_PROCESSED.items()
}
_DEAD_HANDLERS = select(_failures.c.event_id, _failures.c.handler).where(
    _failures.c.event_id.in_(bindparam("event_ids", expanding=True)), _failures.c.dead_at.is_not(None)
)


def _count_failure(insert: Any) -> Any:
    upsert = insert(_failures).values(
        event_id=bindparam("event_id"),
        handler=bindparam("handler"),
        event_type=bindparam("event_type"),
        attempts=1,
        last_error=bindparam("error"),
        failed_at=bindparam("now"),
    )
    return upsert.on_conflict_do_update(
        index_elements=["event_id", "handler"],
        set_={
            "attempts": _failures.c.attempts + 1,
            "last_error": upsert.excluded.last_error,
            "failed_at": upsert.excluded.failed_at,
        },
    ).returning(_failures.c.attempts)


_COUNT_FAILURE = per_dialect(_count_failure)


class Outcome(StrEnum):
    DONE = "done"  # the handler's effect committed now
    SKIPPED = "skipped"  # it had committed before (a redelivery)
    RETRY = "retry"  # it failed; try again after `retry_in` seconds
    DEAD = "dead"  # it failed `max_attempts` times


@dataclass(frozen=True, slots=True)
class HandlerResult:
    handler: str
    outcome: Outcome
    failures: int = 0
    error: str | None = None
    retry_in: float = 0.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential back-off: `initial * base ** (failures - 1)` seconds, capped."""

    max_attempts: int = 8
    backoff_base: float = 2.0
    backoff_initial: float | None = None  # default: `backoff_base`, i.e. `base ** failures`

    def delay(self, failures: int) -> float:
        return backoff_seconds(failures, self.backoff_base, self.backoff_initial)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event to handle: for the handlers named in `only` (None: all of its type);
    `redelivered` first looks up the handlers already dead for it (needed only when it was
    delivered before)."""

    event: Event
    only: Collection[str] | None = None
    redelivered: bool = False


class HandlerRunner:
    """Runs the handlers of a batch of events, each handler in its own transaction."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        handlers: HandlerRegistry,
        policy: RetryPolicy,
        metrics: Metrics | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.handlers = handlers
        self.policy = policy
        self.metrics = metrics
        self._names: dict[Handler, str] = {}

    async def run(
        self, event: Event, *, only: Collection[str] | None = None, skip_dead: bool = False
    ) -> list[HandlerResult]:
        """Run one event's handlers (or those named in `only`)."""
        [results] = await self.run_batch([Delivery(event, only, skip_dead)])
        return results

    async def run_batch(self, deliveries: Sequence[Delivery]) -> list[list[HandlerResult]]:
        """Run the handlers of these events; returns each event's results, in order.

        Handlers run one after the other, each over all of its events of the batch in one
        transaction; a failing handler never undoes another's effect."""
        results: list[list[HandlerResult]] = [[] for _ in deliveries]
        for (handler, name), positions in (await self._plan(deliveries)).items():
            events = [deliveries[n].event for n in positions]
            for n, result in zip(positions, await self._run_handler(handler, name, events), strict=True):
                results[n].append(result)
        return results

    async def _plan(self, deliveries: Sequence[Delivery]) -> dict[tuple[Handler, str], list[int]]:
        """Each handler to run, with the positions of the deliveries it runs for."""
        dead = await self._dead_handlers([d.event.id for d in deliveries if d.redelivered])
        plan: dict[tuple[Handler, str], list[int]] = {}
        for n, delivery in enumerate(deliveries):
            for handler in self.handlers.handlers_for(delivery.event.type):
                name = self._name(handler)
                if delivery.only is not None and name not in delivery.only:
                    continue
                if (delivery.event.id, name) in dead:
                    continue
                plan.setdefault((handler, name), []).append(n)
        return plan

    def _name(self, handler: Handler) -> str:
        name = self._names.get(handler)
        if name is None:
            name = self._names[handler] = handler_name(handler)
        return name

    async def _dead_handlers(self, event_ids: list[uuid.UUID]) -> set[tuple[uuid.UUID, str]]:
        if not event_ids:
            return set()
        async with self.sessionmaker() as session:
            rows = await session.execute(_DEAD_HANDLERS, {"event_ids": event_ids})
            return {(event_id, name) for event_id, name in rows.all()}

    async def _run_handler(self, handler: Handler, name: str, events: list[Event]) -> list[HandlerResult]:
        """One transaction for all the events; one per event when that one fails."""
        if len(events) == 1:
            return [await self._run_one(events[0], handler, name)]
        began = time.perf_counter()
        try:
            results = await self._run_together(handler, name, events)
        except Exception as exc:
            logger.debug("event_batch_split", handler=name, events=len(events), error=type(exc).__name__)
            return [await self._run_one(event, handler, name) for event in events]
        self._observe_batch(name, results, time.perf_counter() - began)
        return results

    async def _run_together(self, handler: Handler, name: str, events: list[Event]) -> list[HandlerResult]:
        """The handler over every event new to it, in one transaction; raises (having rolled
        back, the processed rows with it) if it raised for any."""
        now = utcnow()
        # Ascending ids: concurrent batches lock their processed rows in one order.
        rows = [{"event_id": i, "handler": name, "now": now} for i in sorted({e.id for e in events})]
        async with self.sessionmaker() as session, session.begin():
            statement = for_session(session, _MARK_BATCH_PROCESSED)
            new = set((await session.scalars(statement, rows)).all())
            results = []
            for event in events:
                if event.id in new:
                    new.discard(event.id)  # the same event twice in a batch runs once
                    await handler(event, session)
                    results.append(HandlerResult(name, Outcome.DONE))
                else:
                    results.append(HandlerResult(name, Outcome.SKIPPED))
        return results

    async def _run_one(self, event: Event, handler: Handler, name: str) -> HandlerResult:
        began = time.perf_counter()
        try:
            async with self.sessionmaker() as session, session.begin():
                statement = for_session(session, _MARK_PROCESSED)
                marked = await session.execute(
                    statement, {"event_id": event.id, "handler": name, "now": utcnow()}
                )
                if marked.rowcount == 0:  # type: ignore[attr-defined]
                    return HandlerResult(name, Outcome.SKIPPED)
                await handler(event, session)
        except Exception as exc:
            result = await self._record_failure(event, name, exc)
        else:
            result = HandlerResult(name, Outcome.DONE)
        self._observe(name, result, time.perf_counter() - began)
        return result

    async def _record_failure(self, event: Event, name: str, exc: Exception) -> HandlerResult:
        error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH]
        now = utcnow()
        async with self.sessionmaker() as session, session.begin():
            statement = for_session(session, _COUNT_FAILURE)
            failures = int(
                (
                    await session.execute(
                        statement,
                        {
                            "event_id": event.id,
                            "handler": name,
                            "event_type": event.type,
                            "error": error,
                            "now": now,
                        },
                    )
                ).scalar_one()
            )
            dead = failures >= self.policy.max_attempts
            if dead:
                await session.execute(
                    update(EventFailure)
                    .where(EventFailure.event_id == event.id, EventFailure.handler == name)
                    .values(dead_at=now)
                )
        log = logger.bind(event_id=str(event.id), event_type=event.type, handler=name, failures=failures)
        if dead:
            log.error("event_handler_dead", error=error)
            return HandlerResult(name, Outcome.DEAD, failures, error)
        log.warning("event_handler_retry", error=error)
        return HandlerResult(name, Outcome.RETRY, failures, error, self.policy.delay(failures))

    def _observe(self, name: str, result: HandlerResult, seconds: float) -> None:
        if self.metrics is None:
            return
        series = self.metrics.handler_series(name)
        if result.outcome == Outcome.DONE:
            series.done.inc()
            series.latency.observe(seconds)
        elif result.outcome in (Outcome.RETRY, Outcome.DEAD):
            series.failed.inc()

    def _observe_batch(self, name: str, results: list[HandlerResult], seconds: float) -> None:
        """A batch's events each took the batch's time (they committed together)."""
        done = sum(1 for r in results if r.outcome == Outcome.DONE)
        if self.metrics is None or not done:
            return
        series = self.metrics.handler_series(name)
        series.done.inc(done)
        for _ in range(done):
            series.latency.observe(seconds)


# -- dead events: listing and requeueing (the `studyhall events` commands) ---------------


@dataclass(frozen=True, slots=True)
class DeadEvent:
    event_id: uuid.UUID
    event_type: str
    handler: str
    attempts: int
    last_error: str | None
    dead_at: datetime


async def dead_events(session: AsyncSession) -> list[DeadEvent]:
    rows = await session.scalars(
        select(EventFailure).where(EventFailure.dead_at.is_not(None)).order_by(EventFailure.dead_at)
    )
    return [
        DeadEvent(r.event_id, r.event_type, r.handler, r.attempts, r.last_error, r.dead_at)
        for r in rows.all()
        if r.dead_at is not None
    ]


async def forget_dead(
    session: AsyncSession, event_ids: Collection[uuid.UUID] | None
) -> dict[uuid.UUID, list[str]]:
    """Remove the dead marks of these events (all when None), so their handlers get a fresh
    round of attempts; returns the handlers to run again, by event id."""
    query = select(EventFailure).where(EventFailure.dead_at.is_not(None))
    if event_ids is not None:
        query = query.where(EventFailure.event_id.in_(list(event_ids)))
    rows = (await session.scalars(query.with_for_update())).all()
    requeued: dict[uuid.UUID, list[str]] = {}
    for row in rows:
        requeued.setdefault(row.event_id, []).append(row.handler)
    if rows:
        await session.execute(
            delete(EventFailure).where(
                EventFailure.dead_at.is_not(None), EventFailure.event_id.in_(list(requeued))
            )
        )
    return requeued


# -- retention: handled events ------------------------------------------------------------


async def delete_handled_events(sessionmaker: async_sessionmaker[AsyncSession], retention_days: int) -> int:
    """Deletes the outbox events handled more than `retention_days` ago (done, or relayed to
    the broker, and due since before then) with their processed marks and the failures their
    handlers got over; returns how many events were deleted. An event with a dead handler,
    or a failure since the cutoff (a retry may be on its way), stays: `studyhall events
    retry` needs it, and its processed marks keep the handlers that succeeded from running
    again."""
    cutoff = utcnow() - timedelta(days=retention_days)
    unsettled = select(EventFailure.event_id).where(
        or_(EventFailure.dead_at.is_not(None), EventFailure.failed_at >= cutoff)
    )
    expired = select(OutboxEvent.id).where(
        OutboxEvent.status.in_([OutboxStatus.DONE, OutboxStatus.RELAYED]),
        OutboxEvent.available_at < cutoff,  # with the status: the outbox's own index
        OutboxEvent.id.not_in(unsettled),
    )
    marks = [ProcessedEvent.event_id, EventFailure.event_id, OutboxEvent.id]
    return await delete_in_batches(sessionmaker, expired, marks)
