"""The shared Redis connection (when `REDIS_URL` is set) and its health probe."""

from __future__ import annotations

from redis.asyncio import ConnectionPool, Redis

from studyhall.core.health import Probe

#: Short socket timeouts: a Redis outage must cost a request milliseconds, not seconds.
SOCKET_TIMEOUT_SECONDS = 0.5


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
