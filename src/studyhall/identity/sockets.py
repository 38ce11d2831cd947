"""What every signed-in WebSocket shares: sign-in with the access token, the close codes, and
`relay`, which forwards a hub subscription with its slow-consumer cut-off and, in the same
task, pings and re-checks the session. `WS /ws/notifications` and `WS /ws/courses/{id}/chat`
are built on it.

- Sign-in: `?token=<access token>`, or the first message `{"type": "auth", "token": "..."}`
  within `WS_AUTH_TIMEOUT_SECONDS`. A missing, invalid or expired token, or a signed-out
  session, closes the socket with 4401.
- Every `WS_PING_INTERVAL_SECONDS` the server sends `{"type": "ping"}` after re-checking the
  token's session (and whatever else the socket must still hold, e.g. course membership).
- A client too slow to take its messages (`WS_BUFFER_MESSAGES` waiting) is closed with 1013.
- When the hub cannot subscribe the socket (Redis down or unreachable), or no database
  connection is free in time, it is closed with 1013 too ("try again later": the client
  reconnects with backoff) and a warning is logged; the client never sees a server error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable

import structlog
from fastapi import WebSocket, WebSocketDisconnect
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.websockets import WebSocketState
from uvicorn.protocols.utils import ClientDisconnected

from studyhall.core.errors import Unauthenticated
from studyhall.core.pubsub import HubUnavailable, SubscriberTooSlow, Subscription
from studyhall.identity.deps import user_from_access_token
from studyhall.identity.models import User

logger = structlog.get_logger(__name__)

#: Application close codes (4000-4999 are the application's; 1013 is "try again later").
CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_TOO_SLOW = 1013
CLOSE_UNAVAILABLE = 1013
PING = json.dumps({"type": "ping"})

#: Re-checks, at each heartbeat, what the socket needs beyond a live session.
UserCheck = Callable[[User], Awaitable[None]]
#: Turns one hub message into the messages a socket sends for it (none, one or several).
Prepare = Callable[[str], Awaitable[list[str]]]


class SocketClosed(Exception):
    """Ends the socket with a close code."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


async def serve(websocket: WebSocket, conversation: Callable[[], Awaitable[None]]) -> None:
    """Accepts the socket and runs `conversation`; `SocketClosed` closes it with its code, a
    client that went away ends it quietly."""
    await websocket.accept()
    try:
        await conversation()
    except SocketClosed as closed:
        await _close(websocket, closed.code, closed.reason)
    except HubUnavailable:
        logger.warning("socket_hub_unavailable", path=websocket.url.path, exc_info=True)
        await _close(websocket, CLOSE_UNAVAILABLE, "live updates unavailable: try again later")
    except PoolTimeout:
        # Every database connection busy (a crowd signing in at once): not the client's fault.
        logger.warning("socket_database_busy", path=websocket.url.path)
        await _close(websocket, CLOSE_UNAVAILABLE, "busy: try again later")
    except (WebSocketDisconnect, ClientDisconnected):
        return


async def sign_in(websocket: WebSocket, token: str | None) -> tuple[User, str]:
    """The signed-in user and their token: the query's, else the first message's."""
    seconds: float = websocket.app.state.settings.ws_auth_timeout_seconds
    token = token or await _auth_message(websocket, seconds)
    return await authenticate(websocket, token), token


async def _auth_message(websocket: WebSocket, seconds: float) -> str:
    """The token of the client's first message, `{"type": "auth", "token": "..."}`, sent
    within `seconds`."""
    try:
        async with asyncio.timeout(seconds):
            text = await websocket.receive_text()
        message = json.loads(text)
    except (TimeoutError, ValueError, KeyError):
        raise SocketClosed(CLOSE_UNAUTHENTICATED, "authenticate first") from None
    token = message.get("token") if isinstance(message, dict) and message.get("type") == "auth" else None
    if not isinstance(token, str) or not token:
        raise SocketClosed(CLOSE_UNAUTHENTICATED, "authenticate first")
    return token


async def authenticate(websocket: WebSocket, token: str) -> User:
    """The token's user, checked as a bearer token is on every request (signature, expiry,
    live account, live session, token generation)."""
    async with websocket.app.state.database.read_only_scope() as session:
        try:
            user: User = await user_from_access_token(session, websocket.app.state.tokens, token)
        except Unauthenticated as exc:
            raise SocketClosed(CLOSE_UNAUTHENTICATED, exc.code) from None
    return user


async def relay(
    websocket: WebSocket,
    subscription: Subscription,
    token: str,
    *,
    prepare: Prepare | None = None,
    check: UserCheck | None = None,
    too_slow: str = "too slow",
) -> None:
    """Sends the subscription's messages (each as `prepare` turns it into the messages to
    send, when given) and, every `WS_PING_INTERVAL_SECONDS`, pings once the token's session
    (and `check`) still holds. One task does both: an open socket costs as few tasks as
    possible. A full buffer closes the socket with 1013 and `too_slow` as the reason."""
    interval: float = websocket.app.state.settings.ws_ping_interval_seconds
    loop = asyncio.get_running_loop()
    next_ping = loop.time() + interval
    try:
        while True:
            try:
                async with asyncio.timeout_at(next_ping):
                    message = await anext(subscription)
            except TimeoutError:
                await _ping(websocket, token, check)
                next_ping = loop.time() + interval
                continue
            for text in await prepare(message) if prepare is not None else (message,):
                await websocket.send_text(text)
    except SubscriberTooSlow:
        raise SocketClosed(CLOSE_TOO_SLOW, too_slow) from None


async def _ping(websocket: WebSocket, token: str, check: UserCheck | None) -> None:
    """Pings, or ends the socket when its session (or `check`) no longer holds."""
    user = await authenticate(websocket, token)
    if check is not None:
        await check(user)
    await websocket.send_text(PING)


async def until_disconnect(websocket: WebSocket) -> None:
    """Reads (and ignores) what the client sends, until it goes away."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


async def first_to_end(*jobs: Awaitable[None]) -> None:
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
