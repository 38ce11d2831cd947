"""The web app's harness: the build (web/dist), a real `studyhall serve` on each backend, and
the system's Chromium driven by Playwright."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from studyhall import web_build
from tests.conftest import server_unavailable
from tests.servers import CHROMIUM_ARGS, PostgresServer, ServerUnavailable, StudyHallServer, chromium_binary

WEB = Path(__file__).resolve().parents[2] / "web"
#: Screenshots of the main pages, kept as CI artefacts (not committed).
SCREENSHOTS = WEB / "e2e" / "screenshots"
_databases = itertools.count(1)
#: Background work (events, certificates) and two busy cores: assertions wait this long.
TIMEOUT_MS = 20_000
expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="session")
def web_dist() -> Path:
    """The production build, rebuilt when the sources changed (`npm ci` first if needed)."""
    try:
        web_build.build(WEB)
    except web_build.WebBuildError as exc:
        server_unavailable(f"the web app could not be built: {exc}")
    return WEB / "dist"


# Per module, not per session: while Playwright's sync API is open, its event loop counts as
# running in this thread, and an async test that follows in the same worker could not start.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    try:
        executable = chromium_binary()
    except ServerUnavailable as exc:
        server_unavailable(f"browser tests need Chromium: {exc}")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=list(CHROMIUM_ARGS))
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


@pytest.fixture
def studyhall_server(
    backend: str, web_dist: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[StudyHallServer]:
    """A fresh database of the test's backend, and `studyhall serve` on it."""
    server = StudyHallServer(fresh_database(backend, tmp_path, request), tmp_path / "var").start()
    yield server
    server.stop()


def fresh_database(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The URL of a new, empty database of the test's backend."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'e2e.db'}"
    postgres: PostgresServer = request.getfixturevalue("postgres_server")
    return postgres.create_database(f"studyhall_e2e_{next(_databases)}")


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
