"""Broker mode inside the API process: the relay, /health's broker check and /metrics."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from studyhall.config import Settings
from studyhall.core.broker import Broker, OutboxRelay
from studyhall.core.db import Database
from studyhall.core.events import OutboxEvent, OutboxStatus, emit
from studyhall.main import create_app
from tests.event_probe import PING
from tests.servers import free_port
from tests.transport import EventTransport

pytestmark = pytest.mark.postgresql_only


@pytest.fixture
def settings(event_transport: EventTransport) -> Settings:
    return event_transport.settings()


async def emit_pings(database: Database, count: int) -> None:
    async with database.sessionmaker() as session, session.begin():
        for n in range(count):
            emit(session, PING, {"n": n})


async def statuses(database: Database) -> list[str]:
    async with database.sessionmaker() as session:
        return list((await session.scalars(select(OutboxEvent.status))).all())


async def test_the_relay_publishes_and_marks_only_confirmed_rows(app: FastAPI) -> None:
    database: Database = app.state.database
    relay: OutboxRelay = app.state.relay
    broker: Broker = app.state.broker
    await emit_pings(database, 5)
    assert await relay.drain() == 5
    assert await statuses(database) == [OutboxStatus.RELAYED] * 5
    assert (await broker.queue_depths())[broker.topology.work_queue] == 5
    assert await relay.drain() == 0, "relayed rows are not published again"


async def test_with_the_broker_down_rows_stay_pending(app: FastAPI, event_transport: EventTransport) -> None:
    database: Database = app.state.database
    down = Broker(f"amqp://guest:guest@127.0.0.1:{free_port()}/", event_transport.namespace)
    relay = OutboxRelay(database.sessionmaker, down)
    await emit_pings(database, 3)
    with pytest.raises(ConnectionError):
        await relay.run_once()
    async with database.sessionmaker() as session:
        rows = (await session.scalars(select(OutboxEvent))).all()
    assert [(r.status, r.attempts) for r in rows] == [(OutboxStatus.PENDING, 0)] * 3, "nothing claimed"
    assert await app.state.relay.drain() == 3, "another relay, with the broker up, sends them"


async def test_health_reports_the_broker_and_metrics_the_transport(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await emit_pings(app.state.database, 2)
    health = (await client.get("/health")).json()
    assert health["status"] == "ok"
    assert health["checks"]["broker"]["status"] == "ok"
    assert health["checks"]["broker"]["latency_ms"] > 0

    text = (await client.get("/metrics")).text
    lag = next(line for line in text.splitlines() if line.startswith("studyhall_outbox_lag_seconds "))
    assert float(lag.split()[1]) >= 0
    work = app.state.broker.topology.work_queue
    assert f'studyhall_broker_queue_messages{{queue="{work}"}} 0.0' in text
    await app.state.relay.drain()
    text = (await client.get("/metrics")).text
    assert f'studyhall_broker_queue_messages{{queue="{work}"}} 2.0' in text
    assert "studyhall_outbox_lag_seconds 0.0" in text


async def test_health_is_degraded_when_the_broker_is_down(event_transport: EventTransport) -> None:
    settings = event_transport.settings(broker_url=f"amqp://guest:guest@127.0.0.1:{free_port()}/")
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        response = await client.get("/health")
        assert response.status_code == 200
        assert response.json()["status"] == "degraded"
        assert response.json()["checks"]["broker"]["status"] == "down"
        assert (await client.get("/metrics")).status_code == 200
