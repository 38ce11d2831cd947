"""The one shape an activity event has between ingestion and the rollups.

Client batches (`POST /events`) and server-side domain events (through the outbox) are both
turned into `ActivityRecord`s; the store writes them to `activity_events` and hands the
newly stored ones (never duplicates) to `rollups.apply_events` in the same transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final


class ActivitySource(StrEnum):
    CLIENT = "client"
    SERVER = "server"


# Activity types a client may send (POST /events); shared/API.md lists their `data` fields.
PAGE_VIEWED: Final = "page.viewed"
LESSON_VIEWED: Final = "lesson.viewed"
VIDEO_PLAYED: Final = "video.played"
VIDEO_PAUSED: Final = "video.paused"
VIDEO_PROGRESS: Final = "video.progress"
QUIZ_STARTED: Final = "quiz.started"
SEARCH_PERFORMED: Final = "search.performed"

# Activity types only the server records, from domain events delivered through the outbox.
# `data` carries ids and measured values (for example `watched_seconds` of a heartbeat,
# `score_percent` and `passed` of a graded quiz).
ENROLLED: Final = "server.enrolled"
LESSON_COMPLETED: Final = "server.lesson_completed"
COURSE_COMPLETED: Final = "server.course_completed"
QUIZ_GRADED: Final = "server.quiz_graded"
SUBMISSION_GRADED: Final = "server.submission_graded"
VIDEO_WATCHED: Final = "server.video_watched"


@dataclass(slots=True)
class ActivityRecord:
    """One activity event, validated, with the acting user taken from the token (client
    events) or from the domain event (server events). Never changed once built; not a frozen
    dataclass only because ingestion builds 500 per batch on each side of the broker, and a
    frozen one takes twice as long to build. The hot paths (`ingest.to_record`,
    `transport._records`) build it positionally: keep the fields' order."""

    event_id: str  # the client's id, or "outbox:<outbox event id>" for server events
    event_type: str
    user_id: uuid.UUID
    occurred_at: datetime  # timezone-aware UTC
    source: ActivitySource
    course_id: uuid.UUID | None = None
    lesson_id: uuid.UUID | None = None
    data: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
