"""Request-scoped dependencies shared by every router.

Every request goes through these, so they are kept cheap: `async def` (FastAPI runs a plain
`def` dependency in a worker thread, a thread hop per call) and flat (each layer of
sub-dependencies is solved per request), reading `request.app.state` directly.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from typing import Annotated

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


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the handler returns, before the
    response is sent (scope="function"), rolled back when it raises."""
    database: Database = request.app.state.database
    async with database.session_scope() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
StorageDep = Annotated[Storage, Depends(get_storage)]
