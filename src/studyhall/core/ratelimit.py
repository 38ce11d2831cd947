"""Rate limits on the `limits` library: in process memory by default, Redis with `REDIS_URL`.

Limits are strings such as `"10/minute"` (several: `"10/minute;100/hour"`). A limit is
checked against one or more keys (an IP, an email); exceeding any of them raises
`RateLimited` (429 with `Retry-After`).

Windows slide, counted by the sliding-window counter: two counters per key (this fixed window
and the last), the last one weighted by how much of it still lies in the sliding window. A
moving window logs every request instead: a `20000/day` limit keeps up to 20,000 timestamps
per user in Redis, and `limits`' in-memory moving window hands every key to a thread on
every request to expire old entries. When the Redis storage fails the request is let
through and the outage is logged: rate limiting must never take the API down.
"""

from __future__ import annotations

import math
import time
from functools import lru_cache

import structlog
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from redis.asyncio import ConnectionPool

from studyhall.core.errors import RateLimited

logger = structlog.get_logger(__name__)

#: After a storage failure, skip the storage for this long instead of paying a timeout on
#: every request (and logging each one).
FAIL_OPEN_SECONDS = 5.0


@lru_cache(maxsize=64)
def parse_limits(spec: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(spec))


class RateLimiter:
    """Sliding-window limits keyed by (scope, identifier), shared by every process via Redis."""

    def __init__(self, storage: Storage, *, enabled: bool = True) -> None:
        self.storage = storage
        self.enabled = enabled
        self._strategy = SlidingWindowCounterRateLimiter(storage)
        self._skip_until = 0.0

    @classmethod
    def in_memory(cls, *, enabled: bool = True) -> RateLimiter:
        return cls(MemoryStorage(), enabled=enabled)

    @classmethod
    def on_redis(cls, url: str, pool: ConnectionPool, *, enabled: bool = True) -> RateLimiter:
        storage = RedisStorage(
            "async+" + url,
            implementation="redispy",
            key_prefix="studyhall:ratelimit",
            connection_pool=pool,  # type: ignore[arg-type]
        )
        return cls(storage, enabled=enabled)

    async def hit(self, scope: str, spec: str, *identifiers: str) -> None:
        """Count one request against `spec` for each identifier; raise `RateLimited` when
        any of them is over its limit."""
        if not self.enabled or time.monotonic() < self._skip_until:
            return
        try:
            for identifier in identifiers:
                for item in parse_limits(spec):
                    if not await self._strategy.hit(item, scope, identifier):
                        stats = await self._strategy.get_window_stats(item, scope, identifier)
                        retry_after = math.ceil(stats.reset_time - time.time())
                        raise RateLimited(retry_after=max(1, retry_after))
        except RateLimited:
            raise
        except Exception as exc:
            self._skip_until = time.monotonic() + FAIL_OPEN_SECONDS
            logger.warning(
                "rate_limit_storage_unavailable",
                scope=scope,
                error=type(exc).__name__,
                fail_open_seconds=FAIL_OPEN_SECONDS,
            )

    async def reset(self) -> None:
        await self.storage.reset()
