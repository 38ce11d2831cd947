"""Course chat: its members (enrolled students and staff, as for course posts) read the
history and write messages; the author and the course's staff delete one (a soft delete).

Every change is pushed to the course's channel on the hub (`core.pubsub`) once its
transaction commits, so each socket on `WS /ws/courses/{id}/chat`, in whichever process,
gets it; a rolled-back message is never pushed. REST and the socket both write through
`send_message`: one validation, one rate limit, one membership check.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.catalog.access import CourseAccess, CourseRole, course_access, locked
from studyhall.community.errors import CannotDeleteChatMessage, ChatMessageInvalid, ChatMessageNotFound
from studyhall.community.models import ChatMessage
from studyhall.core.clock import utcnow
from studyhall.core.pubsub import publish_after_commit
from studyhall.core.ratelimit import RateLimiter
from studyhall.identity.models import User

CHAT_BODY_MAX = 2000
#: Socket message types.
CHAT_MESSAGE = "chat.message"
CHAT_DELETED = "chat.deleted"
#: The rate limiter's scope of chat messages (one budget per user, REST and socket alike).
RATE_LIMIT_SCOPE = "chat-user"
#: Datetimes written as the REST responses write them, so both show a message alike.
_DATETIME_JSON = TypeAdapter(datetime)


def channel_of(course_id: uuid.UUID) -> str:
    return f"chat:{course_id}"


async def member_access(session: AsyncSession, user: User, course_id: uuid.UUID) -> CourseAccess:
    """The caller's access to a course whose chat they may use: `course_not_found` when they
    may not see the course, `not_enrolled` when they see it but are not a member."""
    access = await course_access(session, user, course_id)
    access.require_member("Only the course's students and staff use its chat")
    return access


async def list_messages(
    session: AsyncSession, user: User, course_id: uuid.UUID, *, before: uuid.UUID | None, limit: int
) -> tuple[list[ChatMessage], uuid.UUID | None]:
    """Live messages, newest first, older than `before` (a message of this course; unknown
    ids list from the newest); and the cursor of the next page, None on the last."""
    await member_access(session, user, course_id)
    statement = select(ChatMessage).where(
        ChatMessage.course_id == course_id, ChatMessage.deleted_at.is_(None)
    )
    cursor = await session.get(ChatMessage, before) if before is not None else None
    if cursor is not None and cursor.course_id == course_id:
        statement = statement.where(
            or_(
                ChatMessage.created_at < cursor.created_at,
                and_(ChatMessage.created_at == cursor.created_at, ChatMessage.id < cursor.id),
            )
        )
    statement = statement.order_by(ChatMessage.created_at.desc(), ChatMessage.id.desc()).limit(limit + 1)
    found = list((await session.scalars(statement)).all())
    page = found[:limit]
    return page, page[-1].id if len(found) > limit else None


async def send_message(
    session: AsyncSession,
    user: User,
    course_id: uuid.UUID,
    body: str,
    *,
    limiter: RateLimiter,
    rate_limit: str,
) -> ChatMessage:
    """A new message by a member; pushed to the course's sockets once committed."""
    text = body.strip()
    if not 1 <= len(text) <= CHAT_BODY_MAX:
        raise ChatMessageInvalid(f"A message is 1 to {CHAT_BODY_MAX} characters")
    await member_access(session, user, course_id)
    await limiter.hit(RATE_LIMIT_SCOPE, rate_limit, str(user.id))
    message = ChatMessage(course_id=course_id, author_id=user.id, body=text, created_at=utcnow())
    session.add(message)
    await session.flush()
    _publish(session, course_id, {"type": CHAT_MESSAGE, "data": message_data(message)})
    return message


async def delete_message(session: AsyncSession, user: User, message_id: uuid.UUID) -> None:
    """The author or the course's staff; the row is locked, so of two concurrent deletes the
    second finds nothing (`chat_message_not_found`)."""
    statement = select(ChatMessage).where(ChatMessage.id == message_id, ChatMessage.deleted_at.is_(None))
    message = await session.scalar(locked(statement))
    if message is None:
        raise ChatMessageNotFound()
    access = await course_access(session, user, message.course_id, not_found=ChatMessageNotFound())
    if access.role is CourseRole.VIEWER:  # a non-member does not learn the message exists
        raise ChatMessageNotFound()
    if message.author_id != user.id and not access.is_staff:
        raise CannotDeleteChatMessage()
    message.deleted_at = utcnow()
    await session.flush()
    _publish(session, message.course_id, {"type": CHAT_DELETED, "data": {"id": str(message.id)}})


def message_data(message: ChatMessage) -> dict[str, Any]:
    """A message as the socket shows it: the same JSON as the REST routes'."""
    return {
        "id": str(message.id),
        "course_id": str(message.course_id),
        "author_id": str(message.author_id),
        "body": message.body,
        "created_at": _DATETIME_JSON.dump_python(message.created_at, mode="json"),
    }


def _publish(session: AsyncSession, course_id: uuid.UUID, message: dict[str, Any]) -> None:
    publish_after_commit(session, channel_of(course_id), json.dumps(message))
