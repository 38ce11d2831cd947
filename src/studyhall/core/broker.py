"""Broker mode (`BROKER_URL`): the outbox relay and the event worker, over RabbitMQ.

Topology, all durable, names prefixed with `BROKER_NAMESPACE` (`studyhall`):

- exchange `studyhall.events` (topic): the relay publishes each event there, persistent,
  routing key = event type, and waits for the broker's confirm before marking the outbox
  row `relayed`;
- queue `studyhall.events.work`, bound with `#`: `studyhall worker` consumes it;
- queues `studyhall.events.retry.<ms>ms`: one per back-off delay; a message waits there for
  the queue's TTL, then is dead-lettered back to the work queue. A retry message names the
  handlers it is for, so the handlers that succeeded do not run again, and the work queue
  is never blocked by a waiting retry;
- queue `studyhall.events.dead`: a copy of each dead (event, handler), for inspection; the
  database (`event_failures`) is the record `studyhall events dead/retry` work on;
- queue `studyhall.activity`: validated activity batches from `POST /events`
  (analytics/transport.py), stored by `studyhall worker`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import aio_pika
import aiormq
import structlog
from aio_pika.abc import (
    AbstractChannel,
    AbstractConnection,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
)
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from studyhall.core.clock import utcnow
from studyhall.core.delivery import Delivery, HandlerResult, HandlerRunner, Outcome, forget_dead
from studyhall.core.events import (
    Event,
    OutboxEvent,
    OutboxLoop,
    OutboxStatus,
    claim_due_events,
    release_claim,
)

if TYPE_CHECKING:
    pass

logger = structlog.get_logger(__name__)

#: Comma-separated names of the handlers a message is for (retries, requeued dead events);
#: absent: every handler of the event type.
HANDLERS_HEADER = "x-studyhall-handlers"
ATTEMPT_HEADER = "x-studyhall-attempt"
#: Seconds to wait for the broker's confirm of one publish.
PUBLISH_TIMEOUT = 10.0
#: Seconds before a message whose handling failed outright (the database is down) is
#: returned to the queue, so a broken dependency does not spin the worker.
REQUEUE_PAUSE = 1.0
#: Seconds the worker waits for more messages before it handles a batch that is not full.
BATCH_WAIT = 0.005


class BrokerUnavailable(RuntimeError):
    """The broker did not confirm a publish."""


@dataclass(frozen=True)
class Topology:
    namespace: str

    @property
    def exchange(self) -> str:
        return f"{self.namespace}.events"

    @property
    def work_queue(self) -> str:
        return f"{self.namespace}.events.work"

    @property
    def dead_queue(self) -> str:
        return f"{self.namespace}.events.dead"

    def delay_queue(self, delay_ms: int) -> str:
        return f"{self.namespace}.events.retry.{delay_ms}ms"

    @property
    def activity_queue(self) -> str:
        """Validated activity batches (analytics ingestion), stored by `studyhall worker`."""
        return f"{self.namespace}.activity"


# -- messages -----------------------------------------------------------------------------


def event_message(
    event: Event, *, attempt: int = 1, handlers: Iterable[str] | None = None
) -> aio_pika.Message:
    body = {
        "id": str(event.id),
        "type": event.type,
        "payload": event.payload,
        "created_at": event.created_at.isoformat(),
    }
    headers: dict[str, Any] = {ATTEMPT_HEADER: attempt}
    if handlers is not None:
        headers[HANDLERS_HEADER] = ",".join(handlers)
    return aio_pika.Message(
        json.dumps(body, separators=(",", ":")).encode(),
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=str(event.id),
        type=event.type,
        headers=headers,
    )


def decode_message(message: AbstractIncomingMessage) -> tuple[Event, list[str] | None]:
    """The event and the handlers it is for (None: all); ValueError when malformed."""
    try:
        body = json.loads(message.body)
        headers = message.headers or {}
        attempt = int(str(headers.get(ATTEMPT_HEADER, 1)))
        event = Event(
            id=uuid.UUID(body["id"]),
            type=str(body["type"]),
            payload=dict(body["payload"]),
            created_at=datetime.fromisoformat(body["created_at"]),
            attempt=attempt,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not an event message: {exc}") from exc
    names = headers.get(HANDLERS_HEADER)
    return event, (str(names).split(",") if names else None)


# -- the connection -----------------------------------------------------------------------


class Broker:
    """A connection opened at first use and opened again after it was lost (the relay and
    the worker call `connection()` for each new round), and the topology on it."""

    def __init__(self, url: str, namespace: str = "studyhall") -> None:
        self.url = url
        self.topology = Topology(namespace)
        self._connection: AbstractConnection | None = None
        self._admin: AbstractChannel | None = None
        #: Set when the current connection closes (aio-pika's `is_closed` stays false when
        #: the broker is the one that closed it).
        self.lost = asyncio.Event()
        self._lock = asyncio.Lock()

    @property
    def is_connected(self) -> bool:
        return self._connection is not None and not self.lost.is_set()

    async def connection(self) -> AbstractConnection:
        async with self._lock:
            if not self.is_connected:
                await self.close()
                lost = self.lost = asyncio.Event()
                connection = await aio_pika.connect(self.url, timeout=PUBLISH_TIMEOUT)
                connection.close_callbacks.add(lambda *_: lost.set())
                self._connection = connection
            assert self._connection is not None
            return self._connection

    async def channel(self, *, prefetch: int | None = None) -> AbstractChannel:
        """A channel with publisher confirms, on which the topology is declared."""
        connection = await self.connection()
        async with asyncio.timeout(PUBLISH_TIMEOUT):
            channel = await connection.channel(publisher_confirms=True)
            if prefetch is not None:
                await channel.set_qos(prefetch_count=prefetch)
            await self._declare(channel)
        return channel

    async def _declare(self, channel: AbstractChannel) -> tuple[AbstractExchange, AbstractQueue]:
        names = self.topology
        exchange = await channel.declare_exchange(names.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        work = await channel.declare_queue(names.work_queue, durable=True)
        await work.bind(exchange, routing_key="#")
        await channel.declare_queue(names.dead_queue, durable=True)
        return exchange, work

    async def exchange(self, channel: AbstractChannel) -> AbstractExchange:
        return await channel.get_exchange(self.topology.exchange, ensure=False)

    async def queue_depths(self) -> dict[str, int]:
        """Messages ready in the work, dead-letter and activity queues (one round trip each);
        also the broker health probe."""
        queues = (self.topology.work_queue, self.topology.dead_queue, self.topology.activity_queue)
        return {name: await self.queue_depth(name) for name in queues}

    async def queue_depth(self, name: str) -> int:
        """Messages ready in one queue (one round trip)."""
        if self._admin is None or not self.is_connected:
            self._admin = await self.channel()
        queue = await self._admin.declare_queue(name, durable=True)
        return int(queue.declaration_result.message_count or 0)

    async def probe(self) -> None:
        await self.queue_depths()

    async def close(self) -> None:
        connection, self._connection, self._admin = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(PUBLISH_TIMEOUT):
                    await connection.close()


async def publish_confirmed(
    exchange: AbstractExchange, messages: list[tuple[aio_pika.Message, str]]
) -> list[bool]:
    """Publish all at once; True for each the broker confirmed (acked, routed)."""
    results = await asyncio.gather(
        *(exchange.publish(m, routing_key=key, timeout=PUBLISH_TIMEOUT) for m, key in messages),
        return_exceptions=True,
    )
    return [isinstance(result, aiormq.spec.Basic.Ack) for result in results]


#: What a consumer holds of each message it received.
Held = TypeVar("Held")


# -- the relay ----------------------------------------------------------------------------


class OutboxRelay(OutboxLoop):
    """Broker mode's replacement for the dispatcher: claims committed outbox rows exactly as
    the dispatcher does (several relays never publish a row at once) and publishes them;
    only rows the broker confirmed become `relayed`. Unconfirmed rows return to `pending`
    and are published again at the next round; while the broker is down nothing is
    claimed, and relaying resumes when it is back."""

    name = "outbox_relay"

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        broker: Broker,
        *,
        batch_size: int = 50,
        lease_seconds: float = 60.0,
        poll_interval: float = 1.0,
    ) -> None:
        super().__init__(
            sessionmaker, batch_size=batch_size, lease_seconds=lease_seconds, poll_interval=poll_interval
        )
        self.broker = broker
        self._channel: AbstractChannel | None = None

    async def _exchange(self) -> AbstractExchange:
        """The exchange on our channel, opened again (with the connection) after a loss."""
        if self._channel is None or not self.broker.is_connected:
            self._channel = await self.broker.channel()
        return await self.broker.exchange(self._channel)

    async def run_once(self) -> int:
        exchange = await self._exchange()
        token, events = await claim_due_events(self.sessionmaker, self.batch_size, self.lease)
        if not events:
            return 0
        confirmed = await publish_confirmed(exchange, [(event_message(e), e.type) for e in events])
        relayed = [e.id for e, ok in zip(events, confirmed, strict=True) if ok]
        unsent = [e.id for e, ok in zip(events, confirmed, strict=True) if not ok]
        await release_claim(
            self.sessionmaker, token, relayed, status=OutboxStatus.RELAYED, processed_at=utcnow()
        )
        if unsent:
            await release_claim(
                self.sessionmaker,
                token,
                unsent,
                status=OutboxStatus.PENDING,
                last_error="the broker did not confirm the publish",
            )
            raise BrokerUnavailable(f"{len(unsent)} of {len(events)} events not confirmed")
        return len(events)


# -- the worker ---------------------------------------------------------------------------


class BatchConsumer(Generic[Held]):
    """One queue consumed in batches, the shape both consumers of `studyhall worker` share.

    Messages are decoded as they arrive and held (at most `prefetch` unacknowledged); a
    background task hands the oldest to `handle` a batch at a time, waiting `batch_wait`
    seconds for more while a batch is not full, and `handle` settles them. With
    `concurrency` above 1, that many batches are handled at once: one batch's database
    round trips overlap the next one's CPU work. `run` consumes until `stop` is set, then
    finishes what is held and closes the connection. A lost connection, or a batch task
    that failed, ends the round: the channel is closed so the broker redelivers what was
    held, and a new round starts after `reconnect_interval`.

    Subclasses name themselves (`name`, the prefix of their log events), declare their
    queue (`open`), decode a message (`decode`, ValueError: rejected, not requeued), choose a
    batch (`take_batch`) and handle it (`handle`)."""

    name: ClassVar[str]

    def __init__(
        self, broker: Broker, *, prefetch: int, batch_wait: float = BATCH_WAIT, concurrency: int = 1
    ) -> None:
        self.broker = broker
        self.prefetch = prefetch
        self.batch_wait = batch_wait
        self.concurrency = concurrency
        #: Messages received and not yet in a batch, in delivery order.
        self._held: list[tuple[AbstractIncomingMessage, Held]] = []
        self._arrived = asyncio.Event()
        self._closing = False

    # -- what subclasses say

    async def open(self, channel: AbstractChannel) -> str:
        """Declares what the round needs on its channel; the name of the queue to consume."""
        raise NotImplementedError

    def decode(self, message: AbstractIncomingMessage) -> Held:
        raise NotImplementedError

    def batch_is_full(self) -> bool:
        raise NotImplementedError

    def take_batch(self) -> list[tuple[AbstractIncomingMessage, Held]]:
        """Removes the next batch (the oldest held messages, at least one) from `_held`."""
        raise NotImplementedError

    async def handle(self, batch: list[tuple[AbstractIncomingMessage, Held]]) -> None:
        raise NotImplementedError

    def observe(self) -> None:
        """Called whenever the held messages change hands (metrics)."""

    def started_fields(self) -> dict[str, Any]:
        return {}

    # -- the loop

    async def run(self, stop: asyncio.Event, *, reconnect_interval: float = 1.0) -> None:
        while not stop.is_set():
            try:
                await self._consume(stop)
            except Exception as exc:
                logger.warning(f"{self.name}_disconnected", error=f"{type(exc).__name__}: {exc}")
            if not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=reconnect_interval)
        await self.broker.close()
        logger.info(f"{self.name}_stopped")

    async def _consume(self, stop: asyncio.Event) -> None:
        channel = await self.broker.channel(prefetch=self.prefetch)
        self._held.clear()
        self._closing = False
        queue = await channel.get_queue(await self.open(channel), ensure=False)
        consumer_tag = await queue.consume(self._on_message)
        batches = asyncio.create_task(self._handle_batches(), name=f"{self.name}_batches")
        logger.info(f"{self.name}_started", queue=queue.name, prefetch=self.prefetch, **self.started_fields())
        stopping = asyncio.ensure_future(stop.wait())
        lost = asyncio.ensure_future(self.broker.lost.wait())
        try:
            await asyncio.wait((stopping, lost, batches), return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            batches.cancel()  # the process is going down: what it holds is redelivered
            raise
        finally:
            stopping.cancel()
            lost.cancel()
        if stop.is_set():
            with contextlib.suppress(Exception):
                await queue.cancel(consumer_tag)
        else:
            self._held.clear()  # the broker redelivers them once their channel is gone
            with contextlib.suppress(Exception):
                await channel.close()
        self._closing = True
        self._arrived.set()
        await asyncio.gather(batches, return_exceptions=True)
        if not stop.is_set():
            failed = batches.done() and not batches.cancelled() and batches.exception()
            raise BrokerUnavailable(
                f"handling batches failed: {failed!r}" if failed else "the connection to the broker was lost"
            )

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        try:
            decoded = self.decode(message)
        except ValueError as exc:
            logger.error(f"{self.name}_message_malformed", message_id=message.message_id, error=str(exc))
            await message.reject(requeue=False)
            return
        self._held.append((message, decoded))
        self._arrived.set()

    async def _handle_batches(self) -> None:
        """Handle the held messages, up to `concurrency` batches at a time, until closing and
        none is left. A batch that fails beyond `handle`'s own settling fails the group, and
        with it the round."""
        free = asyncio.Semaphore(self.concurrency)
        async with asyncio.TaskGroup() as handling:
            while True:
                if not self._held:
                    self.observe()
                    if self._closing:
                        return
                    self._arrived.clear()
                    await self._arrived.wait()
                    continue
                await free.acquire()  # the batch is taken only once it can start: as full as can be
                if not self.batch_is_full() and not self._closing:
                    await asyncio.sleep(self.batch_wait)  # a few milliseconds for more to arrive
                self.observe()
                batch = self.take_batch()  # empty if the connection was lost meanwhile
                if batch:
                    handling.create_task(self._handle_releasing(batch, free))
                else:
                    free.release()

    async def _handle_releasing(
        self, batch: list[tuple[AbstractIncomingMessage, Held]], free: asyncio.Semaphore
    ) -> None:
        try:
            await self.handle(batch)
        finally:
            free.release()

    async def requeue(self, batch: list[tuple[AbstractIncomingMessage, Held]], exc: Exception) -> None:
        """After a failed batch: back to the queue, after a pause (the failure may persist)."""
        logger.warning(
            f"{self.name}_messages_requeued", messages=len(batch), error=f"{type(exc).__name__}: {exc}"
        )
        await asyncio.sleep(REQUEUE_PAUSE)
        for message, _ in batch:
            with contextlib.suppress(Exception):
                await message.nack(requeue=True)

    async def acknowledge(self, batch: list[tuple[AbstractIncomingMessage, Held]]) -> None:
        """Handling one batch at a time, one frame for the batch: it is the oldest of the
        messages held, in delivery order, and every earlier delivery of this channel was
        settled before (earlier batches, malformed messages), so "up to the last" is exactly
        these. Handling several, an earlier batch may still be in flight: one ack each."""
        async with asyncio.timeout(PUBLISH_TIMEOUT):
            if self.concurrency == 1:
                await batch[-1][0].ack(multiple=True)
                return
            for message, _ in batch:
                await message.ack()


class EventWorker(BatchConsumer[Delivery]):
    """Consumes the work queue and runs the events through the `HandlerRunner` in batches of
    at most `batch_size` messages (by default half the prefetch, so the next batch arrives
    while one is handled). A message is acknowledged only after its handlers committed and
    its retries and dead letters were confirmed by the broker; a worker that dies leaves it
    to be redelivered."""

    name = "event_worker"

    def __init__(
        self,
        broker: Broker,
        runner: HandlerRunner,
        *,
        prefetch: int,
        batch_size: int | None = None,
        batch_wait: float = BATCH_WAIT,
    ) -> None:
        super().__init__(broker, prefetch=prefetch, batch_wait=batch_wait)
        self.runner = runner
        self.batch_size = batch_size or max(1, prefetch // 2)
        self._channel: AbstractChannel | None = None
        self._delay_queues: set[str] = set()

    async def open(self, channel: AbstractChannel) -> str:
        self._channel = channel
        self._delay_queues.clear()
        return self.broker.topology.work_queue

    def decode(self, message: AbstractIncomingMessage) -> Delivery:
        event, only = decode_message(message)
        return Delivery(event, only, redelivered=bool(message.redelivered))

    def batch_is_full(self) -> bool:
        return len(self._held) >= self.batch_size

    def take_batch(self) -> list[tuple[AbstractIncomingMessage, Delivery]]:
        batch = self._held[: self.batch_size]
        del self._held[: self.batch_size]
        return batch

    def started_fields(self) -> dict[str, Any]:
        return {"batch": self.batch_size}

    async def handle(self, batch: list[tuple[AbstractIncomingMessage, Delivery]]) -> None:
        deliveries = [delivery for _, delivery in batch]
        try:
            results = await self.runner.run_batch(deliveries)
            await self._follow_up(deliveries, results)
            await self.acknowledge(batch)
        except Exception as exc:
            await self.requeue(batch, exc)

    async def _follow_up(self, deliveries: list[Delivery], results: list[list[HandlerResult]]) -> None:
        """Schedule the retries and publish the dead letters, confirmed, before the acks."""
        assert self._channel is not None
        messages: list[tuple[aio_pika.Message, str]] = []
        for delivery, event_results in zip(deliveries, results, strict=True):
            messages += await self._follow_up_messages(delivery.event, event_results)
        if messages and not all(await publish_confirmed(self._channel.default_exchange, messages)):
            raise BrokerUnavailable("a retry or dead letter was not confirmed")

    async def _follow_up_messages(
        self, event: Event, results: list[HandlerResult]
    ) -> list[tuple[aio_pika.Message, str]]:
        messages: list[tuple[aio_pika.Message, str]] = []
        for result in results:
            if result.outcome == Outcome.RETRY:
                queue = await self._delay_queue(round(result.retry_in * 1000))
                retry = event_message(event, attempt=result.failures + 1, handlers=[result.handler])
                messages.append((retry, queue))
            elif result.outcome == Outcome.DEAD:
                dead = event_message(event, attempt=result.failures, handlers=[result.handler])
                dead.headers["x-studyhall-error"] = result.error or ""
                messages.append((dead, self.broker.topology.dead_queue))
        return messages

    async def _delay_queue(self, delay_ms: int) -> str:
        """The retry queue for this delay: its messages expire into the work queue."""
        assert self._channel is not None
        name = self.broker.topology.delay_queue(delay_ms)
        if name not in self._delay_queues:
            await self._channel.declare_queue(
                name,
                durable=True,
                arguments={
                    "x-message-ttl": delay_ms,
                    "x-dead-letter-exchange": "",
                    "x-dead-letter-routing-key": self.broker.topology.work_queue,
                },
            )
            self._delay_queues.add(name)
        return name


# -- requeueing dead events (`studyhall events retry`) -------------------------------------


async def requeue_dead(
    sessionmaker: async_sessionmaker[AsyncSession],
    event_ids: Collection[uuid.UUID] | None,
    broker: Broker | None,
    *,
    in_transaction: Callable[[AsyncSession, dict[uuid.UUID, list[str]]], Awaitable[None]] | None = None,
) -> dict[uuid.UUID, list[str]]:
    """Give the dead handlers of these events (all when None) a fresh round of attempts.

    Embedded mode makes their outbox rows due again; broker mode republishes each event for
    its dead handlers (confirmed before the database forgets the dead state) and removes
    their copies from the dead-letter queue. `in_transaction` runs in the transaction that
    forgets the dead state (the admin panel records its audit entries there)."""
    async with sessionmaker() as session, session.begin():
        requeued = await forget_dead(session, event_ids)
        if not requeued:
            return {}
        if in_transaction is not None:
            await in_transaction(session, requeued)
        if broker is None:
            await session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id.in_(list(requeued)))
                .values(status=OutboxStatus.PENDING, available_at=utcnow(), claim_token=None)
            )
        else:
            rows = await session.execute(
                select(
                    OutboxEvent.id,
                    OutboxEvent.event_type,
                    OutboxEvent.payload,
                    OutboxEvent.created_at,
                    OutboxEvent.attempts,
                ).where(OutboxEvent.id.in_(list(requeued)))
            )
            events = [Event(*row) for row in rows.all()]
            await _republish(broker, events, requeued)
    if broker is not None:
        await _remove_dead_letters(broker, set(requeued))
    return requeued


async def _republish(broker: Broker, events: list[Event], handlers: dict[uuid.UUID, list[str]]) -> None:
    channel = await broker.channel()
    try:
        exchange = await broker.exchange(channel)
        messages = [(event_message(e, handlers=handlers[e.id]), e.type) for e in events]
        if not all(await publish_confirmed(exchange, messages)):
            raise BrokerUnavailable("the broker did not confirm every requeued event")
    finally:
        await channel.close()


async def _remove_dead_letters(broker: Broker, event_ids: set[uuid.UUID]) -> None:
    """Take the requeued events' copies off the dead-letter queue; the others go back when
    the channel closes unacknowledged."""
    channel = await broker.channel()
    try:
        queue = await channel.get_queue(broker.topology.dead_queue, ensure=False)
        while (message := await queue.get(fail=False, timeout=PUBLISH_TIMEOUT)) is not None:
            if message.message_id and uuid.UUID(message.message_id) in event_ids:
                await message.ack()
    finally:
        await channel.close()
