"""`WS /ws/courses/{id}/chat`: a course's chat, live.

Sign-in, pings and the slow-consumer cut-off are `identity.sockets`'s (as for
`WS /ws/notifications`). Then:

1. The caller must be a member of the course (enrolled student or staff): otherwise the
   socket closes with 4404 (a course they may not see) or 4403 (`not_enrolled`). Membership
   is re-checked at every heartbeat, with the same codes.
2. Every message posted to the course, over REST or here, arrives as
   `{"type": "chat.message", "data": {...}}`; a deletion as `{"type": "chat.deleted",
   "data": {"id"}}`. They come through the hub's course channel once committed, from any
   process.
3. `{"type": "chat.send", "body": "..."}` sends a message through the same service as REST
   (validation, rate limit, membership); a refused one answers
   `{"type": "error", "code", "detail"}` and the socket stays open. The sender gets its own
   message back as `chat.message`, like everyone else.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import WebSocket

from studyhall.community import chat
from studyhall.config import Settings
from studyhall.core.errors import DomainError
from studyhall.core.pubsub import Hub
from studyhall.core.routing import DomainRouter
from studyhall.identity import sockets
from studyhall.identity.models import User
from studyhall.identity.sockets import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, SocketClosed

router = DomainRouter(tags=["community"])

SEND = "chat.send"


@router.websocket("/ws/courses/{course_id}/chat")
async def chat_socket(websocket: WebSocket, course_id: uuid.UUID, token: str | None = None) -> None:
    async def conversation() -> None:
        user, used_token = await sockets.sign_in(websocket, token)

        async def still_member(current: User) -> None:
            await _require_member(websocket, current, course_id)

        await still_member(user)
        hub: Hub = websocket.app.state.hub
        async with hub.subscribe(chat.channel_of(course_id)) as subscription:
            await sockets.first_to_end(
                sockets.relay(websocket, subscription, used_token, check=still_member),
                _receive_sends(websocket, user, course_id),
            )

    await sockets.serve(websocket, conversation)


async def _require_member(websocket: WebSocket, user: User, course_id: uuid.UUID) -> None:
    async with websocket.app.state.database.read_only_scope() as session:
        try:
            await chat.member_access(session, user, course_id)
        except DomainError as exc:
            code = CLOSE_NOT_FOUND if exc.status == 404 else CLOSE_FORBIDDEN
            raise SocketClosed(code, exc.code) from None


async def _receive_sends(websocket: WebSocket, user: User, course_id: uuid.UUID) -> None:
    """Takes the client's `chat.send` messages until it goes away; answers what it refuses."""
    while True:
        received = await websocket.receive()
        if received["type"] == "websocket.disconnect":
            return
        error = await _handle(websocket, user, course_id, received.get("text"))
        if error is not None:
            await websocket.send_json(error)


async def _handle(
    websocket: WebSocket, user: User, course_id: uuid.UUID, text: str | None
) -> dict[str, Any] | None:
    """Sends the message a `chat.send` carries; the error message to answer, if any."""
    try:
        message = json.loads(text) if text is not None else None
    except ValueError:
        message = None
    if not isinstance(message, dict) or message.get("type") != SEND:
        return _error("bad_message", 'Send {"type": "chat.send", "body": "..."}')
    settings: Settings = websocket.app.state.settings
    try:
        async with websocket.app.state.database.session_scope() as session:
            await chat.send_message(
                session,
                user,
                course_id,
                body if isinstance(body := message.get("body"), str) else "",
                limiter=websocket.app.state.rate_limiter,
                rate_limit=settings.rate_limit_chat,
            )
    except DomainError as exc:
        return _error(exc.code, exc.detail)
    return None


def _error(code: str, detail: str) -> dict[str, Any]:
    return {"type": "error", "code": code, "detail": detail}
