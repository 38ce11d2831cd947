"""Health, readiness and metrics endpoints."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from studyhall.core.metrics import RepeatedHistogram
from studyhall.main import create_app
from tests.conftest import make_settings
from tests.servers import PostgresServer


async def test_health_reports_ok_with_checks_and_system(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["version"]
    assert body["uptime_s"] >= 0
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["database"]["latency_ms"] > 0
    assert body["checks"]["storage"]["status"] == "ok"
    for name in ("cache", "broker"):
        assert body["checks"][name]["status"] == "not_configured"
    system = body["system"]
    assert 0 <= system["cpu_percent"] <= 100 * 64
    assert 0 < system["memory_percent"] <= 100
    assert len(system["load_avg"]) == 3


async def test_live_and_ready(client: httpx.AsyncClient) -> None:
    live = await client.get("/health/live")
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    ready = await client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok"


async def test_metrics_count_requests_by_route_template(client: httpx.AsyncClient) -> None:
    await client.get("/health/live")
    await client.get("/health/live")
    await client.get("/not-a-route")
    text = (await client.get("/metrics")).text
    assert 'studyhall_http_requests_total{method="GET",route="/health/live",status="200"} 2.0' in text
    assert 'route="<unmatched>",status="404"' in text
    assert "studyhall_http_request_duration_seconds_bucket" in text
    assert 'studyhall_db_pool_connections{state="checked_out"}' in text
    assert 'studyhall_outbox_events{status="pending"} 0.0' in text
    assert 'studyhall_outbox_events{status="dead"} 0.0' in text
    assert "studyhall_outbox_lag_seconds 0.0" in text


async def test_metrics_count_handler_runs_in_embedded_mode(app: FastAPI, client: httpx.AsyncClient) -> None:
    from studyhall import event_types
    from studyhall.core.events import emit
    from studyhall.identity.handlers import send_password_reset

    async with app.state.database.sessionmaker() as session, session.begin():
        emit(
            session,
            event_types.USER_PASSWORD_RESET_REQUESTED,
            {"user_id": "00000000-0000-0000-0000-000000000001"},
        )
    await app.state.dispatcher.drain()
    name = f"{send_password_reset.__module__}.{send_password_reset.__qualname__}"
    text = (await client.get("/metrics")).text
    assert f'studyhall_event_handler_done_total{{handler="{name}"}} 1.0' in text
    assert f'studyhall_event_handler_duration_seconds_count{{handler="{name}"}} 1.0' in text


@pytest.mark.postgresql_only
async def test_health_is_503_quickly_when_the_database_stops(backend: str, tmp_path: Path) -> None:
    server = PostgresServer().start()
    try:
        url = server.create_database("health")
        app: FastAPI = create_app(make_settings(url, tmp_path, health_check_timeout=1.5))
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://t") as client,
        ):
            assert (await client.get("/health")).json()["status"] == "ok"
            server.stop()
            began = time.monotonic()
            response = await client.get("/health")
            elapsed = time.monotonic() - began
            assert response.status_code == 503
            assert response.json()["status"] == "down"
            assert response.json()["checks"]["database"]["status"] == "down"
            assert elapsed < 2.0, f"health took {elapsed:.2f}s with the database down"
            assert (await client.get("/health/ready")).status_code == 503
            assert (await client.get("/health/live")).status_code == 200
            assert (await client.get("/metrics")).status_code == 200
    finally:
        server.remove()


@pytest.mark.parametrize("amount", [0.0, 0.004, 0.005, 0.3, 1.0, 59.9, 60.0, 61.0, 1e9])
def test_a_value_observed_repeatedly_at_once_counts_as_observed_one_at_a_time(amount: float) -> None:
    registry = CollectorRegistry()
    buckets = (0.005, 0.01, 0.5, 1, 60)
    at_once = RepeatedHistogram("at_once", "one call", buckets=buckets, registry=registry)
    one_by_one = RepeatedHistogram("one_by_one", "several calls", buckets=buckets, registry=registry)

    at_once.observe_repeated(amount, 7)
    for _ in range(7):
        one_by_one.observe(amount)

    def samples(name: str) -> dict[tuple[str, str], float]:
        [family] = [family for family in registry.collect() if family.name == name]
        return {
            (sample.name.removeprefix(name), sample.labels.get("le", "")): sample.value
            for sample in family.samples
            if not sample.name.endswith("_created")
        }

    repeated, single = samples("at_once"), samples("one_by_one")
    assert repeated.pop(("_sum", "")) == pytest.approx(single.pop(("_sum", "")))
    assert repeated == single
    assert repeated[("_count", "")] == 7.0
