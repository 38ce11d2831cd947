"""`POST /events` in broker mode against a real RabbitMQ: the API publishes, workers store, and
neither a stopped nor a killed worker loses or doubles an event."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import httpx
import pytest
from aio_pika.abc import AbstractIncomingMessage
from fastapi import FastAPI
from sqlalchemy import select

from studyhall.analytics.models import ActivityEvent
from studyhall.analytics.records import ActivityRecord, ActivitySource
from studyhall.analytics.store import Arrival, store
from studyhall.analytics.transport import DEPTH_INTERVAL, ActivityConsumer, decode_arrival, encode_arrival
from studyhall.config import Settings
from studyhall.core.broker import Broker
from studyhall.core.clock import utcnow
from tests.factories import (
    Actor,
    AppFactory,
    activity_event,
    assert_problem,
    client_for,
    count_rows,
    create_user,
    post_events,
)
from tests.servers import free_port
from tests.transport import TEST_TRANSPORT_SETTINGS, EventTransport, eventually

pytestmark = pytest.mark.postgresql_only


@pytest.fixture
def settings(event_transport: EventTransport) -> Settings:
    return event_transport.settings()


@pytest.fixture
async def student(app: FastAPI) -> Actor:
    return await create_user(app)


async def queued(app: FastAPI) -> int:
    broker: Broker = app.state.broker
    return (await broker.queue_depths())[broker.topology.activity_queue]


async def stored_ids(app: FastAPI) -> list[str]:
    async with app.state.database.sessionmaker() as session:
        return list((await session.scalars(select(ActivityEvent.event_id))).all())


@pytest.mark.parametrize(
    "data",
    [{"path": "/"}, {"path": "/", "views": 2**70 + 1, "low": -(2**64) - 1}],
    ids=["plain", "big integers"],
)
def test_a_message_carries_its_arrival_exactly(data: dict[str, Any]) -> None:
    """What the worker decodes is what the API took in. Integers beyond 64 bits need the
    slower JSON writer and reader: orjson refuses to write them and reads them as floats."""
    user_id, lesson_id = uuid.uuid4(), uuid.uuid4()
    records = [
        ActivityRecord("a-1", "page.viewed", user_id, utcnow(), ActivitySource.CLIENT, data=data),
        ActivityRecord(
            "outbox:7",
            "server.video_watched",
            user_id,
            utcnow() - timedelta(days=1),
            ActivitySource.SERVER,
            course_id=uuid.uuid4(),
            lesson_id=lesson_id,
            data={"watched_seconds": 12.5},
            metadata={"client": "ios"},
        ),
    ]
    arrival = Arrival(records, utcnow())
    assert decode_arrival(encode_arrival(arrival)) == arrival


async def test_events_posted_while_no_worker_runs_are_all_stored_once_it_starts(
    app: FastAPI, client: httpx.AsyncClient, student: Actor, event_transport: EventTransport
) -> None:
    batches = [[activity_event() for _ in range(100)] for _ in range(3)]
    retried = [*batches[0][:40], activity_event("nope")]  # a retry of part of the first batch

    answers = [await post_events(client, student, batch) for batch in [*batches, retried]]

    assert [a.status_code for a in answers] == [202] * 4
    assert [a.json()["accepted"] for a in answers] == [
        100,
        100,
        100,
        40,
    ]  # repeats of other batches: the worker's
    assert answers[3].json()["rejected"][0]["index"] == 40
    assert await queued(app) == 4
    assert await count_rows(app, ActivityEvent) == 0
    metrics = (await client.get("/metrics")).text
    queue = app.state.broker.topology.activity_queue
    assert f'studyhall_broker_queue_messages{{queue="{queue}"}} 4.0' in metrics
    assert "studyhall_activity_events_accepted_total 340.0" in metrics

    event_transport.start_activity_worker()

    async def all_stored() -> bool:
        return await count_rows(app, ActivityEvent) >= 300 and await queued(app) == 0

    await eventually(all_stored)
    await assert_stored_once_each(app, batches)
    [user_id] = {row.user_id for row in await _rows(app)}
    assert user_id == student.user.id


async def test_the_worker_serves_its_metrics_on_its_own_port(
    app: FastAPI, client: httpx.AsyncClient, student: Actor, event_transport: EventTransport
) -> None:
    port = free_port()
    event_transport.start_activity_worker("--metrics-port", str(port))
    batches = [[activity_event() for _ in range(30)] for _ in range(2)]
    for batch in batches:
        assert (await post_events(client, student, batch)).json()["accepted"] == 30

    async def worker_metrics() -> str:
        async with httpx.AsyncClient() as scraper:
            return (await scraper.get(f"http://127.0.0.1:{port}/metrics")).text

    async def both_stored() -> bool:
        return 'studyhall_activity_events_stored_total{source="client"} 60.0' in await worker_metrics()

    await eventually(both_stored)
    metrics = await worker_metrics()
    assert "studyhall_activity_ingest_latency_seconds_count 60.0" in metrics  # one per event
    await assert_stored_once_each(app, batches)


async def _rows(app: FastAPI) -> list[ActivityEvent]:
    async with app.state.database.sessionmaker() as session:
        return list((await session.scalars(select(ActivityEvent))).all())


async def drain_with(
    app: FastAPI, consumer: ActivityConsumer, events: int, reconnect_interval: float = 1.0
) -> None:
    """Run the consumer until `events` rows are stored and the queue is empty, then stop it."""
    stop = asyncio.Event()
    running = asyncio.create_task(consumer.run(stop, reconnect_interval=reconnect_interval))
    try:

        async def drained() -> bool:
            return await count_rows(app, ActivityEvent) >= events and await queued(app) == 0

        await eventually(drained)
    finally:
        stop.set()
        await running


async def assert_stored_once_each(app: FastAPI, batches: list[list[dict[str, Any]]]) -> None:
    ids = await stored_ids(app)
    assert sorted(ids) == sorted(str(e["event_id"]) for batch in batches for e in batch)


class DiesAfterCommit(ActivityConsumer):
    """Stores its first batch, then hangs before the acknowledgement until it is killed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reached = asyncio.Event()

    async def acknowledge(self, batch: list[tuple[AbstractIncomingMessage, Arrival]]) -> None:
        self.reached.set()
        await asyncio.Event().wait()


class DiesBeforeCommit(ActivityConsumer):
    """Writes its first batch, then hangs inside the transaction until it is killed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reached = asyncio.Event()

    async def _store(self, arrivals: Sequence[Arrival]) -> None:
        async with self.sessionmaker() as session, session.begin():
            await store(session, arrivals)
            self.reached.set()
            await asyncio.Event().wait()


async def kill_mid_batch(consumer: DiesAfterCommit | DiesBeforeCommit) -> None:
    """Run the consumer until it reaches the point where it hangs, then kill it: its task is
    cancelled and its connection closed, so the broker takes back what it held unacked."""
    task = asyncio.create_task(consumer.run(asyncio.Event()))
    await asyncio.wait_for(consumer.reached.wait(), timeout=30)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await consumer.broker.close()


@pytest.mark.parametrize("dying", [DiesAfterCommit, DiesBeforeCommit], ids=["after_commit", "before_commit"])
async def test_a_worker_killed_mid_batch_loses_and_doubles_nothing(
    app: FastAPI,
    client: httpx.AsyncClient,
    student: Actor,
    settings: Settings,
    dying: type[DiesAfterCommit | DiesBeforeCommit],
) -> None:
    batches = [[activity_event() for _ in range(50)] for _ in range(4)]
    for batch in batches:
        assert (await post_events(client, student, batch)).json()["accepted"] == 50
    assert settings.broker_url is not None

    def consumer(kind: type[ActivityConsumer]) -> ActivityConsumer:
        broker = Broker(settings.broker_url or "", settings.broker_namespace)
        sessionmaker = app.state.database.sessionmaker
        return kind(broker, sessionmaker, prefetch=4, batch_events=100, metrics=app.state.metrics)

    first = consumer(dying)
    assert isinstance(first, DiesAfterCommit | DiesBeforeCommit)
    await kill_mid_batch(first)
    committed = await count_rows(app, ActivityEvent)
    assert committed == (100 if dying is DiesAfterCommit else 0)
    assert await queued(app) == 4  # nothing acknowledged: all back in the queue

    await drain_with(app, consumer(ActivityConsumer), 200)

    await assert_stored_once_each(app, batches)
    registry = app.state.metrics.registry
    redelivered = registry.get_sample_value("studyhall_activity_events_duplicates_total", {"stage": "store"})
    assert (redelivered or 0) == committed  # the committed batch came back and was skipped
    assert registry.get_sample_value("studyhall_activity_pipeline_lag_seconds") == 0


class FirstBatchHangs(ActivityConsumer):
    """Handles two batches at once; the first hangs inside its transaction until killed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reached = asyncio.Event()
        self.first: Sequence[Arrival] | None = None
        self.acknowledged: list[Arrival] = []

    async def _store(self, arrivals: Sequence[Arrival]) -> None:
        if self.first is not None:
            await super()._store(arrivals)
            return
        self.first = arrivals
        async with self.sessionmaker() as session, session.begin():
            await store(session, arrivals)
            await asyncio.Event().wait()

    async def acknowledge(self, batch: list[tuple[AbstractIncomingMessage, Arrival]]) -> None:
        await super().acknowledge(batch)
        self.acknowledged += [arrival for _, arrival in batch]
        self.reached.set()


async def test_batches_in_flight_together_are_each_acknowledged_on_their_own(
    app: FastAPI, client: httpx.AsyncClient, student: Actor, settings: Settings
) -> None:
    """With two transactions in flight, the second commits and is acknowledged while the
    first is still open; killing the worker then gives back exactly the first's messages."""
    batches = [[activity_event() for _ in range(50)] for _ in range(4)]
    for batch in batches:
        assert (await post_events(client, student, batch)).json()["accepted"] == 50
    sessionmaker = app.state.database.sessionmaker

    def broker() -> Broker:
        return Broker(settings.broker_url or "", settings.broker_namespace)

    hanging = FirstBatchHangs(broker(), sessionmaker, prefetch=4, batch_events=100, concurrency=2)
    await kill_mid_batch(hanging)
    assert hanging.first is not None and len(hanging.acknowledged) == 2
    assert {a.records[0].event_id for a in hanging.first}.isdisjoint(
        a.records[0].event_id for a in hanging.acknowledged
    )
    assert await count_rows(app, ActivityEvent) == 100  # the second batch only
    assert await queued(app) == 2  # the first batch's two messages, and only they, came back

    second = ActivityConsumer(broker(), sessionmaker, prefetch=4, batch_events=100, concurrency=2)
    await drain_with(app, second, 200)
    await assert_stored_once_each(app, batches)


class FailsToBatchOnce(ActivityConsumer):
    """Its batch task crashes on the first batch (a bug, not a storage error)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.failed = False

    def take_batch(self) -> list[tuple[AbstractIncomingMessage, Arrival]]:
        if not self.failed:
            self.failed = True
            raise RuntimeError("a bug in the batch loop")
        return super().take_batch()


async def test_a_crashed_batch_task_ends_the_round_and_the_next_round_stores_everything(
    app: FastAPI, client: httpx.AsyncClient, student: Actor, settings: Settings
) -> None:
    """The round does not go on consuming with nobody writing: its channel is closed, the
    broker redelivers what it held, and the next round stores each event once."""
    batches = [[activity_event() for _ in range(20)] for _ in range(3)]
    for batch in batches:
        assert (await post_events(client, student, batch)).json()["accepted"] == 20
    broker = Broker(settings.broker_url or "", settings.broker_namespace)
    consumer = FailsToBatchOnce(
        broker, app.state.database.sessionmaker, prefetch=4, batch_events=100, metrics=app.state.metrics
    )
    await drain_with(app, consumer, 60, reconnect_interval=0.1)
    assert consumer.failed
    await assert_stored_once_each(app, batches)


async def test_the_api_answers_503_when_the_broker_does_not_take_the_batch(make_app: AppFactory) -> None:
    app = await make_app(
        broker_url=f"amqp://guest:guest@127.0.0.1:{free_port()}/", broker_namespace="nowhere"
    )
    actor = await create_user(app)
    async with client_for(app) as http:
        response = await post_events(http, actor, [activity_event()])

    assert_problem(response, 503, "ingest_unavailable")
    assert await count_rows(app, ActivityEvent) == 0


async def test_a_full_queue_holds_batches_back_until_the_workers_catch_up(
    make_app: AppFactory, event_transport: EventTransport
) -> None:
    """Backpressure: while the queue holds more than `ANALYTICS_MAX_QUEUED_BATCHES`, a batch
    waits for the workers; one that waits too long is `503 ingest_unavailable` and is not
    queued, and one still waiting when a worker drains the queue is taken."""
    transport = {
        **TEST_TRANSPORT_SETTINGS,
        "broker_url": event_transport.broker_url,
        "broker_namespace": event_transport.namespace,
        "analytics_max_queued_batches": 1,
    }
    impatient = await make_app(**transport, analytics_backlog_wait_seconds=0.5)
    patient = await make_app(**transport, analytics_backlog_wait_seconds=60)
    actor = await create_user(impatient)
    first, second, refused, held = ([activity_event() for _ in range(2)] for _ in range(4))
    async with client_for(impatient) as http, client_for(patient) as other_http:
        for batch in (first, second):
            assert (await post_events(http, actor, batch)).status_code == 202
            await asyncio.sleep(2 * DEPTH_INTERVAL)  # the next request reads the new depth
        assert_problem(await post_events(http, actor, refused), 503, "ingest_unavailable")
        assert await queued(impatient) == 2

        waiting = asyncio.create_task(post_events(other_http, actor, held))
        await asyncio.sleep(1)
        assert not waiting.done()
        worker = event_transport.start_activity_worker()
        assert (await asyncio.wait_for(waiting, timeout=60)).status_code == 202

    async def all_stored() -> bool:
        return await count_rows(impatient, ActivityEvent) >= 6

    await eventually(all_stored)
    event_transport.stop(worker)
    expected = [str(event["event_id"]) for batch in (first, second, held) for event in batch]
    assert sorted(await stored_ids(impatient)) == sorted(expected)


def test_a_message_is_written_by_the_fast_json_writer_whatever_uuid_class_the_driver_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """asyncpg returns its own UUID class (a `uuid.UUID` subclass orjson does not write
    itself): such ids must not send every batch down the slow path."""
    from asyncpg.pgproto.pgproto import UUID as DriverUUID

    def slow_path(*args: Any, **kwargs: Any) -> str:
        raise AssertionError("the standard library's JSON writer ran")

    monkeypatch.setattr("studyhall.core.jsonbytes.json.dumps", slow_path)
    user_id = DriverUUID(str(uuid.uuid4()))
    arrival = Arrival(
        [ActivityRecord("a-1", "page.viewed", user_id, utcnow(), ActivitySource.CLIENT)], utcnow()
    )
    (record,) = decode_arrival(encode_arrival(arrival)).records
    assert record.user_id == user_id
