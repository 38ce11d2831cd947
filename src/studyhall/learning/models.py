"""Enrollments, lesson completions and video positions."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from studyhall.core.clock import utcnow
from studyhall.core.db import Base, UUIDPrimaryKey


class EnrollmentStatus(StrEnum):
    ACTIVE = "active"
    #: Unenrolled: the row (and the student's completions) stay, so re-enrolling restores progress.
    UNENROLLED = "unenrolled"


class Enrollment(UUIDPrimaryKey, Base):
    __tablename__ = "enrollments"
    __table_args__ = (
        UniqueConstraint("user_id", "course_id"),
        #: The roster: a course's active students in enrollment order, without a sort.
        Index("ix_enrollments_course_id_status_enrolled_at", "course_id", "status", "enrolled_at"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=EnrollmentStatus.ACTIVE)
    enrolled_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    #: Set once when `course.completed` is first emitted; never emitted again for this row.
    completion_emitted_at: Mapped[datetime | None] = mapped_column(default=None)
    last_activity_at: Mapped[datetime | None] = mapped_column(default=None)
    unenrolled_at: Mapped[datetime | None] = mapped_column(default=None)


class LessonCompletion(Base):
    """One row per (student, lesson): the primary key makes completion idempotent."""

    __tablename__ = "lesson_completions"
    __table_args__ = (Index("ix_lesson_completions_user_id_course_id", "user_id", "course_id"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    lesson_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lessons.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    completed_at: Mapped[datetime] = mapped_column(default=utcnow)


class VideoPosition(Base):
    """The last reported playback position of a student in a video lesson."""

    __tablename__ = "video_positions"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    lesson_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lessons.id", ondelete="CASCADE"), primary_key=True
    )
    position_seconds: Mapped[float]
    duration_seconds: Mapped[float]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
