"""`WS /ws/notifications`: a signed-in user's notifications as they are created, and the live
community and enrollment events they may see (`notifications.live` publishes those on the
same channel; they are not replayed).

The protocol (docs/api.md has the whole of it):

1. Authenticate with the access token: `?token=<access token>`, or as the first message
   `{"type": "auth", "token": "..."}` within `WS_AUTH_TIMEOUT_SECONDS`. A missing, invalid or
   expired token, or a signed-out session, closes the socket with 4401.
2. With `?since=<notification id>`, the stored notifications after that one come first
   (`realtime.missed_since`), then live ones. The socket subscribes to the user's channel
   BEFORE it reads the stored ones, so nothing committed around the switch is lost; a live
   message already replayed is dropped, so nothing comes twice.
3. Every `WS_PING_INTERVAL_SECONDS` the server sends `{"type": "ping"}` and re-checks the
   token's session; a session signed out meanwhile closes the socket with 4401.
4. A client too slow to take its messages (`WS_BUFFER_MESSAGES` waiting) is closed with 1013;
   it reconnects with `?since=` and gets the rest from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Awaitable

from fastapi import WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState
from uvicorn.protocols.utils import ClientDisconnected

from studyhall.config import Settings
from studyhall.core.errors import Unauthenticated
from studyhall.core.pubsub import Hub, SubscriberTooSlow, Subscription
from studyhall.core.routing import DomainRouter
from studyhall.identity.deps import user_from_access_token
from studyhall.identity.models import User
from studyhall.notifications import realtime

router = DomainRouter(tags=["notifications"])

#: Application close codes (4000-4999 are the application's; 1013 is "try again later").
CLOSE_UNAUTHENTICATED = 4401
CLOSE_BAD_REQUEST = 4400
CLOSE_TOO_SLOW = 1013
PING = json.dumps({"type": "ping"})


class _Closed(Exception):
    """Ends the socket with a close code."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@router.websocket("/ws/notifications")
async def notifications_socket(
    websocket: WebSocket, token: str | None = None, since: str | None = None
) -> None:
    await websocket.accept()
    settings: Settings = websocket.app.state.settings
    try:
        cursor = _cursor(since)
        token = token or await _auth_message(websocket, settings.ws_auth_timeout_seconds)
        user = await _authenticate(websocket, token)
        hub: Hub = websocket.app.state.hub
        async with hub.subscribe(realtime.channel_of(user.id)) as subscription:
            replayed = await _replay(websocket, user, cursor)
            await _first_to_end(
                _forward(websocket, subscription, replayed),
                _heartbeat(websocket, token, settings.ws_ping_interval_seconds),
                _until_disconnect(websocket),
            )
    except _Closed as closed:
        await _close(websocket, closed.code, closed.reason)
    except (WebSocketDisconnect, ClientDisconnected):
        return


def _cursor(since: str | None) -> uuid.UUID | None:
    if since is None:
        return None
    try:
        return uuid.UUID(since)
    except ValueError:
        raise _Closed(CLOSE_BAD_REQUEST, "since must be a notification id") from None


async def _auth_message(websocket: WebSocket, seconds: float) -> str:
    """The token of the client's first message, `{"type": "auth", "token": "..."}`, sent
    within `seconds`."""
    try:
        async with asyncio.timeout(seconds):
            text = await websocket.receive_text()
        message = json.loads(text)
    except (TimeoutError, ValueError, KeyError):
        raise _Closed(CLOSE_UNAUTHENTICATED, "authenticate first") from None
    token = message.get("token") if isinstance(message, dict) and message.get("type") == "auth" else None
    if not isinstance(token, str) or not token:
        raise _Closed(CLOSE_UNAUTHENTICATED, "authenticate first")
    return token


async def _authenticate(websocket: WebSocket, token: str) -> User:
    """The token's user, checked as a bearer token is on every request (signature, expiry,
    live account, live session, token generation)."""
    async with websocket.app.state.database.read_only_scope() as session:
        try:
            user: User = await user_from_access_token(session, websocket.app.state.tokens, token)
        except Unauthenticated as exc:
            raise _Closed(CLOSE_UNAUTHENTICATED, exc.code) from None
    return user


async def _replay(websocket: WebSocket, user: User, cursor: uuid.UUID | None) -> set[str]:
    """Sends what the user missed after `cursor`; the ids sent."""
    if cursor is None:
        return set()
    async with websocket.app.state.database.read_only_scope() as session:
        missed = await realtime.missed_since(session, user.id, cursor)
    for notification in missed:
        await websocket.send_json(realtime.socket_message(notification))
    return {str(notification.id) for notification in missed}


async def _forward(websocket: WebSocket, subscription: Subscription, replayed: set[str]) -> None:
    try:
        async for message in subscription:
            if replayed and json.loads(message)["id"] in replayed:
                continue
            await websocket.send_text(message)
    except SubscriberTooSlow:
        raise _Closed(CLOSE_TOO_SLOW, "too slow: reconnect with since") from None


async def _heartbeat(websocket: WebSocket, token: str, interval: float) -> None:
    """Pings, and ends the socket once its session is no longer valid."""
    while True:
        await asyncio.sleep(interval)
        await _authenticate(websocket, token)
        await websocket.send_text(PING)


async def _until_disconnect(websocket: WebSocket) -> None:
    """Reads (and ignores) what the client sends, until it goes away."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


async def _first_to_end(*jobs: Awaitable[None]) -> None:
    """Runs the jobs until one ends; re-raises what ended it, and cancels the others."""
    tasks = [asyncio.ensure_future(job) for job in jobs]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        task.result()


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    if websocket.client_state == WebSocketState.CONNECTED:
        with contextlib.suppress(Exception):
            await websocket.close(code=code, reason=reason)
