"""Request-scoped dependencies shared by every router.

Every request goes through these, so they are kept cheap: `async def` (FastAPI runs a plain
`def` dependency in a worker thread, a thread hop per call) and flat (each layer of
sub-dependencies is solved per request), reading `request.app.state` directly.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.config import Settings
from studyhall.core.db import Database
from studyhall.core.storage import Storage

# Dependencies are `async def` even when they do not await: FastAPI runs a plain function in
# its thread pool, a hop that costs more than the function itself.


async def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_storage(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


def client_ip(request: Request) -> str | None:
    """The client's IP address: the peer's, or the one a trusted proxy forwarded
    (`FORWARDED_ALLOW_IPS`). None when it is not an IP address (a Unix socket peer, or a
    proxy forwarding something else), so nothing unbounded reaches rate-limit keys or the
    database."""
    host = request.client.host if request.client else None
    try:
        return str(ipaddress.ip_address(host)) if host else None
    except ValueError:
        return None


#: Safe methods run read-only unless their endpoint is marked `writes_on_read`.
READ_METHODS = frozenset({"GET", "HEAD"})
_WRITES_ON_READ = "__studyhall_writes_on_read__"

EndpointT = TypeVar("EndpointT", bound=Callable[..., Any])


def writes_on_read(endpoint: EndpointT) -> EndpointT:
    """Mark a GET endpoint that writes (an OAuth callback, say): it gets a transaction like
    any other write. Without the mark a GET that writes fails (`WriteInReadOnlySession`)."""
    setattr(endpoint, _WRITES_ON_READ, True)
    return endpoint


def is_read_only(request: Request) -> bool:
    return request.method in READ_METHODS and not getattr(
        request.scope.get("endpoint"), _WRITES_ON_READ, False
    )


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One unit of work per request. A write is one transaction, committed when the handler
    returns, before the response is sent (scope="function"), rolled back when it raises. A
    read (GET, HEAD) runs without a transaction: no BEGIN and COMMIT round trips, and on
    SQLite no write lock (`core.db.ReadOnlySession`)."""
    database: Database = request.app.state.database
    scope = database.read_only_scope() if is_read_only(request) else database.session_scope()
    async with scope as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
StorageDep = Annotated[Storage, Depends(get_storage)]
