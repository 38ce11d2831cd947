"""Broker mode for activity events: the API publishes validated batches, workers store them.

A batch is one persistent message on the durable queue `<BROKER_NAMESPACE>.activity` (through
the default exchange), published with a confirm: the API answers 202 only once the broker
holds it. `studyhall worker` consumes the queue, writes the records of the messages it
holds in one transaction (`store.store`: keys, then rows, then rollups) and acknowledges
them only after the commit. A worker that dies before its commit leaves nothing behind and
the broker redelivers; one that dies after its commit but before the ack gets its messages
redelivered, and the keys turn them into duplicates: nothing is lost, nothing stored twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import aio_pika
import structlog
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from studyhall.analytics.errors import IngestUnavailable
from studyhall.analytics.records import ActivityRecord, ActivitySource
from studyhall.analytics.store import Arrival, store
from studyhall.core.broker import PUBLISH_TIMEOUT, REQUEUE_PAUSE, Broker, publish_confirmed
from studyhall.core.clock import utcnow
from studyhall.core.metrics import Metrics

logger = structlog.get_logger(__name__)

#: Seconds the worker waits for more messages before it writes a batch that is not full.
BATCH_WAIT = 0.005


async def _declare(channel: AbstractChannel, broker: Broker) -> str:
    name = broker.topology.activity_queue
    await channel.declare_queue(name, durable=True)
    return name


# -- messages -------------------------------------------------------------------------------


def encode_arrival(arrival: Arrival) -> bytes:
    """One compact JSON document: the arrival time and one array per record."""
    ids = _IdText()  # a batch names few users, courses and lessons, many times
    rows = [
        [
            r.event_id,
            r.event_type,
            ids[r.user_id],
            r.occurred_at.isoformat(),
            r.source.value,
            ids[r.course_id] if r.course_id else None,
            ids[r.lesson_id] if r.lesson_id else None,
            r.data,
            r.metadata,
        ]
        for r in arrival.records
    ]
    body = {"received_at": arrival.received_at.isoformat(), "records": rows}
    return json.dumps(body, separators=(",", ":")).encode()


class _IdText(dict[uuid.UUID, str]):
    def __missing__(self, key: uuid.UUID) -> str:
        value = self[key] = str(key)
        return value


def decode_arrival(body: bytes) -> Arrival:
    """The arrival a message carries; ValueError when it is not one."""
    try:
        document = json.loads(body)
        ids = _UuidCache()  # a batch names few users, courses and lessons, many times
        records = [_record(row, ids) for row in document["records"]]
        return Arrival(records, datetime.fromisoformat(document["received_at"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not an activity message: {exc}") from exc


_SOURCES = {source.value: source for source in ActivitySource}


class _UuidCache(dict[str, uuid.UUID]):
    def __missing__(self, key: str) -> uuid.UUID:
        value = self[key] = uuid.UUID(key)
        return value


def _record(row: list[Any], ids: _UuidCache) -> ActivityRecord:
    event_id, event_type, user_id, occurred_at, source, course_id, lesson_id, data, metadata = row
    if not isinstance(data, dict) or not isinstance(metadata, dict):
        raise TypeError("data and metadata must be objects")
    return ActivityRecord(
        event_id=str(event_id),
        event_type=str(event_type),
        user_id=ids[user_id],
        occurred_at=datetime.fromisoformat(occurred_at),
        source=_SOURCES[source],
        course_id=ids[course_id] if course_id else None,
        lesson_id=ids[lesson_id] if lesson_id else None,
        data=data,
        metadata=metadata,
    )


# -- the API side ---------------------------------------------------------------------------


class ActivityPublisher:
    """Publishes arrivals from an API process, on one channel with publisher confirms
    (opened again, with the connection, after a loss)."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self._channel: AbstractChannel | None = None
        self._lock = asyncio.Lock()

    async def _open(self) -> tuple[AbstractChannel, str]:
        async with self._lock:
            if self._channel is None or self._channel.is_closed or not self.broker.is_connected:
                channel = await self.broker.channel()
                await _declare(channel, self.broker)
                self._channel = channel
            return self._channel, self.broker.topology.activity_queue

    async def publish(self, arrival: Arrival) -> None:
        """Return once the broker confirmed the message; `IngestUnavailable` otherwise."""
        message = aio_pika.Message(
            encode_arrival(arrival),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        try:
            channel, queue = await self._open()
            confirmed = await publish_confirmed(channel.default_exchange, [(message, queue)])
        except Exception as exc:
            logger.warning("activity_publish_failed", error=f"{type(exc).__name__}: {exc}")
            self._channel = None
            raise IngestUnavailable("The event broker is unavailable; send the batch again later") from exc
        if not all(confirmed):
            self._channel = None
            raise IngestUnavailable("The event broker did not confirm the batch; send it again later")


# -- the worker side ------------------------------------------------------------------------


class ActivityConsumer:
    """Consumes the activity queue in `studyhall worker`: at most `prefetch` messages held
    unacknowledged, written `batch_events` events at a time (several messages per
    transaction), acknowledged after the commit."""

    def __init__(
        self,
        broker: Broker,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        prefetch: int,
        batch_events: int,
        metrics: Metrics | None = None,
    ) -> None:
        self.broker = broker
        self.sessionmaker = sessionmaker
        self.prefetch = prefetch
        self.batch_events = batch_events
        self.metrics = metrics
        self._held: list[tuple[AbstractIncomingMessage, Arrival]] = []
        self._arrived = asyncio.Event()
        self._closing = False

    async def run(self, stop: asyncio.Event, *, reconnect_interval: float = 1.0) -> None:
        """Consume until `stop` is set, then write what is held and close the connection. A
        lost connection is opened again after `reconnect_interval`."""
        while not stop.is_set():
            try:
                await self._consume(stop)
            except Exception as exc:
                logger.warning("activity_consumer_disconnected", error=f"{type(exc).__name__}: {exc}")
            if not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=reconnect_interval)
        await self.broker.close()
        logger.info("activity_consumer_stopped")

    async def _consume(self, stop: asyncio.Event) -> None:
        channel = await self.broker.channel(prefetch=self.prefetch)
        name = await _declare(channel, self.broker)
        self._held.clear()
        self._closing = False
        queue = await channel.get_queue(name, ensure=False)
        consumer_tag = await queue.consume(self._on_message)
        writer = asyncio.create_task(self._write_batches(), name="activity_consumer_batches")
        logger.info("activity_consumer_started", queue=name, prefetch=self.prefetch, batch=self.batch_events)
        stopping = asyncio.ensure_future(stop.wait())
        lost = asyncio.ensure_future(self.broker.lost.wait())
        try:
            await asyncio.wait((stopping, lost, writer), return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            writer.cancel()  # the process is going down: what it holds is redelivered
            raise
        finally:
            stopping.cancel()
            lost.cancel()
        if stop.is_set():
            with contextlib.suppress(Exception):
                await queue.cancel(consumer_tag)
        else:
            self._held.clear()  # their channel is gone: the broker redelivers them
        self._closing = True
        self._arrived.set()
        await asyncio.gather(writer, return_exceptions=True)
        if not stop.is_set():
            raise ConnectionError("the connection to the broker was lost")

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        try:
            arrival = decode_arrival(message.body)
        except ValueError as exc:
            logger.error("activity_message_malformed", error=str(exc))
            await message.reject(requeue=False)
            return
        self._held.append((message, arrival))
        self._arrived.set()

    async def _write_batches(self) -> None:
        while True:
            if not self._held:
                self._observe_lag()
                if self._closing:
                    return
                self._arrived.clear()
                await self._arrived.wait()
                continue
            if self._held_events() < self.batch_events and not self._closing:
                await asyncio.sleep(BATCH_WAIT)  # a few milliseconds for more to arrive
            self._observe_lag()
            batch = self._take_batch()
            await self._handle(batch)

    def _held_events(self) -> int:
        return sum(len(arrival.records) for _, arrival in self._held)

    def _take_batch(self) -> list[tuple[AbstractIncomingMessage, Arrival]]:
        """The oldest held messages, up to `batch_events` events (at least one message)."""
        count, events = 0, 0
        for _, arrival in self._held:
            if count and events + len(arrival.records) > self.batch_events:
                break
            count += 1
            events += len(arrival.records)
        batch = self._held[:count]
        del self._held[:count]
        return batch

    def _observe_lag(self) -> None:
        if self.metrics is not None:
            oldest = self._held[0][1].received_at if self._held else None
            self.metrics.activity_lag.set((utcnow() - oldest).total_seconds() if oldest else 0.0)

    async def _handle(self, batch: list[tuple[AbstractIncomingMessage, Arrival]]) -> None:
        try:
            await self._store([arrival for _, arrival in batch])
            await self._acknowledge(batch)
        except Exception as exc:
            logger.warning(
                "activity_messages_requeued", messages=len(batch), error=f"{type(exc).__name__}: {exc}"
            )
            await asyncio.sleep(REQUEUE_PAUSE)
            for message, _ in batch:
                with contextlib.suppress(Exception):
                    await message.nack(requeue=True)

    async def _store(self, arrivals: Sequence[Arrival]) -> None:
        async with self.sessionmaker() as session, session.begin():
            await store(session, arrivals)

    async def _acknowledge(self, batch: list[tuple[AbstractIncomingMessage, Arrival]]) -> None:
        """One frame for the batch: it is the oldest of the messages held, in delivery order,
        and every earlier delivery of this channel was settled before."""
        async with asyncio.timeout(PUBLISH_TIMEOUT):
            await batch[-1][0].ack(multiple=True)
