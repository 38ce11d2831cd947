"""Notifications in real time: the channel of each user on the hub (`core.pubsub`), the
message a socket receives for a notification, and the replay of what a reconnecting client
missed.

The cursor is a notification id. Ids are random UUIDs, so "newer than" means later in the
order `(created_at, id)`, the order the list endpoint uses (newest first) and an index
serves. A notification is published on its user's channel only once the transaction that
created it commits.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.core.pubsub import publish_after_commit
from studyhall.notifications.models import Notification

#: The `type` of the socket message that carries an in-app notification.
NOTIFICATION_CREATED = "notification.created"
#: At most this many stored notifications are replayed on connect, oldest first.
REPLAY_LIMIT = 500


def channel_of(user_id: uuid.UUID) -> str:
    return f"notifications:{user_id}"


def socket_message(notification: Notification) -> dict[str, Any]:
    """`{"id", "type", "created_at", "data"}`; `data` is the notification as
    `GET /notifications` shows it."""
    created_at = notification.created_at.isoformat()
    return {
        "id": str(notification.id),
        "type": NOTIFICATION_CREATED,
        "created_at": created_at,
        "data": {
            "id": str(notification.id),
            "type": notification.type,
            "title": notification.title,
            "body": notification.body,
            "data": notification.data,
            "created_at": created_at,
            "read_at": notification.read_at.isoformat() if notification.read_at else None,
        },
    }


def publish_on_commit(session: AsyncSession, notification: Notification) -> None:
    """Pushes the notification to its user's sockets once the session commits."""
    publish_after_commit(session, channel_of(notification.user_id), json.dumps(socket_message(notification)))


async def missed_since(session: AsyncSession, user_id: uuid.UUID, since: uuid.UUID) -> list[Notification]:
    """The user's notifications after `since` (one of theirs), oldest first; none when
    `since` is not one of theirs."""
    cursor = await session.get(Notification, since)
    if cursor is None or cursor.user_id != user_id:
        return []
    later = or_(
        Notification.created_at > cursor.created_at,
        and_(Notification.created_at == cursor.created_at, Notification.id > cursor.id),
    )
    statement: Select[Notification] = (
        select(Notification)
        .where(Notification.user_id == user_id, later)
        .order_by(Notification.created_at, Notification.id)
        .limit(REPLAY_LIMIT)
    )
    return list((await session.scalars(statement)).all())
