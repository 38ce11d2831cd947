"""Uploaded files and what they are attached to."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, String
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
