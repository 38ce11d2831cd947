"""Service endpoints without the API prefix: health and metrics."""

from __future__ import annotations

import asyncio

import structlog
from fastapi import Request, Response
from fastapi.responses import JSONResponse

from studyhall.core.broker import Broker
from studyhall.core.deps import DatabaseDep
from studyhall.core.events import outbox_counts, outbox_lag_seconds
from studyhall.core.health import HealthChecker, HealthReport
from studyhall.core.metrics import PROMETHEUS_CONTENT_TYPE, Metrics
from studyhall.core.routing import DomainRouter

router = DomainRouter(tags=["service"])
#: Seconds /metrics waits for the broker's queue depths.
BROKER_METRICS_TIMEOUT = 2.0
logger = structlog.get_logger(__name__)


def _checker(request: Request) -> HealthChecker:
    checker: HealthChecker = request.app.state.health
    return checker


@router.get(
    "/health",
    response_model=HealthReport,
    summary="Liveness and readiness with dependency checks and system metrics",
    responses={503: {"model": HealthReport, "description": "The database is down"}},
)
async def health(request: Request) -> JSONResponse:
    report = await _checker(request).report()
    status_code = 503 if report.status == "down" else 200
    return JSONResponse(report.model_dump(mode="json"), status_code=status_code)


@router.get("/health/live", summary="The process is serving")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/health/ready",
    summary="Every required dependency answers",
    responses={503: {"description": "A required dependency is down"}},
)
async def ready(request: Request) -> JSONResponse:
    checker = _checker(request)
    results = await checker.check_all()
    required = {dep.name for dep in checker.dependencies if dep.required}
    ok = all(results[name].status == "ok" for name in required)
    body = {
        "status": "ok" if ok else "down",
        "checks": {name: result.status for name, result in results.items()},
    }
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {PROMETHEUS_CONTENT_TYPE: {}}}},
)
async def metrics(request: Request, database: DatabaseDep) -> Response:
    registry: Metrics = request.app.state.metrics
    pool = database.engine.pool
    for state, reader in (("checked_out", "checkedout"), ("idle", "checkedin"), ("size", "size")):
        value = getattr(pool, reader, None)
        if callable(value):
            registry.db_pool.labels(state).set(value())
    try:
        async with database.sessionmaker() as session:
            for status, count in (await outbox_counts(session)).items():
                registry.outbox.labels(status).set(count)
            registry.relay_lag.set(await outbox_lag_seconds(session))
    except Exception as exc:  # metrics must render even when the database is down
        logger.warning("metrics_outbox_unavailable", error=type(exc).__name__)
    await _observe_queues(request.app.state.broker, registry)
    return Response(registry.render(), media_type=PROMETHEUS_CONTENT_TYPE)


async def _observe_queues(broker: Broker | None, registry: Metrics) -> None:
    if broker is None:
        return
    try:
        depths = await asyncio.wait_for(broker.queue_depths(), timeout=BROKER_METRICS_TIMEOUT)
    except Exception as exc:  # the broker being down shows in /health, not as a failed scrape
        logger.warning("metrics_broker_unavailable", error=type(exc).__name__)
        return
    for queue, depth in depths.items():
        registry.queue_depth.labels(queue).set(depth)
