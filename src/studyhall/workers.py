"""The processes behind `studyhall worker`, `studyhall relay` and `studyhall events`."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import uuid
from collections.abc import Awaitable, Callable, Collection

import structlog
from prometheus_client import start_http_server

from studyhall.analytics.audit import delete_expired as delete_expired_audit_entries
from studyhall.analytics.store import maintain as maintain_activity_store
from studyhall.analytics.transport import ActivityConsumer
from studyhall.config import Settings
from studyhall.core.broker import Broker, EventWorker, OutboxRelay, requeue_dead
from studyhall.core.db import Database
from studyhall.core.delivery import DeadEvent, HandlerRunner, RetryPolicy, dead_events, delete_handled_events
from studyhall.core.events import HandlerRegistry
from studyhall.core.logging import configure_logging
from studyhall.core.mail import MAIL_SERVICE_KEY, mail_service_from_settings
from studyhall.core.metrics import METRICS_INFO_KEY, Metrics
from studyhall.core.periodic import PeriodicJob
from studyhall.core.pubsub import HUB_INFO_KEY, hub_from_settings, wait_for_publishes
from studyhall.core.storage import STORAGE_INFO_KEY, Storage, storage_from_settings
from studyhall.media.cleanup import clean_up_files
from studyhall.subscribers import handler_registry

logger = structlog.get_logger(__name__)


def create_database(settings: Settings, storage: Storage | None = None) -> Database:
    """The database and the services event handlers read from their session (the mailer,
    file storage): the same for the API and for `studyhall worker` (which does not import
    the web app)."""
    database = Database(settings)
    database.provide(MAIL_SERVICE_KEY, mail_service_from_settings(settings))
    database.provide(STORAGE_INFO_KEY, storage or storage_from_settings(settings))
    return database


def periodic_jobs(settings: Settings, database: Database, storage: Storage) -> list[PeriodicJob]:
    """The housekeeping a process that handles events runs: the API process in embedded
    mode, `studyhall worker` in broker mode."""
    sessionmaker = database.sessionmaker
    jobs: list[tuple[str, float, Callable[[], Awaitable[object]]]] = [
        (
            "file_cleanup",
            settings.file_cleanup_interval_seconds,
            lambda: clean_up_files(sessionmaker, storage, settings),
        ),
        (
            "audit_retention",
            settings.audit_retention_interval_seconds,
            lambda: delete_expired_audit_entries(sessionmaker, settings.audit_retention_days),
        ),
        (
            "event_retention",
            settings.event_retention_interval_seconds,
            lambda: delete_handled_events(sessionmaker, settings.event_retention_days),
        ),
        (
            "activity_store_upkeep",
            settings.analytics_maintenance_interval_seconds,
            lambda: maintain_activity_store(database.engine, settings.analytics_retention_months),
        ),
    ]
    # An interval of 0 turns a job off in this process.
    return [PeriodicJob(name, run, interval=interval) for name, interval, run in jobs if interval > 0]


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.event_max_attempts,
        backoff_base=settings.outbox_backoff_base,
        backoff_initial=settings.event_backoff_initial_seconds,
    )


def _broker(settings: Settings) -> Broker:
    assert settings.broker_url is not None
    return Broker(settings.broker_url, settings.broker_namespace)


def _stop_on_signals() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT (instead of the process dying mid-message)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def run_worker(
    settings: Settings,
    *,
    prefetch: int,
    metrics_port: int | None = None,
    handlers: HandlerRegistry | None = None,
) -> None:
    """Consume until SIGTERM with the subscribers of `studyhall.subscribers` (or `handlers`)."""
    configure_logging(settings.log_level, settings.log_json)
    metrics = Metrics()
    if metrics_port is not None:
        start_http_server(metrics_port, addr="0.0.0.0", registry=metrics.registry)  # noqa: S104
    storage = storage_from_settings(settings)
    database = create_database(settings, storage)
    database.provide(METRICS_INFO_KEY, metrics)
    # Notifications made here reach the API processes' sockets through Redis.
    hub = hub_from_settings(settings.redis_url)
    database.provide(HUB_INFO_KEY, hub)
    registry = handlers or handler_registry()
    runner = HandlerRunner(database.sessionmaker, registry, retry_policy(settings), metrics)
    stop = _stop_on_signals()
    jobs = periodic_jobs(settings, database, storage)
    for job in jobs:
        job.start()
    activity = ActivityConsumer(
        _broker(settings),
        database.sessionmaker,
        prefetch=settings.analytics_prefetch,
        batch_events=settings.analytics_worker_batch_events,
        concurrency=settings.analytics_worker_concurrency,
        metrics=metrics,
    )
    try:
        await asyncio.gather(
            EventWorker(_broker(settings), runner, prefetch=prefetch).run(stop),
            activity.run(stop),
        )
    finally:
        for job in jobs:
            await job.stop()
        await wait_for_publishes()
        await hub.aclose()
        await database.dispose()


async def run_relay(settings: Settings) -> None:
    configure_logging(settings.log_level, settings.log_json)
    database = Database(settings)
    broker = _broker(settings)
    relay = OutboxRelay(
        database.sessionmaker,
        broker,
        batch_size=settings.outbox_batch_size,
        lease_seconds=settings.outbox_lease_seconds,
        poll_interval=settings.outbox_poll_interval,
    )
    stop = _stop_on_signals()
    relay.start()
    logger.info("outbox_relay_started")
    try:
        await stop.wait()
    finally:
        await relay.stop()
        await broker.close()
        await database.dispose()


async def list_dead(settings: Settings) -> list[DeadEvent]:
    database = Database(settings)
    try:
        async with database.sessionmaker() as session:
            return await dead_events(session)
    finally:
        await database.dispose()


async def retry_dead(
    settings: Settings, event_ids: Collection[uuid.UUID] | None
) -> dict[uuid.UUID, list[str]]:
    database = Database(settings)
    broker = _broker(settings) if settings.broker_url else None
    try:
        return await requeue_dead(database.sessionmaker, event_ids, broker)
    finally:
        if broker is not None:
            with contextlib.suppress(Exception):
                await broker.close()
        await database.dispose()
