"""Notifications, each user's preferences, and the record of notification emails sent."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from studyhall import event_types
from studyhall.core.clock import utcnow
from studyhall.core.db import Base, UUIDPrimaryKey


class NotificationType(StrEnum):
    """What a notification is about; preferences are kept per type. A type caused by one
    event bears that event's name."""

    ENROLLMENT_CREATED = event_types.ENROLLMENT_CREATED
    QUIZ_GRADED = event_types.QUIZ_GRADED
    SUBMISSION_GRADED = event_types.SUBMISSION_GRADED
    COURSE_COMPLETED = event_types.COURSE_COMPLETED
    CERTIFICATE_ISSUED = event_types.CERTIFICATE_ISSUED
    POST_CREATED = event_types.POST_CREATED
    ANNOUNCEMENT_POSTED = event_types.ANNOUNCEMENT_POSTED
    COMMENT_CREATED = event_types.COMMENT_CREATED


class Notification(UUIDPrimaryKey, Base):
    """One in-app notification of one user, made by a handler from the event `event_id`.

    (user, event) is unique: a redelivered event inserts nothing (`ON CONFLICT DO NOTHING`).
    `seq` numbers a user's notifications 1, 2, 3, ... in the order their transactions commit
    (`NotificationCounter`): the socket's message id and its replay cursor."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "event_id"),
        # Replay after a cursor, and a user's latest number.
        UniqueConstraint("user_id", "seq"),
        # The list, newest first; and its unread part (also the unread count).
        Index("ix_notifications_user_id_created_at", "user_id", "created_at", "id"),
        Index(
            "ix_notifications_unread",
            "user_id",
            "created_at",
            "id",
            sqlite_where=text("read_at IS NULL"),
            postgresql_where=text("read_at IS NULL"),
        ),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    event_id: Mapped[uuid.UUID]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(default=None)
    seq: Mapped[int] = mapped_column(BigInteger)


class NotificationCounter(Base):
    """The last `Notification.seq` given to a user. Taking the next one updates this row,
    which holds the row's lock until the transaction ends, so one user's notifications commit
    in the order of their numbers and a replay from any number never skips one."""

    __tablename__ = "notification_counters"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    last: Mapped[int] = mapped_column(BigInteger)


class NotificationPreference(Base):
    """A user's choice for one type; a type without a row has the defaults."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    type: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[bool] = mapped_column(Boolean)
    in_app: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class NotificationEmail(Base):
    """A notification email sent to a user for an event: the key that sends it once, also
    when the user turned in-app notifications off (so there is no notification row)."""

    __tablename__ = "notification_emails"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
