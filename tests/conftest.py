"""Test harness: every database test runs on SQLite and on a real PostgreSQL.

The PostgreSQL server is started by the harness (see servers.py). Outside CI a missing
binary skips those tests loudly; with CI=true it fails the run.

Test files run in parallel worker processes (pytest-xdist, see pytest_xdist_auto_num_workers),
each with its own servers and databases. Every process collects the tests itself, so test ids
must not vary between processes: no uuid4(), random or time values in parametrize ids.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from studyhall.config import Settings
from studyhall.core.clock import use_clock
from studyhall.core.migrate import upgrade
from studyhall.main import create_app
from studyhall.models import metadata
from tests.factories import AppFactory, FakeClock, SmtpSink
from tests.servers import (
    IN_CI,
    PostgresServer,
    RabbitMQServer,
    RedisServer,
    SeaweedServer,
    ServerUnavailable,
    free_port,
)
from tests.transport import EventTransport

BACKENDS = ("sqlite", "postgresql")
_buckets = itertools.count(1)
TEST_SECRET = "test-secret-key-that-is-long-enough-for-hs256-0123456789"


#: Most test processes a run starts: each one boots its own servers (PostgreSQL, Redis,
#: RabbitMQ) and databases, so more than a few mostly cost memory.
MAX_WORKERS = 4


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto` (pyproject's addopts): one worker process per core, up to MAX_WORKERS, when
    the run spans several test files; a run of one file (or of tests in one file) stays in
    this process, where starting workers and their servers would cost more than it saves.
    PYTEST_XDIST_AUTO_NUM_WORKERS overrides both; `-n 0` turns distribution off."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # pytest-xdist reads it
    targets = {Path(arg.split("::")[0]) for arg in config.args}
    if len(targets) == 1 and next(iter(targets)).is_file():
        return 0
    return max(1, min(len(os.sched_getaffinity(0)), MAX_WORKERS))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgresql_only: run only on the PostgreSQL backend")
    config.addinivalue_line("markers", "sqlite_only: run only on the SQLite backend")


#: Fixtures of tests that start processes taking seconds each (relays and workers, a
#: `studyhall serve` for the browser, npm): such a test weighs as much as this many others
#: when test files are ordered.
PROCESS_FIXTURES = {"event_transport", "rabbitmq_server", "studyhall_server", "node_modules"}
PROCESS_TEST_WEIGHT = 30


def heaviest_files_first(items: list[pytest.Item]) -> None:
    """Test files in order of their weight, heaviest first, each file's tests in their own
    order. pytest-xdist hands out whole files in this order, so the last files to start are
    short ones and no worker is left running a long file alone at the end."""
    weights: dict[Path, int] = {}
    for item in items:
        heavy = not PROCESS_FIXTURES.isdisjoint(getattr(item, "fixturenames", ()))
        weights[item.path] = weights.get(item.path, 0) + (PROCESS_TEST_WEIGHT if heavy else 1)
    first_seen = {path: index for index, path in enumerate(weights)}
    items.sort(key=lambda item: (-weights[item.path], first_seen[item.path]))


@pytest.hookimpl(trylast=True)  # after pytest groups the tests by backend
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Backend-specific tests are deselected on the other backend (not skipped); files are
    ordered for parallel runs (heaviest_files_first)."""
    keep, drop = [], []
    for item in items:
        backend = getattr(item, "callspec", None) and item.callspec.params.get("backend")
        if (backend == "sqlite" and item.get_closest_marker("postgresql_only")) or (
            backend == "postgresql" and item.get_closest_marker("sqlite_only")
        ):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    heaviest_files_first(items)


def server_unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: a missing server is a failure)")
    warnings.warn(f"SKIPPING: {reason}", stacklevel=2)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    try:
        server = PostgresServer().start()
    except ServerUnavailable as exc:
        server_unavailable(f"PostgreSQL tests need a local server: {exc}")
    yield server
    server.remove()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    try:
        server = RedisServer().start()
    except ServerUnavailable as exc:
        server_unavailable(f"Redis tests need a local server: {exc}")
    yield server
    server.remove()


@pytest.fixture(scope="session")
def rabbitmq_server() -> Iterator[RabbitMQServer]:
    """One RabbitMQ node for the session (it takes seconds to boot); see tests/transport.py."""
    try:
        server = RabbitMQServer().start()
    except ServerUnavailable as exc:
        server_unavailable(f"broker tests need RabbitMQ: {exc}")
    yield server
    server.remove()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[SeaweedServer]:
    """One SeaweedFS S3 server for the session; each test takes a bucket of its own."""
    try:
        server = SeaweedServer().start()
    except ServerUnavailable as exc:
        server_unavailable(f"S3 tests need SeaweedFS: {exc}")
    server.create_bucket("studyhall-warmup")  # waits until the server answers
    yield server
    server.remove()


@pytest.fixture
def s3_bucket(s3_server: SeaweedServer) -> str:
    """A new, empty bucket on the session's S3 server."""
    return s3_server.create_bucket(f"studyhall-{next(_buckets)}")


@pytest.fixture
def s3_settings(s3_server: SeaweedServer, s3_bucket: str) -> dict[str, object]:
    """Setting overrides that store files in the test's bucket, under a prefix."""
    return s3_server.settings(s3_bucket, prefix="files")


@pytest.fixture
def event_transport(
    database_url: str, rabbitmq_server: RabbitMQServer, tmp_path: Path
) -> Iterator[EventTransport]:
    """Relays and workers (subprocesses) on the test database and the session's broker, in
    a namespace of their own; see tests/transport.py."""
    data_dir = tmp_path / "var"
    data_dir.mkdir(parents=True, exist_ok=True)
    transport = EventTransport(database_url, rabbitmq_server.url, data_dir)
    yield transport
    transport.stop_all()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def _migrated_databases() -> dict[str, str]:
    """The session's migrated database of each backend, by backend name."""
    return {}


@pytest.fixture(scope="session")
async def database_url(
    backend: str,
    _migrated_databases: dict[str, str],
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> str:
    """A migrated database shared by the tests of one backend; emptied after each test.

    Made and migrated once per backend and session: a run that alternates the backends
    (pytest-xdist hands each worker whole modules, both backends of one, then the next)
    comes back to the same database instead of migrating a new one."""
    if backend not in _migrated_databases:
        if backend == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sqlite') / 'studyhall.db'}"
        else:
            server: PostgresServer = request.getfixturevalue("postgres_server")
            url = server.create_database("studyhall_test")
        await upgrade(url)
        _migrated_databases[backend] = url
    return _migrated_databases[backend]


_own_databases = itertools.count(1)


async def database_of_its_own(request: pytest.FixtureRequest, backend: str, directory: Path) -> str:
    """A new migrated database of `backend` (its SQLite file in `directory`), for a module
    fixture whose rows must outlive the tests that empty the shared database (`database_url`)."""
    name = f"studyhall_own_{next(_own_databases)}"
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{directory / f'{name}.db'}"
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        url = server.create_database(name)
    await upgrade(url)
    return url


def make_settings(database_url: str, data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "test",
        "secret_key": TEST_SECRET,
        "database_url": database_url,
        "data_dir": data_dir,
        "outbox_dispatcher_enabled": False,
        "log_json": True,
        "log_level": "INFO",
        "password_hash_time_cost": 1,
        "password_hash_memory_cost": 1024,
        # Limits stay on, generous enough that no suite trips them by accident; tests of the
        # limits themselves pass tight ones.
        "rate_limit_login": "1000/minute",
        "rate_limit_register": "1000/minute",
        "rate_limit_password_reset": "1000/minute",
        "rate_limit_email_verification": "1000/minute",
        "rate_limit_certificate_verify": "1000/minute",
        "rate_limit_posts": "1000/minute",
        "rate_limit_comments": "1000/minute",
        # In process, the checkout's web build (once the browser tests made it) would answer
        # unknown paths; tests of the web app's serving pass their own build.
        "web_dist_dir": data_dir / "no-web-build",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path / "var")


async def empty_tables(engine: AsyncEngine) -> None:
    """Deletes every row, children before parents. DELETE rather than TRUNCATE on PostgreSQL
    too: a test leaves a few rows, which DELETE removes in milliseconds, while TRUNCATE gives
    every table and index new files (half a second a test). No table has a sequence to reset."""
    async with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            await conn.execute(table.delete())


@pytest.fixture
async def app(settings: Settings, request: pytest.FixtureRequest) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        try:
            yield application
        finally:
            if "event_transport" in request.fixturenames:  # its processes write to the tables
                request.getfixturevalue("event_transport").stop_all()
            await empty_tables(application.state.database.engine)


@pytest.fixture
def clock() -> Iterator[FakeClock]:
    """Time stands still until the test moves it (`clock.advance(minutes=5)`), for the whole
    application: deadlines, column defaults, token expiry, the outbox."""
    fake = FakeClock()
    with use_clock(fake):
        yield fake


@contextlib.asynccontextmanager
async def client_of(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client calling `app` in process."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(app) as http:
        yield http


@contextlib.asynccontextmanager
async def apps_on(database_url: str, data_dir: Path, **defaults: Any) -> AsyncIterator[AppFactory]:
    """Builds apps (API processes) on the test database, each with `defaults` and its own
    setting overrides, each in its own data directory; tables emptied afterwards."""
    apps: list[FastAPI] = []
    async with AsyncExitStack() as stack:

        async def factory(**overrides: Any) -> FastAPI:
            directory = overrides.pop("data_dir", data_dir / f"var{len(apps)}")
            application = create_app(make_settings(database_url, directory, **{**defaults, **overrides}))
            await stack.enter_async_context(application.router.lifespan_context(application))
            apps.append(application)
            return application

        try:
            yield factory
        finally:
            if apps:
                await empty_tables(apps[0].state.database.engine)


@pytest.fixture
async def make_app(database_url: str, tmp_path: Path) -> AsyncIterator[AppFactory]:
    """Builds apps on the test database with setting overrides; tables emptied afterwards."""
    async with apps_on(database_url, tmp_path) as factory:
        yield factory


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpSink]:
    """A real SMTP server (aiosmtpd) in the test process, for the whole session."""
    sink = SmtpSink(port=free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    yield sink
    controller.stop()


@pytest.fixture
def smtp_sink(smtp_server: SmtpSink) -> SmtpSink:
    """The SMTP server, emptied of earlier tests' messages."""
    smtp_server.clear()
    return smtp_server


#: The system browser of the browser tests (Debian `chromium`); none is ever downloaded.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Chromium driven by Playwright, headless and offline-minded; missing outside CI skips."""
    from playwright.async_api import async_playwright

    if not CHROMIUM.exists():
        server_unavailable(f"browser tests need Chromium at {CHROMIUM} (Debian package `chromium`)")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()
