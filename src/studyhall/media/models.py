"""Media: lesson videos and the Mux webhook deliveries already applied."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from studyhall.core.clock import utcnow
from studyhall.core.db import Base


class VideoStatus(StrEnum):
    """Where a lesson's video is in its cycle. A status only moves forward (see `STATUS_RANK`);
    a new upload for the lesson starts a new cycle at `waiting_upload`."""

    WAITING_UPLOAD = "waiting_upload"
    PROCESSING = "processing"
    READY = "ready"
    ERRORED = "errored"


#: The order statuses move in; `ready` and `errored` are both final for one upload.
STATUS_RANK = {
    VideoStatus.WAITING_UPLOAD: 0,
    VideoStatus.PROCESSING: 1,
    VideoStatus.READY: 2,
    VideoStatus.ERRORED: 2,
}


class PlaybackPolicy(StrEnum):
    PUBLIC = "public"
    SIGNED = "signed"


class LessonVideo(Base):
    """The video of a `video` lesson: one row per lesson, overwritten by each new upload.

    `upload_id` names the upload of the current cycle (a Mux direct upload id, or the id of
    the stored file with the local provider); provider callbacks about any other upload or
    asset do not match this row and change nothing."""

    __tablename__ = "lesson_videos"

    lesson_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lessons.id", ondelete="CASCADE"), primary_key=True
    )
    provider: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    upload_id: Mapped[str] = mapped_column(String(128), unique=True)
    asset_id: Mapped[str | None] = mapped_column(String(128), default=None, unique=True)
    playback_id: Mapped[str | None] = mapped_column(String(128), default=None)
    playback_policy: Mapped[str | None] = mapped_column(String(16), default=None)
    duration_seconds: Mapped[float | None] = mapped_column(Float, default=None)
    #: Why the provider gave up on the upload (`errored`), as it told us.
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MuxWebhookEvent(Base):
    """A Mux webhook delivery that was applied, by Mux's event id: inserted in the transaction
    of the change, so a redelivery (Mux retries until it sees a 2xx) finds it and does nothing,
    also when two copies arrive at once (the second insert waits for the first to commit)."""

    __tablename__ = "mux_webhook_events"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
