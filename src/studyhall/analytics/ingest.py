"""Client activity batches (`POST /events`): validated one event at a time into `ActivityRecord`s.

Each event type has a schema for its `data` (shared/API.md "Analytics"); an event that fails
its envelope, its type's schema or the timestamp window is rejected on its own, with its
index, and the rest of the batch goes on. The acting user is always the caller: a `user_id`
anywhere in an event is dropped, never read.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Final

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.analytics import records
from studyhall.analytics.records import ActivityRecord, ActivitySource
from studyhall.analytics.store import Arrival, store
from studyhall.core.clock import utcnow
from studyhall.core.metrics import Metrics

if TYPE_CHECKING:
    from studyhall.analytics.transport import ActivityPublisher

MAX_BATCH_EVENTS: Final = 500
#: How far from the server's clock an event's `timestamp` may be.
MAX_FUTURE: Final = timedelta(minutes=5)
MAX_PAST: Final = timedelta(days=7)
#: Keys dropped from `data` and `metadata`: the acting user comes from the token only.
IGNORED_KEYS: Final = ("user_id",)

StrictText = Annotated[str, Field(strict=True, min_length=1, max_length=2000)]
NonNegative = Annotated[float, Field(strict=True, ge=0)]
Count = Annotated[int, Field(strict=True, ge=0)]


class RejectReason(StrEnum):
    INVALID_EVENT = "invalid_event"
    UNKNOWN_EVENT_TYPE = "unknown_event_type"
    INVALID_DATA = "invalid_data"
    TIMESTAMP_OUT_OF_WINDOW = "timestamp_out_of_window"


# -- the schemas ----------------------------------------------------------------------------


class ClientEvent(BaseModel):
    """The envelope of every event; unknown fields (a `user_id`, say) are ignored."""

    model_config = ConfigDict(extra="ignore")

    #: Letters, digits and `._~-` (a UUID fits): never `:`, which server-side ids use.
    event_id: str = Field(strict=True, pattern=r"^[A-Za-z0-9._~-]{1,128}$")
    event_type: str = Field(strict=True, min_length=1, max_length=64)
    timestamp: AwareDatetime
    data: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)


class _Data(BaseModel):
    """An event type's required `data` fields; other fields are kept as sent."""

    model_config = ConfigDict(extra="allow")


class PageViewed(_Data):
    path: StrictText


class LessonViewed(_Data):
    course_id: uuid.UUID
    lesson_id: uuid.UUID


class VideoPosition(_Data):
    lesson_id: uuid.UUID
    position_seconds: NonNegative


class QuizStarted(_Data):
    quiz_id: uuid.UUID


class SearchPerformed(_Data):
    query: StrictText
    results: Count


DATA_SCHEMAS: Final[dict[str, type[_Data]]] = {
    records.PAGE_VIEWED: PageViewed,
    records.LESSON_VIEWED: LessonViewed,
    records.VIDEO_PLAYED: VideoPosition,
    records.VIDEO_PAUSED: VideoPosition,
    records.VIDEO_PROGRESS: VideoPosition,
    records.QUIZ_STARTED: QuizStarted,
    records.SEARCH_PERFORMED: SearchPerformed,
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
    try:
        event = ClientEvent.model_validate(item)
    except ValidationError as exc:
        raise Rejected(RejectReason.INVALID_EVENT, describe(exc)) from None
    schema = DATA_SCHEMAS.get(event.event_type)
    if schema is None:
        raise Rejected(RejectReason.UNKNOWN_EVENT_TYPE, f"event_type: unknown type {event.event_type!r}")
    try:
        data = schema.model_validate(event.data)
    except ValidationError as exc:
        raise Rejected(RejectReason.INVALID_DATA, describe(exc, prefix="data.")) from None
    occurred_at = event.timestamp.astimezone(now.tzinfo)
    if occurred_at > now + MAX_FUTURE or occurred_at < now - MAX_PAST:
        raise Rejected(
            RejectReason.TIMESTAMP_OUT_OF_WINDOW,
            "timestamp: must be at most 5 minutes in the future and 7 days in the past",
        )
    return ActivityRecord(
        event_id=event.event_id,
        event_type=event.event_type,
        user_id=user_id,
        occurred_at=occurred_at,
        source=ActivitySource.CLIENT,
        course_id=getattr(data, "course_id", None),
        lesson_id=getattr(data, "lesson_id", None),
        data=_without_ignored(event.data),
        metadata=_without_ignored(event.metadata),
    )


def describe(exc: ValidationError, prefix: str = "") -> str:
    """`loc: message` of each error (the first few), for the `rejected` entry."""
    parts = [
        f"{prefix}{'.'.join(str(part) for part in error['loc']) or 'event'}: {error['msg']}"
        for error in exc.errors(include_url=False, include_input=False)[:5]
    ]
    return "; ".join(parts)


def _without_ignored(values: dict[str, Any]) -> dict[str, Any]:
    if not any(key in values for key in IGNORED_KEYS):
        return values
    return {key: value for key, value in values.items() if key not in IGNORED_KEYS}


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
