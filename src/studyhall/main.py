"""The application factory."""

from __future__ import annotations

import importlib.util
import pkgutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from redis.asyncio import ConnectionPool
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

import studyhall
from studyhall import __version__
from studyhall.admin.panel import install_admin
from studyhall.analytics.audit_router import router as audit_router
from studyhall.analytics.ingest_router import router as ingest_router
from studyhall.analytics.insights_router import router as insights_router
from studyhall.analytics.transport import ActivityPublisher
from studyhall.assessment.router import router as assessment_router
from studyhall.catalog.router import router as catalog_router
from studyhall.certificates.router import router as certificates_router
from studyhall.community.router import router as community_router
from studyhall.community.socket_router import router as chat_socket_router
from studyhall.config import Settings
from studyhall.core.body_limit import BodyLimitMiddleware
from studyhall.core.broker import Broker, OutboxRelay
from studyhall.core.cache import CACHE_INFO_KEY, redis_pool, redis_probe, response_cache
from studyhall.core.db import Database
from studyhall.core.error_docs import router as error_docs_router
from studyhall.core.errors import install_error_handlers
from studyhall.core.events import OutboxDispatcher, wake_dispatcher_after_commit
from studyhall.core.health import HealthChecker, database_probe
from studyhall.core.logging import configure_logging
from studyhall.core.memory import settle_after_startup
from studyhall.core.metrics import METRICS_INFO_KEY, Metrics
from studyhall.core.middleware import RequestContextMiddleware
from studyhall.core.openapi import install_problem_openapi
from studyhall.core.pubsub import HUB_INFO_KEY, hub_from_settings, wait_for_publishes
from studyhall.core.ratelimit import RateLimiter
from studyhall.core.security import security_from_settings
from studyhall.core.service_router import router as service_router
from studyhall.core.storable_text import StorableTextMiddleware
from studyhall.core.storage import Storage, storage_from_settings
from studyhall.core.storage_router import UNLIMITED_BODY_PATHS
from studyhall.core.storage_router import router as storage_router
from studyhall.core.web_app import CHECKOUT_DIST, WebAppFallback
from studyhall.graphql.router import graphql_router
from studyhall.identity.oauth import OAuthProviders
from studyhall.identity.router import routers as identity_routers
from studyhall.learning.router import router as learning_router
from studyhall.media.providers import check_video_settings
from studyhall.media.router import router as media_router
from studyhall.media.video_router import root_router as video_root_router
from studyhall.media.video_router import router as video_router
from studyhall.notifications.router import router as notifications_router
from studyhall.notifications.socket_router import router as notifications_socket_router
from studyhall.subscribers import handler_registry
from studyhall.workers import create_database, periodic_jobs

API_PREFIX = "/api/v1"

DESCRIPTION = """
StudyHall is an async learning platform: courses, lessons, progress, assessments and
certificates over REST, GraphQL and WebSockets.

Errors are [RFC 9457](https://www.rfc-editor.org/rfc/rfc9457) problem documents with a stable
`code`; every response carries `X-Request-ID`. Lists take `limit` (1-100, default 20) and
`offset` and answer `{items, total, limit, offset}`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level, settings.log_json)
    check_video_settings(settings)
    metrics = Metrics()
    storage = storage_from_settings(settings)
    database = create_database(settings, storage)
    database.provide(METRICS_INFO_KEY, metrics)
    dispatcher = _create_dispatcher(settings, database, metrics)
    broker = Broker(settings.broker_url, settings.broker_namespace) if settings.broker_url else None
    # Broker mode: this process relays events to the broker; workers handle them.
    relay = _create_relay(settings, database, broker) if broker is not None else None
    database.after_commit.append(wake_dispatcher_after_commit(relay or dispatcher))
    redis = redis_pool(settings.redis_url) if settings.redis_url else None
    cache = response_cache(
        ttl=settings.cache_ttl_seconds, max_entries=settings.cache_max_entries, redis=redis
    )
    database.provide(CACHE_INFO_KEY, cache)
    database.after_commit.append(cache.after_commit)
    hub = hub_from_settings(settings.redis_url, settings.ws_buffer_messages)
    database.provide(HUB_INFO_KEY, hub)
    # Housekeeping runs where events are handled: here in embedded mode, in workers otherwise.
    jobs = periodic_jobs(settings, database, storage) if broker is None else []

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.outbox_dispatcher_enabled:
            (relay or dispatcher).start()
            for job in jobs:
                job.start()
        if getattr(_app.state, "settle_after_startup", False):
            settle_after_startup()
        try:
            yield
        finally:
            for job in jobs:
                await job.stop()
            await (relay or dispatcher).stop()
            if broker is not None:
                await broker.close()
            await cache.aclose()
            await wait_for_publishes()
            await hub.aclose()
            await database.dispose()
            if redis is not None:
                await redis.aclose()

    app = FastAPI(
        title="StudyHall",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.metrics = metrics
    app.state.cache = cache
    app.state.hub = hub
    app.state.dispatcher = dispatcher
    app.state.storage = storage
    app.state.relay = relay
    app.state.broker = broker
    app.state.activity_publisher = (
        ActivityPublisher(
            broker,
            max_queued=settings.analytics_max_queued_batches,
            max_wait=settings.analytics_backlog_wait_seconds,
        )
        if broker is not None
        else None
    )
    app.state.health = _create_health_checker(settings, database, redis, broker, storage)
    app.state.passwords, app.state.tokens = security_from_settings(settings)
    app.state.oauth = OAuthProviders(settings.oauth_providers, timeout=settings.oauth_http_timeout)
    app.state.rate_limiter = (
        RateLimiter.on_redis(settings.redis_url, redis, enabled=settings.rate_limit_enabled)
        if settings.redis_url and redis is not None
        else RateLimiter.in_memory(enabled=settings.rate_limit_enabled)
    )

    install_error_handlers(app)
    install_problem_openapi(app)
    _install_middleware(app, settings, metrics)
    _import_domain_errors()
    # A request is matched against the routes in this order, one by one (a few microseconds
    # each): the routers of the hot paths (lesson complete and heartbeat; catalog, course and
    # lesson pages; /auth/me) come first.
    app.include_router(learning_router, prefix=API_PREFIX)
    app.include_router(catalog_router, prefix=API_PREFIX)
    for identity_router in identity_routers:
        app.include_router(identity_router, prefix=API_PREFIX)
    app.include_router(assessment_router, prefix=API_PREFIX)
    app.include_router(notifications_router, prefix=API_PREFIX)
    app.include_router(certificates_router, prefix=API_PREFIX)
    app.include_router(media_router, prefix=API_PREFIX)
    app.include_router(video_router, prefix=API_PREFIX)
    app.include_router(video_root_router)
    app.include_router(community_router, prefix=API_PREFIX)
    app.include_router(ingest_router, prefix=API_PREFIX)
    app.include_router(insights_router, prefix=API_PREFIX)
    app.include_router(notifications_socket_router)
    app.include_router(chat_socket_router)
    app.include_router(service_router)
    app.include_router(storage_router)
    app.include_router(error_docs_router)
    app.include_router(audit_router, prefix=API_PREFIX)
    app.include_router(graphql_router(settings))
    install_admin(app)  # after the routes: `/admin/uploads` stays the API's
    # Last: what no route matched may be a page of the web app.
    app.router.default = WebAppFallback(settings.web_dist_dir or CHECKOUT_DIST, app.router.default)
    return app


def create_served_app() -> FastAPI:
    """The application `studyhall serve` runs: `create_app`'s, set aside from the garbage
    collector's walks once started (`core.memory`). Applications made in a process that makes
    many (tests, tools) are left as they are."""
    app = create_app()
    app.state.settle_after_startup = True
    return app


def _create_dispatcher(settings: Settings, database: Database, metrics: Metrics) -> OutboxDispatcher:
    return OutboxDispatcher(
        database.sessionmaker,
        handler_registry(),
        batch_size=settings.outbox_batch_size,
        max_attempts=settings.event_max_attempts,
        backoff_base=settings.outbox_backoff_base,
        backoff_initial=settings.event_backoff_initial_seconds,
        lease_seconds=settings.outbox_lease_seconds,
        poll_interval=settings.outbox_poll_interval,
        metrics=metrics,
    )


def _create_relay(settings: Settings, database: Database, broker: Broker) -> OutboxRelay:
    return OutboxRelay(
        database.sessionmaker,
        broker,
        batch_size=settings.outbox_batch_size,
        lease_seconds=settings.outbox_lease_seconds,
        poll_interval=settings.outbox_poll_interval,
    )


def _create_health_checker(
    settings: Settings,
    database: Database,
    redis: ConnectionPool | None,
    broker: Broker | None,
    storage: Storage,
) -> HealthChecker:
    checker = HealthChecker(version=__version__, timeout=settings.health_check_timeout)
    checker.add("database", database_probe(database.engine), required=True)
    checker.add("cache", redis_probe(redis) if redis is not None else None)
    checker.add("broker", broker.probe if broker is not None else None)
    checker.add("storage", storage.probe)
    return checker


def _install_middleware(app: FastAPI, settings: Settings, metrics: Metrics) -> None:
    """Each `add_middleware` wraps the ones added before, so a request meets them bottom-up:
    the client address from a trusted proxy, the request context (id, log, last-resort 500),
    CORS (so every error answer carries its headers), the body size limit, and the check for
    text the database cannot store."""
    app.add_middleware(StorableTextMiddleware, opaque_body_paths=UNLIMITED_BODY_PATHS)
    app.add_middleware(
        BodyLimitMiddleware, max_bytes=settings.max_request_body_bytes, unlimited_paths=UNLIMITED_BODY_PATHS
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID", "Retry-After", "ETag"],
        )
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    if settings.forwarded_allow_ips:
        # The one place proxy headers are read (`studyhall serve` turns uvicorn's own off).
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)


def _import_domain_errors() -> None:
    """Imports every domain's errors module, so the error catalog (`/docs/errors`) lists them
    all, including those of a domain no router uses yet."""
    for module in pkgutil.iter_modules(studyhall.__path__):
        name = f"studyhall.{module.name}.errors"
        if module.ispkg and importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
