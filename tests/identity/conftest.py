"""Identity fixtures and helpers: apps with custom settings, clients from other addresses,
mail readers and a real SMTP server."""

from __future__ import annotations

import email
import email.policy
import re
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI

from studyhall.main import create_app
from tests.conftest import empty_tables, make_settings
from tests.servers import free_port

AppFactory = Callable[..., Awaitable[FastAPI]]


@pytest.fixture
async def make_app(database_url: str, tmp_path: Path) -> AsyncIterator[AppFactory]:
    """Builds apps on the test database with setting overrides; tables emptied afterwards."""
    apps: list[FastAPI] = []
    async with AsyncExitStack() as stack:

        async def factory(**overrides: Any) -> FastAPI:
            data_dir = overrides.pop("data_dir", tmp_path / f"var{len(apps)}")
            application = create_app(make_settings(database_url, data_dir, **overrides))
            await stack.enter_async_context(application.router.lifespan_context(application))
            apps.append(application)
            return application

        try:
            yield factory
        finally:
            if apps:
                await empty_tables(apps[0].state.database.engine)


def client_for(app: FastAPI, ip: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(ip, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def parse_mail(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def mails_in(directory: Path) -> list[EmailMessage]:
    """The messages the embedded mailer wrote, oldest first."""
    if not directory.exists():
        return []
    return [parse_mail(path.read_bytes()) for path in sorted(directory.glob("*.eml"))]


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def html_of(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def token_in(message: EmailMessage, page: str) -> str:
    """The token of the `{APP_URL}/<page>?token=...` link in the message."""
    match = re.search(rf"/{page}\?token=([A-Za-z0-9_\-]+)", text_of(message))
    assert match, f"no {page} link in: {text_of(message)}"
    return match.group(1)


@dataclass
class SmtpSink:
    """Collects what a real SMTP server (aiosmtpd) received."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append(parse_mail(envelope.original_content or envelope.content))
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
            self.envelopes.clear()


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpSink]:
    sink = SmtpSink(port=free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    yield sink
    controller.stop()


@pytest.fixture
def smtp_sink(smtp_server: SmtpSink) -> SmtpSink:
    smtp_server.clear()
    return smtp_server
