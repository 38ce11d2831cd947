"""`WS /ws/notifications`: a signed-in user's notifications as they are created, and the live
events they may see (`notifications.live` publishes those on the same channel; they are not
stored, so not replayed).

The protocol (docs/api.md has the whole of it); sign-in, pings, session re-checks and the
slow-consumer cut-off are `identity.sockets`'s, shared with the course chat:

1. Authenticate with the access token (`?token=` or a first `auth` message); 4401 otherwise.
2. With `?since=<id>` (the `id` of the last message the client saw), the stored
   notifications numbered after it come first, then live ones (`realtime.Stream` numbers
   and orders them). The socket subscribes to the user's channel BEFORE it reads the stored
   ones, so nothing committed around the switch is lost, and nothing comes twice.
3. Pings every `WS_PING_INTERVAL_SECONDS`; a session signed out meanwhile closes with 4401.
4. A client too slow to take its messages is closed with 1013; it reconnects with `?since=`
   and gets the rest from the database.
"""

from __future__ import annotations

import uuid

from fastapi import WebSocket

from studyhall.core.pubsub import Hub
from studyhall.core.routing import DomainRouter
from studyhall.identity import sockets
from studyhall.identity.sockets import CLOSE_BAD_REQUEST, SocketClosed
from studyhall.notifications import realtime
from studyhall.notifications.models import Notification

router = DomainRouter(tags=["notifications"])


@router.websocket("/ws/notifications")
async def notifications_socket(
    websocket: WebSocket, token: str | None = None, since: str | None = None
) -> None:
    async def conversation() -> None:
        cursor = _cursor(since)
        user, used_token = await sockets.sign_in(websocket, token)
        hub: Hub = websocket.app.state.hub
        async with hub.subscribe(realtime.channel_of(user.id)) as subscription:
            stream = await _start(websocket, user.id, cursor)
            await sockets.first_to_end(
                sockets.relay(
                    websocket,
                    subscription,
                    used_token,
                    prepare=stream.prepare,
                    too_slow="too slow: reconnect with since",
                ),
                sockets.until_disconnect(websocket),
            )

    await sockets.serve(websocket, conversation)


def _cursor(since: str | None) -> int | None:
    """`since` as a message id: a whole number, 0 or more."""
    if since is None:
        return None
    if not since.isascii() or not since.isdigit() or len(since) > 18:
        raise SocketClosed(CLOSE_BAD_REQUEST, "since must be a message id")
    return int(since)


async def _start(websocket: WebSocket, user_id: uuid.UUID, cursor: int | None) -> realtime.Stream:
    """The socket's stream, after sending what the user missed since `cursor`. Without one
    (or past the user's last notification), it starts from their last notification."""
    database = websocket.app.state.database

    async def load(after: int, up_to: int | None) -> list[Notification]:
        async with database.read_only_scope() as session:
            return await realtime.numbered_after(session, user_id, after, up_to)

    async with database.read_only_scope() as session:
        latest = await realtime.latest_number(session, user_id)
    if cursor is None:
        return realtime.Stream(latest, load, resumed=False)
    stream = realtime.Stream(min(cursor, latest), load)
    for message in await stream.catch_up():
        await websocket.send_text(message)
    return stream
