"""Notifications in real time: the channel of each user on the hub (`core.pubsub`), the
message a socket receives for a notification, and what one socket has sent (`Stream`), which
numbers every message so a reconnecting client resumes from the last one it saw.

A user's notifications are numbered 1, 2, 3, ... (`Notification.seq`) in the order their
transactions commit, without holes (`service.add_notification`). A socket's message `id` is:

- for `notification.created`, that number;
- for a live event (`notifications.live`: posts, comments, grades, ...), which is not stored,
  the number of the last notification the socket sent before it (or, before any, the one it
  started from).

So whatever message a client saw last, `?since=<its id>` replays exactly the notifications
it has not had. A notification is published on its user's channel only once the
transaction that created it commits; the stream sends notifications in number order,
fetching from the database one that a faster publisher overtook on the way.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.core.pubsub import publish_after_commit
from studyhall.notifications.models import Notification, NotificationCounter

#: The `type` of the socket message that carries an in-app notification.
NOTIFICATION_CREATED = "notification.created"
#: At most this many stored notifications are sent at once (a replay, a catch-up): the
#: newest ones; a client that sees ids jump reloads the rest over HTTP.
REPLAY_LIMIT = 500

#: Loads a user's notifications numbered after `after` (up to `up_to`), oldest first.
Loader = Callable[[int, int | None], Awaitable[list[Notification]]]


def channel_of(user_id: uuid.UUID) -> str:
    return f"notifications:{user_id}"


def socket_message(notification: Notification) -> dict[str, Any]:
    """`{"id": <seq>, "type", "created_at", "data"}`; `data` is the notification as
    `GET /notifications` shows it."""
    created_at = notification.created_at.isoformat()
    return {
        "id": notification.seq,
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


async def latest_number(session: AsyncSession, user_id: uuid.UUID) -> int:
    """The number of the user's last committed notification (0 before the first)."""
    last = await session.scalar(
        select(NotificationCounter.last).where(NotificationCounter.user_id == user_id)
    )
    return int(last or 0)


async def numbered_after(
    session: AsyncSession, user_id: uuid.UUID, after: int, up_to: int | None = None
) -> list[Notification]:
    """The user's notifications numbered after `after` (and at most `up_to`), oldest first;
    the newest `REPLAY_LIMIT` of them when there are more."""
    statement = select(Notification).where(Notification.user_id == user_id, Notification.seq > after)
    if up_to is not None:
        statement = statement.where(Notification.seq <= up_to)
    newest = await session.scalars(statement.order_by(Notification.seq.desc()).limit(REPLAY_LIMIT))
    return list(reversed(newest.all()))


class Stream:
    """What one socket sends, in order: each notification once, in number order, and live
    events stamped with the number of the last notification sent."""

    def __init__(self, last: int, load: Loader, *, resumed: bool = True) -> None:
        #: The number of the last notification sent (or the one the socket started from).
        self.last = last
        self._load = load
        #: False for a socket opened without `since`: its first notification is sent
        #: whatever its number (one committed while it signed in may be published after it
        #: read `last`), and the stream goes on from there.
        self._anchored = resumed

    async def catch_up(self, up_to: int | None = None) -> list[str]:
        """The stored notifications after `last` (up to `up_to`), as messages to send."""
        missed = await self._load(self.last, up_to)
        if missed:
            self.last = missed[-1].seq
        return [json.dumps(socket_message(notification)) for notification in missed]

    async def prepare(self, text: str) -> list[str]:
        """The messages to send for one message of the user's channel: none for a
        notification already sent; the ones before it first when it overtook them."""
        message: dict[str, Any] = json.loads(text)
        number = message.get("id")
        if number is None:  # a live event
            message["id"] = self.last
            return [json.dumps(message)]
        if not self._anchored:
            self._anchored = True
            self.last = number
            return [text]
        if number <= self.last:
            return []
        if number > self.last + 1:
            # Committed before this one (numbers follow commits), still on their way.
            return await self.catch_up(up_to=number)
        self.last = number
        return [text]
