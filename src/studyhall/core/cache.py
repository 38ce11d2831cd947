"""The shared Redis connection (when `REDIS_URL` is set), its health probe, and the response
cache: Redis when configured, an in-process LRU otherwise.

The cache holds bytes under keys grouped in namespaces (`"catalog"`). A write that changes
what a namespace's entries show invalidates the whole namespace: it bumps the namespace's
generation, and entries stored under an older generation are misses from then on. Entries
also expire `CACHE_TTL_SECONDS` after they were stored, which bounds how stale anything not
invalidated (counters) may get.

A reader takes the generation together with the entry (`lookup`) and stores what it built
under that generation (`store`): if a write invalidated the namespace meanwhile, the new
entry is already stale and never served. Writers invalidate inside their transaction
(`invalidate_on_commit`), so the next request sees the change, and once more after the commit,
for readers that read the database between those two moments.

Redis: one round trip per lookup (`MGET` of the generation and the entry); every API process
sees every invalidation. In-process: each process has its own entries and generations, so an
invalidation reaches only the process that made the write; other processes serve what they
hold until it expires (at most `CACHE_TTL_SECONDS`). That is the embedded mode's trade: one
process is the norm there; several processes behind one database need `REDIS_URL`.

`get_or_build` is the short way for a reader: the entry, or what `build` makes of it, stored;
concurrent misses of one process for the same key build it once (the others wait for it),
so an expensive answer (analytics) is not computed eight times by eight callers at once.
`store` takes a TTL of its own for entries that only expire (never invalidated).

The cache fails open: while Redis is unreachable, lookups miss and stores are skipped (the
outage is logged once per `FAIL_OPEN_SECONDS`), so a Redis outage costs speed, not answers.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import structlog
from redis.asyncio import ConnectionPool, Redis
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.core.health import Probe

logger = structlog.get_logger(__name__)

#: Short socket timeouts: a Redis outage must cost a request milliseconds, not seconds.
SOCKET_TIMEOUT_SECONDS = 0.5
#: After a Redis failure, skip Redis for this long instead of paying a timeout per request.
FAIL_OPEN_SECONDS = 5.0

#: `Session.info` key of the application's cache (see `Database.provide`).
CACHE_INFO_KEY = "studyhall.cache"
#: `Session.info` key of the namespaces a transaction changed (invalidated again after commit).
_CHANGED_INFO_KEY = "studyhall.cache.changed"


def redis_pool(url: str) -> ConnectionPool:
    return ConnectionPool.from_url(
        url,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
        socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
        health_check_interval=30,
    )


def redis_probe(pool: ConnectionPool) -> Probe:
    async def probe() -> None:
        client = Redis(connection_pool=pool)
        await client.ping()

    return probe


@dataclass(frozen=True, slots=True)
class Lookup:
    """An entry (None: a miss) and the generation to store a rebuilt entry under (None: do
    not store, the cache is off or unreachable)."""

    value: bytes | None
    generation: int | None


_MISS = Lookup(None, None)


Build = Callable[[], Awaitable[bytes]]


class SingleFlight:
    """One build at a time per key in this process; callers that come meanwhile get its result
    (or, if it failed or was cancelled, take their turn at building)."""

    def __init__(self) -> None:
        self._running: dict[tuple[str, str], asyncio.Future[bytes | None]] = {}

    async def run(self, key: tuple[str, str], build: Build) -> bytes:
        while (running := self._running.get(key)) is not None:
            value = await asyncio.shield(running)
            if value is not None:
                return value
        future: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        self._running[key] = future
        value = None
        try:
            value = await build()
            return value
        finally:
            del self._running[key]
            future.set_result(value)


class ResponseCache:
    """No cache at all (`CACHE_TTL_SECONDS=0`): every lookup misses. The base of the others."""

    async def lookup(self, namespace: str, key: str) -> Lookup:
        return _MISS

    async def store(
        self, namespace: str, key: str, value: bytes, generation: int | None, *, ttl: float | None = None
    ) -> None:
        """Keeps `value` for `ttl` seconds (the cache's own TTL when None)."""

    async def get_or_build(
        self, namespace: str, key: str, build: Build, *, ttl: float | None = None
    ) -> bytes:
        """The entry, or `build()`'s bytes stored under the generation of the lookup."""
        found = await self.lookup(namespace, key)
        if found.value is not None:
            return found.value
        if found.generation is None:  # no cache (or it is unreachable): nothing to share
            return await build()
        return await self._flights.run(
            (namespace, key), lambda: self._build_and_store(namespace, key, build, ttl)
        )

    async def _build_and_store(self, namespace: str, key: str, build: Build, ttl: float | None) -> bytes:
        found = await self.lookup(namespace, key)  # a flight that just landed may have stored it
        if found.value is not None:
            return found.value
        value = await build()
        await self.store(namespace, key, value, found.generation, ttl=ttl)
        return value

    @cached_property
    def _flights(self) -> SingleFlight:
        return SingleFlight()

    async def invalidate(self, namespace: str) -> None:
        return None

    def after_commit(self, session: AsyncSession) -> None:
        """`Database.after_commit` callback: invalidate again what the transaction changed."""
        for namespace in session.info.pop(_CHANGED_INFO_KEY, ()):
            self._invalidate_soon(namespace)

    def _invalidate_soon(self, namespace: str) -> None:
        return None

    async def aclose(self) -> None:
        return None


class MemoryCache(ResponseCache):
    """This process's LRU of at most `max_entries` entries, each kept `ttl` seconds."""

    def __init__(self, *, ttl: float, max_entries: int) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._generations: dict[str, int] = {}
        self._entries: OrderedDict[tuple[str, str], tuple[int, float, bytes]] = OrderedDict()

    async def lookup(self, namespace: str, key: str) -> Lookup:
        generation = self._generations.get(namespace, 0)
        entry = self._entries.get((namespace, key))
        if entry is None:
            return Lookup(None, generation)
        stored_generation, expires_at, value = entry
        if stored_generation != generation or expires_at <= time.monotonic():
            del self._entries[(namespace, key)]
            return Lookup(None, generation)
        self._entries.move_to_end((namespace, key))
        return Lookup(value, generation)

    async def store(
        self, namespace: str, key: str, value: bytes, generation: int | None, *, ttl: float | None = None
    ) -> None:
        if generation is None or generation != self._generations.get(namespace, 0):
            return  # invalidated while it was being built
        expires_at = time.monotonic() + (self.ttl if ttl is None else ttl)
        self._entries[(namespace, key)] = (generation, expires_at, value)
        self._entries.move_to_end((namespace, key))
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    async def invalidate(self, namespace: str) -> None:
        self._invalidate_soon(namespace)

    def _invalidate_soon(self, namespace: str) -> None:
        self._generations[namespace] = self._generations.get(namespace, 0) + 1


class RedisCache(ResponseCache):
    """Entries in Redis, shared by every API process; each namespace's generation is a Redis
    counter, and an entry is stored as `b"<generation>\\n<value>"` with a TTL."""

    def __init__(self, pool: ConnectionPool, *, ttl: float, prefix: str = "studyhall:cache") -> None:
        self._redis = Redis(connection_pool=pool)
        self.ttl_ms = max(1, int(ttl * 1000))
        self.prefix = prefix
        self._skip_until = 0.0
        self._pending: set[asyncio.Task[None]] = set()

    def _generation_key(self, namespace: str) -> str:
        return f"{self.prefix}:{namespace}:generation"

    def _entry_key(self, namespace: str, key: str) -> str:
        return f"{self.prefix}:{namespace}:{key}"

    async def lookup(self, namespace: str, key: str) -> Lookup:
        if time.monotonic() < self._skip_until:
            return _MISS
        try:
            generation, entry = await self._redis.mget(
                self._generation_key(namespace), self._entry_key(namespace, key)
            )
        except Exception as exc:
            self._fail_open("lookup", exc)
            return _MISS
        current = int(generation or 0)
        if entry is None:
            return Lookup(None, current)
        stored, _, value = (entry if isinstance(entry, bytes) else entry.encode()).partition(b"\n")
        return Lookup(value if int(stored) == current else None, current)

    async def store(
        self, namespace: str, key: str, value: bytes, generation: int | None, *, ttl: float | None = None
    ) -> None:
        if generation is None or time.monotonic() < self._skip_until:
            return
        ttl_ms = self.ttl_ms if ttl is None else max(1, int(ttl * 1000))
        try:
            await self._redis.set(self._entry_key(namespace, key), b"%d\n" % generation + value, px=ttl_ms)
        except Exception as exc:
            self._fail_open("store", exc)

    async def invalidate(self, namespace: str) -> None:
        try:
            await self._redis.incr(self._generation_key(namespace))
        except Exception as exc:
            # Entries of the old generation stay valid until they expire (the TTL bounds it).
            self._fail_open("invalidate", exc)

    def _invalidate_soon(self, namespace: str) -> None:
        task = asyncio.get_running_loop().create_task(self.invalidate(namespace))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def aclose(self) -> None:
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    def _fail_open(self, operation: str, exc: Exception) -> None:
        self._skip_until = time.monotonic() + FAIL_OPEN_SECONDS
        logger.warning(
            "cache_unavailable",
            operation=operation,
            error=type(exc).__name__,
            fail_open_seconds=FAIL_OPEN_SECONDS,
        )


def response_cache(*, ttl: float, max_entries: int, redis: ConnectionPool | None) -> ResponseCache:
    """Redis when a pool is given, else this process's LRU; no cache when `ttl` is 0."""
    if ttl <= 0:
        return ResponseCache()
    if redis is not None:
        return RedisCache(redis, ttl=ttl)
    return MemoryCache(ttl=ttl, max_entries=max_entries)


_NO_CACHE = ResponseCache()


def session_cache(session: AsyncSession) -> ResponseCache:
    """The application's cache, from a session of its session factory (no cache for sessions
    made elsewhere, e.g. by tools writing to the database directly)."""
    cache: Any = session.info.get(CACHE_INFO_KEY)
    return cache if isinstance(cache, ResponseCache) else _NO_CACHE


async def invalidate_on_commit(session: AsyncSession, namespace: str) -> None:
    """What a write that changes `namespace`'s entries calls: invalidate now (the next request
    sees the change) and again after its transaction commits (see the module docstring)."""
    await session_cache(session).invalidate(namespace)
    changed: set[str] = session.info.setdefault(_CHANGED_INFO_KEY, set())
    changed.add(namespace)
