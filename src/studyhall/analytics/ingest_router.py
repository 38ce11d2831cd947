"""`POST /events`: the activity stream of web and mobile clients."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Request, status

from studyhall.analytics import ingest
from studyhall.analytics.schemas import IngestResult, RejectedEvent
from studyhall.core.deps import SessionDep, SettingsDep
from studyhall.core.errors import PayloadTooLarge
from studyhall.core.openapi import error_responses
from studyhall.core.routing import DomainRouter
from studyhall.identity.deps import CurrentUser, RateLimiterDep

router = DomainRouter(tags=["analytics"])

EventBatch = Annotated[
    list[Any],
    Body(
        max_length=ingest.MAX_BATCH_EVENTS,
        description="Up to 500 events `{event_id, event_type, timestamp, data, metadata}`",
        examples=[
            [
                {
                    "event_id": "0b7f8a52-6d3e-4a53-9a1c-1d2a3b4c5d6e",
                    "event_type": "video.progress",
                    "timestamp": "2026-11-22T10:00:00Z",
                    "data": {"lesson_id": "5f1c8a52-6d3e-4a53-9a1c-1d2a3b4c5d6e", "position_seconds": 42.5},
                    "metadata": {"client": "web"},
                }
            ]
        ],
    ),
]


@router.post(
    "/events",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Record activity events",
    responses=error_responses(
        401,
        413,
        422,
        429,
        503,
        status_413="`payload_too_large`: the batch is over `ANALYTICS_MAX_BATCH_BYTES`",
        status_422="`validation_error`: the body is not JSON, not a list, or has more than 500 events",
        status_503=(
            "`ingest_unavailable`: broker mode, the broker did not take the batch, or the "
            "pipeline stayed behind for `ANALYTICS_BACKLOG_WAIT_SECONDS`; send it again"
        ),
    ),
)
async def record_events(
    events: EventBatch,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
) -> IngestResult:
    """Signed in. Each event is checked on its own: the envelope (`event_id` of letters,
    digits and `._~-`, up to 128; an ISO 8601 `timestamp` with a zone, at most 5 minutes
    ahead and 7 days back), a known `event_type`, and the `data` fields that type requires
    (more are kept as sent). A bad event is listed in `rejected` with its index and the rest
    are accepted. The acting user is the caller: a `user_id` in the event is dropped.

    An `event_id` already recorded for the caller (an earlier attempt of the same batch, or a
    repeat in this one) is counted in `duplicates` and stored once; retrying a batch is
    always safe. In broker mode `accepted` counts the events queued for storage, and repeats
    of earlier batches are dropped by the worker (not counted here), and while the queue is
    over `ANALYTICS_MAX_QUEUED_BATCHES` the request waits for the workers (backpressure).
    Rate limited per user (`RATE_LIMIT_EVENTS`)."""
    await limiter.hit("events-user", settings.rate_limit_events, str(user.id))
    if len(await request.body()) > settings.analytics_max_batch_bytes:
        raise PayloadTooLarge(settings.analytics_max_batch_bytes)
    outcome = await ingest.ingest(
        session,
        user.id,
        events,
        publisher=request.app.state.activity_publisher,
        metrics=request.app.state.metrics,
    )
    return IngestResult(
        accepted=outcome.accepted,
        duplicates=outcome.duplicates,
        rejected=[RejectedEvent(index=r.index, code=r.code, error=r.error) for r in outcome.rejected],
    )
