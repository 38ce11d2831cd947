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
from studyhall.core import jsonbytes
from studyhall.core.broker import BatchConsumer, Broker, publish_confirmed
from studyhall.core.clock import utcnow
from studyhall.core.metrics import Metrics

logger = structlog.get_logger(__name__)

#: Seconds the worker waits for more messages before it writes a batch that is not full.
BATCH_WAIT = 0.005
#: `IngestUnavailable`'s detail when the broker cannot be reached.
BROKER_UNAVAILABLE = "The event broker is unavailable; send the batch again later"
#: Seconds between two reads of the activity queue's depth by an API process (backpressure).
DEPTH_INTERVAL = 0.05
#: Marks a message whose data holds integers beyond 64 bits, to be read exactly.
EXACT_TAG = "exact_integers"


async def _declare(channel: AbstractChannel, broker: Broker) -> str:
    name = broker.topology.activity_queue
    await channel.declare_queue(name, durable=True)
    return name


# -- messages -------------------------------------------------------------------------------


def encode_arrival(arrival: Arrival) -> bytes:
    """One compact JSON document: the arrival time and one array per record (UUIDs and
    datetimes as the text `decode_arrival` reads)."""
    rows = [
        [
            r.event_id,
            r.event_type,
            r.user_id,
            r.occurred_at,
            r.source,  # a StrEnum: orjson writes its value
            r.course_id,
            r.lesson_id,
            r.data,
            r.metadata,
        ]
        for r in arrival.records
    ]
    return jsonbytes.dumps_tagged({"received_at": arrival.received_at, "records": rows}, EXACT_TAG)


def decode_arrival(body: bytes) -> Arrival:
    """The arrival a message carries; ValueError when it is not one."""
    try:
        document = jsonbytes.loads_tagged(body, EXACT_TAG)
        records = _records(document["records"])
        return Arrival(records, datetime.fromisoformat(document["received_at"]))
    except (KeyError, TypeError, ValueError) as exc:  # orjson.JSONDecodeError is a ValueError
        raise ValueError(f"not an activity message: {exc}") from exc


_SOURCES = {source.value: source for source in ActivitySource}


class _UuidCache(dict[str, uuid.UUID]):
    def __missing__(self, key: str) -> uuid.UUID:
        value = self[key] = uuid.UUID(key)
        return value


def _records(rows: list[list[Any]]) -> list[ActivityRecord]:
    """One loop with positional arguments and exact type checks: a worker decodes every
    event it stores, and this takes a quarter of the time of a call and keywords per row."""
    ids = _UuidCache()  # a batch names few users, courses and lessons, many times
    parse_time = datetime.fromisoformat
    records: list[ActivityRecord] = []
    append = records.append
    for event_id, event_type, user_id, occurred_at, source, course_id, lesson_id, data, metadata in rows:
        texts = event_id.__class__ is event_type.__class__ is str
        if not (texts and data.__class__ is metadata.__class__ is dict):
            raise TypeError("event_id and event_type must be strings, data and metadata objects")
        append(
            ActivityRecord(
                event_id,
                event_type,
                ids[user_id],
                parse_time(occurred_at),
                _SOURCES[source],
                ids[course_id] if course_id else None,
                ids[lesson_id] if lesson_id else None,
                data,
                metadata,
            )
        )
    return records


# -- the API side ---------------------------------------------------------------------------


class ActivityPublisher:
    """Publishes arrivals from an API process, on one channel with publisher confirms
    (opened again, with the connection, after a loss).

    **Backpressure.** An API process takes a batch in less CPU than a worker stores it, so
    on a busy machine the queue, and with it the pipeline's lag, would grow without end.
    While the queue holds more than `max_queued` batches, a publish waits for the workers to
    catch up (the request idles, leaving the CPU to them), and after `max_wait` seconds
    gives up with `IngestUnavailable` (503: send it again). The depth is read from the
    broker at most every `DEPTH_INTERVAL` seconds, for all the waiting requests."""

    def __init__(self, broker: Broker, *, max_queued: int = 0, max_wait: float = 10.0) -> None:
        self.broker = broker
        self.max_queued = max_queued
        self.max_wait = max_wait
        self._channel: AbstractChannel | None = None
        self._lock = asyncio.Lock()
        self._gate = asyncio.Lock()
        self._depth = 0
        self._depth_read_at = float("-inf")

    async def _open(self) -> tuple[AbstractChannel, str]:
        async with self._lock:
            if self._channel is None or self._channel.is_closed or not self.broker.is_connected:
                channel = await self.broker.channel()
                await _declare(channel, self.broker)
                self._channel = channel
            return self._channel, self.broker.topology.activity_queue

    async def publish(self, arrival: Arrival) -> None:
        """Return once the broker confirmed the message; `IngestUnavailable` otherwise."""
        if self.max_queued:
            await self._wait_for_room()
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
            raise IngestUnavailable(BROKER_UNAVAILABLE) from exc
        if not all(confirmed):
            self._channel = None
            raise IngestUnavailable("The event broker did not confirm the batch; send it again later")

    async def _wait_for_room(self) -> None:
        """Batches go in the order they came (an asyncio lock is first come, first served),
        so none waits longer than its turn; each counts itself in the depth until the next
        read, so the ones let through together cannot overfill the queue."""
        try:
            async with asyncio.timeout(self.max_wait), self._gate:
                while await self._queued() > self.max_queued:  # noqa: ASYNC110 - the broker is polled: no event to wait on
                    await asyncio.sleep(DEPTH_INTERVAL)
                self._depth += 1
        except TimeoutError:
            raise IngestUnavailable("The event pipeline is behind; send the batch again later") from None

    async def _queued(self) -> int:
        """Batches in the activity queue, as last read (at most `DEPTH_INTERVAL` ago)."""
        now = asyncio.get_running_loop().time()
        if now - self._depth_read_at >= DEPTH_INTERVAL:
            try:
                self._depth = await self.broker.queue_depth(self.broker.topology.activity_queue)
            except Exception as exc:
                logger.warning("activity_queue_depth_failed", error=f"{type(exc).__name__}: {exc}")
                raise IngestUnavailable(BROKER_UNAVAILABLE) from exc
            self._depth_read_at = now
        return self._depth


# -- the worker side ------------------------------------------------------------------------


class ActivityConsumer(BatchConsumer[Arrival]):
    """Consumes the activity queue in `studyhall worker`: at most `prefetch` messages held
    unacknowledged, written `batch_events` events at a time (several messages per
    transaction), acknowledged after the commit."""

    name = "activity_consumer"

    def __init__(
        self,
        broker: Broker,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        prefetch: int,
        batch_events: int,
        concurrency: int = 1,
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__(broker, prefetch=prefetch, batch_wait=BATCH_WAIT, concurrency=concurrency)
        self.sessionmaker = sessionmaker
        self.batch_events = batch_events
        self.metrics = metrics

    async def open(self, channel: AbstractChannel) -> str:
        return await _declare(channel, self.broker)

    def decode(self, message: AbstractIncomingMessage) -> Arrival:
        return decode_arrival(message.body)

    def batch_is_full(self) -> bool:
        return sum(len(arrival.records) for _, arrival in self._held) >= self.batch_events

    def take_batch(self) -> list[tuple[AbstractIncomingMessage, Arrival]]:
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

    def started_fields(self) -> dict[str, Any]:
        return {"batch": self.batch_events, "concurrency": self.concurrency}

    def observe(self) -> None:
        """Pipeline lag: how long the oldest held batch has waited since the API took it."""
        if self.metrics is not None:
            oldest = self._held[0][1].received_at if self._held else None
            self.metrics.activity_lag.set((utcnow() - oldest).total_seconds() if oldest else 0.0)

    async def handle(self, batch: list[tuple[AbstractIncomingMessage, Arrival]]) -> None:
        try:
            await self._store([arrival for _, arrival in batch])
            await self.acknowledge(batch)
        except Exception as exc:
            await self.requeue(batch, exc)

    async def _store(self, arrivals: Sequence[Arrival]) -> None:
        async with self.sessionmaker() as session, session.begin():
            await store(session, arrivals)
