"""Client activity batches (`POST /events`): validated one event at a time into `ActivityRecord`s.

Each event type has a schema for its `data` (shared/API.md "Analytics"); an event that fails
its envelope, its type's schema or the timestamp window is rejected on its own, with its
index, and the rest of the batch goes on. The acting user is always the caller: a `user_id`
anywhere in an event is dropped, never read.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.analytics import records
from studyhall.analytics.records import ActivityRecord, ActivitySource
from studyhall.analytics.store import Arrival, store
from studyhall.core.clock import utcnow
from studyhall.core.metrics import Metrics

if TYPE_CHECKING:
    from studyhall.analytics.transport import ActivityPublisher

MAX_BATCH_EVENTS: Final = 500
#: Looked up once: an enum member's lookup costs microseconds, 500 times a batch.
CLIENT: Final = ActivitySource.CLIENT
#: How far from the server's clock an event's `timestamp` may be.
MAX_FUTURE: Final = timedelta(minutes=5)
MAX_PAST: Final = timedelta(days=7)
#: The key dropped from `data` and `metadata`: the acting user comes from the token only.
IGNORED_KEY: Final = "user_id"

#: Letters, digits and `._~-` (a UUID fits): never `:`, which server-side ids use.
EVENT_ID = re.compile(r"[A-Za-z0-9._~-]{1,128}")
MAX_TEXT = 2000


class RejectReason(StrEnum):
    INVALID_EVENT = "invalid_event"
    UNKNOWN_EVENT_TYPE = "unknown_event_type"
    INVALID_DATA = "invalid_data"
    TIMESTAMP_OUT_OF_WINDOW = "timestamp_out_of_window"


# -- the schemas ----------------------------------------------------------------------------
#
# Plain checks rather than a model per event: a batch is up to 500 events, and these run at
# a few microseconds an event where model validation took tens (docs/performance.md).

#: A field check: the value as stored (a UUID parsed), or ValueError saying what is wrong.
Check = Callable[[Any], Any]


def text(value: Any) -> Any:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_TEXT:
        raise ValueError(f"must be a string of 1 to {MAX_TEXT} characters")
    return value


def uuid_text(value: Any) -> uuid.UUID:
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise ValueError("must be a UUID")


def non_negative_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ValueError("must be a number, 0 or more")
    return value


def count(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("must be an integer, 0 or more")
    return value


#: Each client event type's required `data` fields; other fields are kept as sent.
DATA_SCHEMAS: Final[dict[str, dict[str, Check]]] = {
    records.PAGE_VIEWED: {"path": text},
    records.LESSON_VIEWED: {"course_id": uuid_text, "lesson_id": uuid_text},
    records.VIDEO_PLAYED: {"lesson_id": uuid_text, "position_seconds": non_negative_number},
    records.VIDEO_PAUSED: {"lesson_id": uuid_text, "position_seconds": non_negative_number},
    records.VIDEO_PROGRESS: {"lesson_id": uuid_text, "position_seconds": non_negative_number},
    records.QUIZ_STARTED: {"quiz_id": uuid_text},
    records.SEARCH_PERFORMED: {"query": text, "results": count},
}


# -- validating a batch ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rejection:
    index: int
    code: RejectReason
    error: str


@dataclass(slots=True)
class ValidatedBatch:
    """A batch sorted out: the records to store, in order; the rejected events; and how
    many repeated an `event_id` already in the batch (kept once)."""

    records: list[ActivityRecord] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    duplicates: int = 0


class Rejected(Exception):
    def __init__(self, code: RejectReason, error: str) -> None:
        super().__init__(error)
        self.code = code
        self.error = error


def validate_batch(items: Sequence[Any], user_id: uuid.UUID, now: datetime | None = None) -> ValidatedBatch:
    now = now or utcnow()
    batch = ValidatedBatch()
    seen: set[str] = set()
    for index, item in enumerate(items):
        try:
            record = to_record(item, user_id, now)
        except Rejected as exc:
            batch.rejected.append(Rejection(index, exc.code, exc.error))
            continue
        if record.event_id in seen:
            batch.duplicates += 1
            continue
        seen.add(record.event_id)
        batch.records.append(record)
    return batch


def to_record(item: Any, user_id: uuid.UUID, now: datetime) -> ActivityRecord:
    """One event as a record of `user_id`; `Rejected` says why it cannot be one."""
    event_id, event_type, occurred_at, data, metadata = _envelope(item)
    schema = DATA_SCHEMAS.get(event_type)
    if schema is None:
        raise Rejected(RejectReason.UNKNOWN_EVENT_TYPE, f"event_type: unknown type {event_type!r}")
    fields = _checked_data(data, schema)
    if occurred_at.tzinfo is not now.tzinfo:  # most clients send UTC, parsed as `UTC` itself
        occurred_at = occurred_at.astimezone(now.tzinfo)
    if occurred_at > now + MAX_FUTURE or occurred_at < now - MAX_PAST:
        raise Rejected(
            RejectReason.TIMESTAMP_OUT_OF_WINDOW,
            "timestamp: must be at most 5 minutes in the future and 7 days in the past",
        )
    # Positional: a keyword call takes twice as long, 500 times a batch.
    return ActivityRecord(
        event_id,
        event_type,
        user_id,
        occurred_at,
        CLIENT,
        fields.get("course_id"),
        fields.get("lesson_id"),
        _without_ignored(data),
        _without_ignored(metadata),
    )


def _envelope(item: Any) -> tuple[str, str, datetime, dict[str, Any], dict[str, Any]]:
    """`event_id, event_type, timestamp, data, metadata`, checked; other keys are ignored."""
    if not isinstance(item, dict):
        raise Rejected(RejectReason.INVALID_EVENT, "event: must be an object")
    errors = []
    event_id = item.get("event_id")
    if not isinstance(event_id, str) or not EVENT_ID.fullmatch(event_id):
        errors.append("event_id: must be 1 to 128 letters, digits or ._~-")
    event_type = item.get("event_type")
    if not isinstance(event_type, str) or not 1 <= len(event_type) <= 64:
        errors.append("event_type: must be a string of 1 to 64 characters")
    timestamp = _timestamp(item.get("timestamp"))
    if timestamp is None:
        errors.append("timestamp: must be an ISO 8601 date and time with a zone")
    data, metadata = item.get("data", {}), item.get("metadata", {})
    for name, value in (("data", data), ("metadata", metadata)):
        if not isinstance(value, dict):
            errors.append(f"{name}: must be an object")
    if errors:
        raise Rejected(RejectReason.INVALID_EVENT, "; ".join(errors))
    return event_id, event_type, timestamp, data, metadata  # type: ignore[return-value]


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _checked_data(data: dict[str, Any], schema: dict[str, Check]) -> dict[str, Any]:
    """The required fields, checked (UUIDs parsed); `Rejected` lists the bad ones."""
    checked, errors = {}, []
    for name, check in schema.items():
        if name not in data:
            errors.append(f"data.{name}: required")
            continue
        try:
            checked[name] = check(data[name])
        except ValueError as exc:
            errors.append(f"data.{name}: {exc}")
    if errors:
        raise Rejected(RejectReason.INVALID_DATA, "; ".join(errors))
    return checked


def _without_ignored(values: dict[str, Any]) -> dict[str, Any]:
    if IGNORED_KEY not in values:
        return values
    return {key: value for key, value in values.items() if key != IGNORED_KEY}


# -- taking a batch in ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    accepted: int
    duplicates: int
    rejected: list[Rejection]


async def ingest(
    session: AsyncSession,
    user_id: uuid.UUID,
    items: Sequence[Any],
    *,
    publisher: ActivityPublisher | None,
    metrics: Metrics | None = None,
) -> IngestOutcome:
    """Validate a client batch and store its valid events (embedded mode), or hand them to
    the broker (`publisher`, broker mode), where a worker stores them. Broker mode cannot
    know at this point which events earlier batches already stored: `duplicates` then
    counts only the repeats within this batch, and the worker skips the others."""
    if publisher is not None:
        # Nothing more is read or written here: the connection that checked the caller goes
        # back to the pool now, not after validating and publishing (15 ms for 500 events),
        # so concurrent batches do not hold a connection each and churn the pool's overflow.
        await session.commit()
    received_at = utcnow()
    batch = validate_batch(items, user_id, received_at)
    arrival = Arrival(batch.records, received_at)
    duplicates = batch.duplicates
    if publisher is not None:
        if batch.records:
            await publisher.publish(arrival)
        accepted = len(batch.records)
    else:
        accepted = len(await store(session, [arrival]))
        duplicates += len(batch.records) - accepted
    if metrics is not None:
        _observe(metrics, batch, accepted)
    return IngestOutcome(accepted, duplicates, batch.rejected)


def _observe(metrics: Metrics, batch: ValidatedBatch, accepted: int) -> None:
    metrics.activity_accepted.inc(accepted)
    if batch.duplicates:
        metrics.activity_duplicates.labels("batch").inc(batch.duplicates)
    for rejection in batch.rejected:
        metrics.activity_rejected.labels(rejection.code).inc()
