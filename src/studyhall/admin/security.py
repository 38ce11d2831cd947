"""Signing in to the admin panel, its cookie session, and CSRF protection of its forms.

- Sign-in is `identity.service.login` (the API's: same password check, rate limits per IP and
  per email, failed attempts audited), in a unit of work of its own; only `admin` accounts
  keep the session it starts (anyone else's unit rolls back, no session is left behind).
- The cookie (`studyhall_admin`, path `/admin`, `Secure`, `HttpOnly`, `SameSite=Strict`) is
  signed with a key derived from `SECRET_KEY` and holds the user id, the sign-in's session
  id and the token generation, nothing secret. Every request re-checks them in one SELECT, as
  a bearer token is checked: a demoted, deactivated or deleted admin, a revoked session or a
  password change ends the panel session at once. An API bearer token means nothing here.
- Every state-changing request (POST, PUT, PATCH, DELETE) must carry the session's CSRF token,
  as the `csrf_token` form field or the `X-CSRF-Token` header; the panel's pages add it to
  their forms and requests (`templates/sqladmin/base.html`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from sqladmin.authentication import AuthenticationBackend
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from studyhall.analytics import audit
from studyhall.config import Settings
from studyhall.core.db import Database
from studyhall.core.errors import DomainError
from studyhall.core.ratelimit import RateLimiter
from studyhall.core.request_context import current_request
from studyhall.core.security import PasswordHasher, TokenCodec
from studyhall.identity import service as identity
from studyhall.identity.errors import InsufficientRole
from studyhall.identity.models import Role, User
from studyhall.identity.service import AuthConfig, ClientInfo

SESSION_COOKIE = "studyhall_admin"
SESSION_MAX_AGE = 8 * 3600
CSRF_FIELD = "csrf_token"
CSRF_HEADER = b"x-csrf-token"
_SESSION_KEY_LABEL = b"studyhall admin session"
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def session_key(secret_key: str) -> str:
    """The cookie signing key: derived from `SECRET_KEY`, so no other signature of the app can
    be replayed as an admin cookie."""
    return hmac.new(secret_key.encode(), _SESSION_KEY_LABEL, hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use), for the pages' forms."""
    token: str | None = request.session.get(CSRF_FIELD)
    if token is None:
        token = secrets.token_urlsafe(32)
        request.session[CSRF_FIELD] = token
    return token


@dataclass(frozen=True, slots=True)
class PanelServices:
    """What the panel's sign-in and views use of the application."""

    settings: Settings
    database: Database
    passwords: PasswordHasher
    tokens: TokenCodec
    rate_limiter: RateLimiter


def panel_services(request: Request) -> PanelServices:
    services: PanelServices = request.app.state.panel
    return services


def signed_in_admin(request: Request) -> User:
    """The admin `AdminAuth.authenticate` let in (views act as this user)."""
    user: User = request.state.admin_user
    return user


class AdminAuth(AuthenticationBackend):
    def __init__(self, settings: Settings) -> None:
        super().__init__(
            session_key(settings.secret_key),
            session_cookie=SESSION_COOKIE,
            path="/admin",
            max_age=SESSION_MAX_AGE,
            same_site="strict",
            https_only=True,
        )
        self.middlewares.append(Middleware(CSRFMiddleware))

    async def login(self, request: Request) -> bool:
        form = await request.form()
        email, password = str(form.get("username", "")), str(form.get("password", ""))
        services = panel_services(request)
        client = ClientInfo(ip=current_request().ip, user_agent=request.headers.get("user-agent"))
        try:
            session_facts = await _sign_in(services, email, password, client)
        except DomainError:
            return False
        request.session.update(session_facts)
        return True

    async def logout(self, request: Request) -> bool:
        facts = _session_facts(request)
        if facts is not None:
            async with panel_services(request).database.session_scope() as session:
                await identity.revoke_family(session, facts[1])
        request.session.clear()
        return True

    async def authenticate(self, request: Request) -> bool:
        facts = _session_facts(request)
        if facts is None:
            return False
        user_id, session_id, generation = facts
        async with panel_services(request).database.read_only_scope() as session:
            holder = await identity.user_with_session_state(session, user_id, session_id)
        if holder is None or not _may_use_panel(holder.user) or not holder.session_live:
            return False
        if holder.user.token_generation != generation:
            return False
        request.state.admin_user = holder.user
        return True


def _may_use_panel(user: User) -> bool:
    return user.role == Role.ADMIN and user.is_active and user.deleted_at is None


async def _sign_in(services: PanelServices, email: str, password: str, client: ClientInfo) -> dict[str, Any]:
    """The API's sign-in; its unit of work commits only for an admin (a failed attempt's
    audit entry is committed by `InvalidCredentials` itself)."""
    limiter, limit = services.rate_limiter, services.settings.rate_limit_login
    await limiter.hit("login-ip", limit, client.ip or "unknown")
    await limiter.hit("login-email", limit, identity.normalize_email(email))
    config = AuthConfig.from_settings(services.settings, services.passwords, services.tokens)
    async with services.database.session_scope() as session:
        issued = await identity.login(session, config, email=email, password=password, client=client)
        claims = services.tokens.decode(issued.access_token)
        user = await session.get(User, uuid.UUID(str(claims["sub"])))
        if user is None or not _may_use_panel(user):
            raise InsufficientRole("The admin panel is for admins")
        audit.record_user_change(session, audit.ADMIN_SIGNED_IN, user, user)
        return {
            "user_id": str(user.id),
            "session_id": str(claims["sid"]),
            "generation": user.token_generation,
        }


def _session_facts(request: Request) -> tuple[uuid.UUID, uuid.UUID, int] | None:
    try:
        return (
            uuid.UUID(request.session["user_id"]),
            uuid.UUID(request.session["session_id"]),
            int(request.session["generation"]),
        )
    except (KeyError, ValueError, TypeError):
        return None


class CSRFMiddleware:
    """Refuses a state-changing request without the session's CSRF token (`403`). Runs
    inside the session middleware; reads a form body to find the field, then hands the same
    bytes on to the panel."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _UNSAFE_METHODS:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        expected = scope.get("session", {}).get(CSRF_FIELD)
        supplied = _header(scope, CSRF_HEADER) or await _form_field(scope, body, CSRF_FIELD)
        if not expected or not supplied or not hmac.compare_digest(str(expected), supplied):
            await PlainTextResponse("CSRF token missing or invalid", status_code=403)(scope, receive, send)
            return
        await self.app(scope, _replay(body), send)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None


async def _form_field(scope: Scope, body: bytes, name: str) -> str | None:
    content_type = _header(scope, b"content-type") or ""
    if content_type.startswith("application/x-www-form-urlencoded"):
        values = parse_qs(body.decode("latin-1")).get(name)
        return values[0] if values else None
    if content_type.startswith("multipart/form-data"):
        form = await Request(scope, _replay(body)).form()
        value = form.get(name)
        return value if isinstance(value, str) else None
    return None
