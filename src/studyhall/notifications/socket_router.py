"""`WS /ws/notifications`: a signed-in user's notifications as they are created, and the live
community and enrollment events they may see (`notifications.live` publishes those on the
same channel; they are not replayed).

The protocol (docs/api.md has the whole of it); sign-in, pings, session re-checks and the
slow-consumer cut-off are `identity.sockets`'s, shared with the course chat:

1. Authenticate with the access token (`?token=` or a first `auth` message); 4401 otherwise.
2. With `?since=<notification id>`, the stored notifications after that one come first
   (`realtime.missed_since`), then live ones. The socket subscribes to the user's channel
   BEFORE it reads the stored ones, so nothing committed around the switch is lost; a live
   message already replayed is dropped, so nothing comes twice.
3. Pings every `WS_PING_INTERVAL_SECONDS`; a session signed out meanwhile closes with 4401.
4. A client too slow to take its messages is closed with 1013; it reconnects with `?since=`
   and gets the rest from the database.
"""

from __future__ import annotations

import json
import uuid

from fastapi import WebSocket

from studyhall.core.pubsub import Hub
from studyhall.core.routing import DomainRouter
from studyhall.identity import sockets
from studyhall.identity.models import User
from studyhall.identity.sockets import CLOSE_BAD_REQUEST, SocketClosed
from studyhall.notifications import realtime

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
            replayed = await _replay(websocket, user, cursor)
            await sockets.first_to_end(
                sockets.forward(
                    websocket,
                    subscription,
                    skip=(lambda message: json.loads(message)["id"] in replayed) if replayed else None,
                    too_slow="too slow: reconnect with since",
                ),
                sockets.heartbeat(websocket, used_token),
                sockets.until_disconnect(websocket),
            )

    await sockets.serve(websocket, conversation)


def _cursor(since: str | None) -> uuid.UUID | None:
    if since is None:
        return None
    try:
        return uuid.UUID(since)
    except ValueError:
        raise SocketClosed(CLOSE_BAD_REQUEST, "since must be a notification id") from None


async def _replay(websocket: WebSocket, user: User, cursor: uuid.UUID | None) -> set[str]:
    """Sends what the user missed after `cursor`; the ids sent."""
    if cursor is None:
        return set()
    async with websocket.app.state.database.read_only_scope() as session:
        missed = await realtime.missed_since(session, user.id, cursor)
    for notification in missed:
        await websocket.send_json(realtime.socket_message(notification))
    return {str(notification.id) for notification in missed}
