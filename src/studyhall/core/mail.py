"""Outgoing mail: Jinja2 templates (text + HTML), written to files or sent over SMTP.

The embedded default writes each message to `DATA_DIR/mail/<time>-<id>.eml` and logs its
recipient, subject and file (never its body, which may carry a token). With `SMTP_URL`
(`smtp://user:pass@host:port`, `smtps://` for implicit TLS) messages go out with
aiosmtplib. Mail is sent from outbox event handlers after the request committed, never
inside a request; handlers reach the mailer with `mail_service(session)`.
"""

from __future__ import annotations

import abc
import asyncio
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import aiosmtplib
import structlog
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.config import Settings
from studyhall.core.clock import utcnow

logger = structlog.get_logger(__name__)

#: The key under which every session of the application carries its `MailService`.
MAIL_SERVICE_KEY = "studyhall.mail"  # see `Database.provide`


class MailTransport(abc.ABC):
    @abc.abstractmethod
    async def deliver(self, message: EmailMessage) -> None: ...


class FileTransport(MailTransport):
    """Writes `.eml` files: the embedded default, readable by people and by tests."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def deliver(self, message: EmailMessage) -> None:
        stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
        path = self.directory / f"{stamp}-{uuid.uuid4().hex[:12]}.eml"
        data = message.as_bytes()

        def write() -> None:
            self.directory.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

        await asyncio.to_thread(write)
        logger.info("mail_written", to=message["To"], subject=message["Subject"], path=str(path))


@dataclass(frozen=True)
class SmtpConfig:
    hostname: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig:
        parts = urlsplit(url)
        if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
            raise ValueError("SMTP_URL must look like smtp://user:pass@host:port or smtps://...")
        use_tls = parts.scheme == "smtps"
        return cls(
            hostname=parts.hostname,
            port=parts.port or (465 if use_tls else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=use_tls,
        )


class SmtpTransport(MailTransport):
    """Sends over SMTP; on plain `smtp://` STARTTLS is used when the server offers it."""

    def __init__(self, config: SmtpConfig, timeout: float = 30.0) -> None:
        self.config = config
        self.timeout = timeout

    async def deliver(self, message: EmailMessage) -> None:
        await aiosmtplib.send(
            message,
            hostname=self.config.hostname,
            port=self.config.port,
            username=self.config.username,
            password=self.config.password,
            use_tls=self.config.use_tls,
            timeout=self.timeout,
        )
        logger.info("mail_sent", to=message["To"], subject=message["Subject"], host=self.config.hostname)


class MailService:
    """Renders a template into a multipart message and hands it to the transport."""

    def __init__(self, transport: MailTransport, *, sender: str, app_url: str) -> None:
        self.transport = transport
        self.sender = sender
        self.app_url = app_url.rstrip("/")
        self.templates = Environment(
            loader=PackageLoader("studyhall", "templates/mail"),
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
            undefined=StrictUndefined,
            enable_async=False,
        )

    def link(self, path: str) -> str:
        """An absolute link into the web app (`APP_URL`)."""
        return f"{self.app_url}/{path.lstrip('/')}"

    def render(self, template: str, to: str, context: dict[str, Any], message_id: str) -> EmailMessage:
        values = {"app_url": self.app_url, **context}
        subject = self.templates.get_template(f"{template}.subject.txt").render(values)
        subject = " ".join(subject.split())  # one line, whatever the template data holds
        text = self.templates.get_template(f"{template}.txt").render(values)
        html = self.templates.get_template(f"{template}.html").render(values)
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = f"<{message_id}@studyhall>"
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        return message

    async def send(self, template: str, to: str, context: dict[str, Any], *, message_id: str) -> None:
        """`message_id` should be stable per logical message (e.g. the event id), so a
        repeated delivery can be recognised by the receiving side."""
        await self.transport.deliver(self.render(template, to, context, message_id))


def mail_service_from_settings(settings: Settings) -> MailService:
    transport: MailTransport = (
        SmtpTransport(SmtpConfig.from_url(settings.smtp_url))
        if settings.smtp_url
        else FileTransport(settings.mail_dir)
    )
    return MailService(transport, sender=settings.mail_from, app_url=settings.app_url)


def mail_service(session: AsyncSession) -> MailService:
    """The application's mail service, from a session of its session factory."""
    service: MailService = session.info[MAIL_SERVICE_KEY]
    return service
