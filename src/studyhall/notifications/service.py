"""Notifications: a user's list, marking read, per-type preferences; and, for the event
handlers, creating a notification and claiming its email, each at most once per user and
event.

Exactly once under redelivery is the database's job: a notification is unique per (user,
event) and an email record per (user, event), both written with `INSERT ... ON CONFLICT DO
NOTHING`; the caller acts (sends the mail) only when its row was inserted.

Each notification takes its user's next number (`seq`) from their counter row, whose lock
the transaction holds until it ends: one user's notifications commit in the order of their
numbers, without holes (a redelivered event's number is given back), so a socket that has
number n has everything before it. A handler that notifies several users takes their
counters in user id order (`_live_users` sorts), so two handlers never wait on each other
in a cycle.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.core.clock import utcnow
from studyhall.core.db import dialect_insert
from studyhall.core.pagination import PageParams, fetch_page
from studyhall.identity.models import User
from studyhall.notifications import realtime
from studyhall.notifications.errors import NotificationNotFound
from studyhall.notifications.models import (
    Notification,
    NotificationCounter,
    NotificationEmail,
    NotificationPreference,
    NotificationType,
)

_preferences = cast(Table, NotificationPreference.__table__)
_counters = cast(Table, NotificationCounter.__table__)


@dataclass(frozen=True, slots=True)
class Channels:
    """Whether one type of notification reaches a user by email and in the app."""

    email: bool
    in_app: bool


#: Types mailed unless the user turns it off: graded work, certificates, announcements.
EMAILED_BY_DEFAULT = frozenset(
    {
        NotificationType.QUIZ_GRADED,
        NotificationType.SUBMISSION_GRADED,
        NotificationType.CERTIFICATE_ISSUED,
        NotificationType.ANNOUNCEMENT_POSTED,
    }
)


def default_channels(notification_type: NotificationType) -> Channels:
    """Every type is shown in the app; some are mailed too (`EMAILED_BY_DEFAULT`)."""
    return Channels(email=notification_type in EMAILED_BY_DEFAULT, in_app=True)


# -- the caller's notifications ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NotificationList:
    """A page of the caller's notifications, and how many of all theirs are unread."""

    items: list[Notification]
    total: int
    unread_count: int


def _mine(user: User) -> Any:
    return Notification.user_id == user.id


def notifications_of(user_id: uuid.UUID, *, unread_only: bool = False) -> Select[Notification]:
    """A user's notifications, newest first (read backwards from an index on
    `(user_id, created_at, id)`; the unread ones from its partial twin)."""
    statement = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        statement = statement.where(Notification.read_at.is_(None))
    return statement.order_by(Notification.created_at.desc(), Notification.id.desc())


async def list_notifications(
    session: AsyncSession, user: User, params: PageParams, *, unread_only: bool = False
) -> NotificationList:
    """Newest first; `unread_only` keeps the unread ones."""
    items, total = await fetch_page(session, notifications_of(user.id, unread_only=unread_only), params)
    unread = total if unread_only else await _unread_count(session, user)
    return NotificationList(items, total, unread)


async def _unread_count(session: AsyncSession, user: User) -> int:
    counted = (
        select(func.count()).select_from(Notification).where(_mine(user), Notification.read_at.is_(None))
    )
    return int(await session.scalar(counted) or 0)


async def mark_read(
    session: AsyncSession, user: User, notification_id: uuid.UUID, *, now: datetime | None = None
) -> Notification:
    """Idempotent: a notification read before keeps its first `read_at`. The conditional
    UPDATE makes concurrent reads agree on that time."""
    await session.execute(
        update(Notification)
        .where(Notification.id == notification_id, _mine(user), Notification.read_at.is_(None))
        .values(read_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    notification = await session.scalar(
        select(Notification)
        .where(Notification.id == notification_id, _mine(user))
        .execution_options(populate_existing=True)
    )
    if notification is None:
        raise NotificationNotFound()
    return notification


async def mark_all_read(session: AsyncSession, user: User, *, now: datetime | None = None) -> int:
    """Marks every unread notification of the caller read; returns how many there were."""
    result = await session.execute(
        update(Notification)
        .where(_mine(user), Notification.read_at.is_(None))
        .values(read_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


# -- preferences -------------------------------------------------------------------------


async def get_preferences(session: AsyncSession, user: User) -> dict[NotificationType, Channels]:
    """Every type's channels: the user's choice, else the defaults."""
    stored = (
        await session.scalars(select(NotificationPreference).where(NotificationPreference.user_id == user.id))
    ).all()
    chosen = {row.type: Channels(email=row.email, in_app=row.in_app) for row in stored}
    return {kind: chosen.get(kind, default_channels(kind)) for kind in NotificationType}


async def update_preferences(
    session: AsyncSession,
    user: User,
    changes: Mapping[NotificationType, Channels],
    *,
    now: datetime | None = None,
) -> dict[NotificationType, Channels]:
    """Replaces the channels of the types in `changes` (one upsert); other types keep theirs."""
    if changes:
        now = now or utcnow()
        upsert = dialect_insert(session, _preferences).values(
            [
                {
                    "user_id": user.id,
                    "type": kind.value,
                    "email": c.email,
                    "in_app": c.in_app,
                    "updated_at": now,
                }
                for kind, c in changes.items()
            ]
        )
        await session.execute(
            upsert.on_conflict_do_update(
                index_elements=["user_id", "type"],
                set_={
                    "email": upsert.excluded.email,
                    "in_app": upsert.excluded.in_app,
                    "updated_at": upsert.excluded.updated_at,
                },
            )
        )
    return await get_preferences(session, user)


async def channels_for(session: AsyncSession, user_id: uuid.UUID, kind: NotificationType) -> Channels:
    row = await session.get(NotificationPreference, (user_id, kind.value))
    return Channels(email=row.email, in_app=row.in_app) if row is not None else default_channels(kind)


# -- for the event handlers ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Notice:
    """What one event tells one recipient: the notification's content, also the email's."""

    type: NotificationType
    title: str
    body: str
    #: Absolute link to the page it is about (`APP_URL`); also in `data` as `url`.
    link: str
    #: The label of that link in the email.
    action: str
    data: dict[str, Any]


async def add_notification(
    session: AsyncSession, user_id: uuid.UUID, event_id: uuid.UUID, notice: Notice
) -> bool:
    """Creates the user's notification for the event, with their next number; False when it
    exists already. A new one is pushed to the user's sockets once the transaction commits."""
    seq = await take_number(session, user_id)
    notification = Notification(
        id=uuid.uuid4(),
        user_id=user_id,
        event_id=event_id,
        type=notice.type.value,
        title=notice.title,
        body=notice.body,
        data={**notice.data, "url": notice.link},
        created_at=utcnow(),
        read_at=None,
        seq=seq,
    )
    inserted = await session.scalar(
        dialect_insert(session, Notification)
        .values(
            id=notification.id,
            user_id=notification.user_id,
            event_id=notification.event_id,
            type=notification.type,
            title=notification.title,
            body=notification.body,
            data=notification.data,
            created_at=notification.created_at,
            seq=notification.seq,
        )
        .on_conflict_do_nothing(index_elements=["user_id", "event_id"])
        .returning(Notification.id)
    )
    if inserted is None:
        await _give_back_number(session, user_id)
        return False
    realtime.publish_on_commit(session, notification)
    return True


async def take_number(session: AsyncSession, user_id: uuid.UUID) -> int:
    """The user's next `seq`, for the notification the caller inserts. The upsert locks their
    counter row until the transaction ends (PostgreSQL row lock; SQLite's single writer), so
    a concurrent notification of the same user waits, and takes the next number, until this
    one is committed or rolled back."""
    upsert = dialect_insert(session, _counters).values(user_id=user_id, last=1)
    taken = await session.scalar(
        upsert.on_conflict_do_update(
            index_elements=["user_id"], set_={"last": _counters.c.last + 1}
        ).returning(_counters.c.last)
    )
    return int(taken)


async def _give_back_number(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Undoes `take_number` (the counter row is still locked by this transaction), so the
    numbers stay without holes."""
    await session.execute(
        update(NotificationCounter)
        .where(NotificationCounter.user_id == user_id)
        .values(last=NotificationCounter.last - 1)
        .execution_options(synchronize_session=False)
    )


async def claim_email(
    session: AsyncSession, user_id: uuid.UUID, event_id: uuid.UUID, kind: NotificationType
) -> bool:
    """Records the email of this event to this user; True only the first time, so the mail
    goes out once however often the event is delivered."""
    inserted = await session.scalar(
        dialect_insert(session, NotificationEmail)
        .values(user_id=user_id, event_id=event_id, type=kind.value, sent_at=utcnow())
        .on_conflict_do_nothing(index_elements=["user_id", "event_id"])
        .returning(NotificationEmail.user_id)
    )
    return inserted is not None
