"""Outbox handlers of analytics: domain events become server-side activity records.

Server records do not depend on what clients report. Each is stored under the event id
`outbox:<outbox event id>`, so a redelivered event is a duplicate the store skips (besides
the handler runner's own once-per-handler record).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.analytics import records
from studyhall.analytics.records import ActivityRecord, ActivitySource
from studyhall.analytics.store import Arrival, store
from studyhall.core.events import Event


def server_record(
    event: Event, activity_type: str, data_fields: Iterable[str], *, occurred_field: str | None = None
) -> ActivityRecord:
    """The activity record of a domain event: its user, course and lesson, the named payload
    fields as `data`, and the time it happened (`occurred_field`, else its emission)."""
    payload = event.payload
    occurred = payload.get(occurred_field) if occurred_field else None
    return ActivityRecord(
        event_id=f"outbox:{event.id}",
        event_type=activity_type,
        user_id=uuid.UUID(str(payload["user_id"])),
        occurred_at=datetime.fromisoformat(occurred) if occurred else event.created_at,
        source=ActivitySource.SERVER,
        course_id=_uuid(payload.get("course_id")),
        lesson_id=_uuid(payload.get("lesson_id")),
        data={name: payload[name] for name in data_fields if name in payload},
    )


def _uuid(value: Any) -> uuid.UUID | None:
    return uuid.UUID(str(value)) if value else None


async def _record(session: AsyncSession, record: ActivityRecord, event: Event) -> None:
    await store(session, [Arrival([record], event.created_at)])


async def record_enrollment(event: Event, session: AsyncSession) -> None:
    await _record(session, server_record(event, records.ENROLLED, ["enrollment_id"]), event)


async def record_lesson_completion(event: Event, session: AsyncSession) -> None:
    record = server_record(event, records.LESSON_COMPLETED, [], occurred_field="completed_at")
    await _record(session, record, event)


async def record_course_completion(event: Event, session: AsyncSession) -> None:
    record = server_record(event, records.COURSE_COMPLETED, ["enrollment_id"], occurred_field="completed_at")
    await _record(session, record, event)


#: An attempt's result as `server.quiz_graded` carries it; a staff grade adds the result it
#: replaces (`previous_*`), which `rollups.fold` takes back out of the quiz's totals.
QUIZ_RESULT_FIELDS = ("attempt_id", "quiz_id", "status", "score_percent", "passed")
QUIZ_PREVIOUS_FIELDS = ("previous_status", "previous_score_percent", "previous_passed")


async def record_quiz_attempt(event: Event, session: AsyncSession) -> None:
    """`quiz.attempt_submitted`: the result scored on submission."""
    await _record(session, server_record(event, records.QUIZ_GRADED, QUIZ_RESULT_FIELDS), event)


async def record_quiz_grade(event: Event, session: AsyncSession) -> None:
    """`quiz.graded`: staff (re-)graded the attempt; the record replaces its previous result."""
    fields = QUIZ_RESULT_FIELDS + QUIZ_PREVIOUS_FIELDS
    await _record(session, server_record(event, records.QUIZ_GRADED, fields), event)


async def record_submission_grade(event: Event, session: AsyncSession) -> None:
    fields = ["submission_id", "assignment_id", "points", "max_points"]
    await _record(session, server_record(event, records.SUBMISSION_GRADED, fields), event)


async def record_video_watched(event: Event, session: AsyncSession) -> None:
    fields = ["position_seconds", "duration_seconds", "watched_seconds"]
    await _record(session, server_record(event, records.VIDEO_WATCHED, fields, occurred_field="at"), event)
