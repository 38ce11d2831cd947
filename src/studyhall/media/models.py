"""Uploaded files and what they are attached to; lesson videos and the Mux webhook deliveries
already applied."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from studyhall.core.clock import utcnow
from studyhall.core.db import Base, SoftDelete, UUIDPrimaryKey


class FilePurpose(StrEnum):
    """What a file is for: it decides the size and type limits and where it may be attached."""

    AVATAR = "avatar"
    LESSON_MATERIAL = "lesson_material"
    SUBMISSION = "submission"
    CERTIFICATE_ASSET = "certificate_asset"
    #: Internal: created by the video upload routes, never by `POST /files/uploads`.
    VIDEO = "video"


#: The purposes a client may ask for in `POST /files/uploads`.
UPLOADABLE_PURPOSES = frozenset(FilePurpose) - {FilePurpose.VIDEO}


class FileStatus(StrEnum):
    #: Created with its upload URL; the bytes may or may not have arrived.
    PENDING = "pending"
    #: `complete` found the object with the declared size.
    READY = "ready"


class AttachmentKind(StrEnum):
    """What a file is attached to; `target_id` is that thing's id."""

    LESSON = "lesson"
    ASSIGNMENT = "assignment"
    SUBMISSION = "submission"
    AVATAR = "avatar"  # target: the user whose avatar it is


class File(UUIDPrimaryKey, SoftDelete, Base):
    """One uploaded object. The bytes live in storage under `storage_key`
    (`uploads/<purpose>/<id>`: no user-supplied text in keys); the name the uploader gave is
    kept here and used only for the download's `Content-Disposition`."""

    __tablename__ = "files"
    __table_args__ = (
        #: "My files", newest first.
        Index("ix_files_owner_id_created_at", "owner_id", "created_at"),
        #: The cleanup job: uploads still pending after a day.
        Index("ix_files_status_created_at", "status", "created_at"),
    )

    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    storage_key: Mapped[str] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=FileStatus.PENDING)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    #: When the cleanup job removed the object of a file deleted past the retention period;
    #: the row stays (what was uploaded, by whom), the file can no longer be restored.
    purged_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def is_ready(self) -> bool:
        return self.status == FileStatus.READY


def storage_key_for(purpose: str, file_id: uuid.UUID) -> str:
    return f"uploads/{purpose}/{file_id}"


class FileAttachment(Base):
    """A file in use: attached to a lesson, an assignment, a submission or as an avatar.
    Who may download a file follows from these rows (`media.access`)."""

    __tablename__ = "file_attachments"
    __table_args__ = (
        #: A target's files (replacing an assignment's attachments, a lesson's file).
        Index("ix_file_attachments_kind_target_id", "kind", "target_id"),
    )

    file_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("files.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    target_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    #: The course of a lesson, assignment or submission (whose staff and visibility rule
    #: decide access); None for an avatar.
    course_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), default=None, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


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
