"""Who is asking, for records written deep inside a service: the current request's client
address, user agent and request id, set by `RequestContextMiddleware` for each request.

A context variable rather than a parameter: the audit log needs these facts in every
service that records an action, and threading them through every call would put HTTP into
the services' signatures. Outside a request (workers, the CLI, tests calling services) the
context is empty.
"""

from __future__ import annotations

import ipaddress
from contextvars import ContextVar, Token
from dataclasses import dataclass

from starlette.types import Scope

#: Longest user agent kept (the same bound as a session's `user_agent`).
USER_AGENT_MAX = 400


@dataclass(frozen=True, slots=True)
class RequestContext:
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


NO_REQUEST = RequestContext()
#: The request's ASGI scope and id; the context is read from them only when a record needs
#: it, so requests that record nothing (most) pay one `ContextVar.set`.
_current: ContextVar[tuple[Scope, str] | None] = ContextVar("studyhall_request", default=None)


def current_request() -> RequestContext:
    entered = _current.get()
    if entered is None:
        return NO_REQUEST
    scope, request_id = entered
    return RequestContext(ip=_client_ip(scope), user_agent=_user_agent(scope), request_id=request_id)


def _client_ip(scope: Scope) -> str | None:
    """The peer's address (a trusted proxy's forwarded one, `FORWARDED_ALLOW_IPS`, is
    already in the scope); None when it is not an IP address."""
    client = scope.get("client")
    host = client[0] if client else None
    try:
        return str(ipaddress.ip_address(host)) if host else None
    except ValueError:
        return None


def _user_agent(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"user-agent":
            agent: str = value.decode("latin-1")[:USER_AGENT_MAX]
            return agent
    return None


def enter_request(scope: Scope, request_id: str) -> Token[tuple[Scope, str] | None]:
    """Makes `scope` the current request; `leave_request` with the token restores the previous."""
    return _current.set((scope, request_id))


def leave_request(token: Token[tuple[Scope, str] | None]) -> None:
    _current.reset(token)
