"""The fan-out hub: `publish(channel, message)`, `fan_out(channels, message)` and
`subscribe(channel)`, behind one interface.

- `LocalHub` (embedded mode): subscribers of this process only.
- `RedisHub` (`REDIS_URL` set): Redis pub/sub, so a message published by any process (an API
  process, a worker handling events) reaches subscribers in every process. Each process holds
  ONE pub/sub connection, subscribed to the channels its local subscribers want, and fans
  each message out locally; sockets never open connections of their own. `fan_out` (one
  message for many channels, e.g. an announcement to a course's members) is ONE `PUBLISH` on
  `FANOUT_CHANNEL`, which every process listening reads and delivers to its own subscribers
  of those channels.

When Redis cannot be reached, `subscribe` raises `HubUnavailable` (the caller closes its
socket, "try again later"); publishing logs and drops (the stored notifications are
replayed on reconnect).

Each subscriber has a bounded buffer (`buffer_size` messages). A subscriber that falls so far
behind that its buffer is full is dropped: its iterator raises `SubscriberTooSlow`, so a slow
consumer never holds more than its buffer.

Messages published inside a database transaction must wait for its commit:
`publish_after_commit(session, channel, message)` queues them in the session, and they go out
only when the outermost transaction commits (a rollback discards them).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol

import structlog
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

logger = structlog.get_logger(__name__)

#: `Session.info` key of the application's hub (see `Database.provide`).
HUB_INFO_KEY = "studyhall.pubsub"
#: `Session.info` key of the messages a transaction publishes once it commits.
_PENDING_INFO_KEY = "studyhall.pubsub.pending"
#: Messages a subscriber may have waiting before it is dropped as too slow.
DEFAULT_BUFFER_SIZE = 256
#: How long the Redis reader waits for a message before looking again (seconds).
_READ_TIMEOUT_SECONDS = 1.0
#: How long connecting to Redis may take before it counts as down (seconds).
_CONNECT_TIMEOUT_SECONDS = 5.0
#: Pause after a Redis error before the reader tries again (seconds).
_RETRY_SECONDS = 1.0


#: The Redis channel of `fan_out` messages: `{"channels": [...], "message": "..."}`.
FANOUT_CHANNEL = "studyhall:fanout"


class SubscriberTooSlow(Exception):
    """The subscriber's buffer filled up; it was dropped and gets nothing more."""


class HubUnavailable(Exception):
    """The hub's server (Redis) cannot be reached: no subscription now."""


class Subscription:
    """One subscriber's bounded buffer; iterate it for the channel's messages."""

    def __init__(self, channel: str, buffer_size: int) -> None:
        self.channel = channel
        self._queue: asyncio.Queue[str] = asyncio.Queue(maxsize=buffer_size)
        self.too_slow = False

    def offer(self, message: str) -> None:
        if self.too_slow:
            return
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            self.too_slow = True
            # Its content is dropped anyway: one slot for a marker, so the reader's next
            # `get` returns at once and raises.
            self._queue.get_nowait()
            self._queue.put_nowait("")

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> str:
        message = await self._queue.get()
        if self.too_slow:
            raise SubscriberTooSlow(self.channel)
        return message


class Hub(Protocol):
    async def publish(self, channel: str, message: str) -> None: ...

    async def fan_out(self, channels: Sequence[str], message: str) -> None: ...

    def subscribe(self, channel: str) -> contextlib.AbstractAsyncContextManager[Subscription]: ...

    async def aclose(self) -> None: ...


class _LocalFanout:
    """This process's subscribers per channel."""

    def __init__(self, buffer_size: int) -> None:
        self.buffer_size = buffer_size
        self.subscribers: dict[str, set[Subscription]] = defaultdict(set)

    def deliver(self, channel: str, message: str) -> None:
        for subscription in list(self.subscribers.get(channel, ())):
            subscription.offer(message)

    def deliver_to_all(self, channels: Sequence[str], message: str) -> None:
        for channel in channels:
            self.deliver(channel, message)

    def add(self, channel: str) -> tuple[Subscription, bool]:
        """A new subscription, and whether it is the channel's first here."""
        subscription = Subscription(channel, self.buffer_size)
        first = not self.subscribers[channel]
        self.subscribers[channel].add(subscription)
        return subscription, first

    def remove(self, subscription: Subscription) -> bool:
        """Drops it; True when the channel has no subscriber left here."""
        remaining = self.subscribers.get(subscription.channel)
        if remaining is None:
            return True
        remaining.discard(subscription)
        if not remaining:
            del self.subscribers[subscription.channel]
            return True
        return False


class LocalHub:
    """In-process fan-out: reaches the subscribers of this process only."""

    def __init__(self, buffer_size: int = DEFAULT_BUFFER_SIZE) -> None:
        self._fanout = _LocalFanout(buffer_size)

    async def publish(self, channel: str, message: str) -> None:
        self._fanout.deliver(channel, message)

    async def fan_out(self, channels: Sequence[str], message: str) -> None:
        self._fanout.deliver_to_all(channels, message)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        subscription, _ = self._fanout.add(channel)
        try:
            yield subscription
        finally:
            self._fanout.remove(subscription)

    async def aclose(self) -> None:
        self._fanout.subscribers.clear()


class RedisHub:
    """Redis pub/sub: one connection per process listens to the channels this process's
    subscribers want; publishing is one `PUBLISH`."""

    def __init__(self, url: str, buffer_size: int = DEFAULT_BUFFER_SIZE) -> None:
        self._redis: Redis = Redis.from_url(
            url, health_check_interval=30, socket_connect_timeout=_CONNECT_TIMEOUT_SECONDS
        )
        self._pubsub: PubSub = self._redis.pubsub(ignore_subscribe_messages=True)
        self._fanout = _LocalFanout(buffer_size)
        self._lock = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None
        #: Whether the pub/sub connection is subscribed to `FANOUT_CHANNEL` (it stays so).
        self._fanout_heard = False

    async def publish(self, channel: str, message: str) -> None:
        await self._redis.publish(channel, message)

    async def fan_out(self, channels: Sequence[str], message: str) -> None:
        await self._redis.publish(
            FANOUT_CHANNEL, json.dumps({"channels": list(channels), "message": message})
        )

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        async with self._lock:
            subscription, first = self._fanout.add(channel)
            try:
                if first:
                    # Subscribed before the caller reads anything it must not miss (a replay).
                    await self._listen(channel)
            except (RedisError, OSError) as exc:
                self._fanout.remove(subscription)
                raise HubUnavailable(str(exc)) from exc
            if self._reader is None:
                self._reader = asyncio.create_task(self._read(), name="pubsub-reader")
        try:
            yield subscription
        finally:
            async with self._lock:
                if self._fanout.remove(subscription):
                    with contextlib.suppress(Exception):
                        await self._pubsub.unsubscribe(channel)

    async def _listen(self, channel: str) -> None:
        """SUBSCRIBE to the channel, and to the fan-out channel with the first one."""
        if self._fanout_heard:
            await self._pubsub.subscribe(channel)
        else:
            await self._pubsub.subscribe(FANOUT_CHANNEL, channel)
            self._fanout_heard = True

    async def _read(self) -> None:
        while True:
            try:
                found: dict[str, Any] | None = await self._pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=_READ_TIMEOUT_SECONDS
                )
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("pubsub_read_failed", exc_info=True)
                await asyncio.sleep(_RETRY_SECONDS)
                continue
            if found is None or found.get("type") != "message":
                if not self._pubsub.subscribed:
                    await asyncio.sleep(_READ_TIMEOUT_SECONDS / 10)
                continue
            self._deliver(_text(found["channel"]), _text(found["data"]))

    def _deliver(self, channel: str, data: str) -> None:
        if channel != FANOUT_CHANNEL:
            self._fanout.deliver(channel, data)
            return
        try:
            envelope = json.loads(data)
            self._fanout.deliver_to_all(envelope["channels"], envelope["message"])
        except (ValueError, KeyError, TypeError):
            logger.warning("pubsub_fanout_malformed")

    async def aclose(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        await self._redis.aclose()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def hub_from_settings(redis_url: str | None, buffer_size: int = DEFAULT_BUFFER_SIZE) -> Hub:
    return RedisHub(redis_url, buffer_size) if redis_url else LocalHub(buffer_size)


# -- publishing once a transaction commits -----------------------------------------------


#: Publishes scheduled from commit hooks, kept referenced until they finish.
_in_flight: set[asyncio.Task[None]] = set()


def publish_after_commit(session: AsyncSession, channel: str, message: str) -> None:
    """Queues `message` for `channel`, published only if the session's transaction commits.
    Nothing happens when the session's database has no hub."""
    fan_out_after_commit(session, [channel], message)


def fan_out_after_commit(session: AsyncSession, channels: Sequence[str], message: str) -> None:
    """Queues one `message` for all of `channels` (one publish, however many), published only
    if the session's transaction commits."""
    pending: list[tuple[Sequence[str], str]] = session.info.setdefault(_PENDING_INFO_KEY, [])
    pending.append((channels, message))


@event.listens_for(Session, "after_commit")
def _publish_pending(session: Session) -> None:
    pending: list[tuple[Sequence[str], str]] = session.info.pop(_PENDING_INFO_KEY, [])
    hub: Hub | None = session.info.get(HUB_INFO_KEY)
    if not pending or hub is None:
        return
    task = asyncio.get_running_loop().create_task(_publish_all(hub, pending))
    _in_flight.add(task)
    task.add_done_callback(_in_flight.discard)


@event.listens_for(Session, "after_rollback")
def _discard_pending(session: Session) -> None:
    session.info.pop(_PENDING_INFO_KEY, None)


async def _publish_all(hub: Hub, messages: list[tuple[Sequence[str], str]]) -> None:
    for channels, message in messages:
        try:
            if len(channels) == 1:
                await hub.publish(channels[0], message)
            else:
                await hub.fan_out(channels, message)
        except Exception:
            # The notification is stored; a client that reconnects with `since` gets it.
            logger.warning("pubsub_publish_failed", channels=len(channels), exc_info=True)


async def wait_for_publishes() -> None:
    """Waits until publishes scheduled by commits so far are done (shutdown, tests)."""
    if _in_flight:
        await asyncio.gather(*list(_in_flight), return_exceptions=True)
