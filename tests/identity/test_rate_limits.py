"""Rate limits: per IP and per email, in memory and on a real Redis, failing open."""

from __future__ import annotations

import logging
import time

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from redis.asyncio import Redis

from studyhall.config import Settings
from studyhall.core.ratelimit import RateLimiter
from tests.conftest import server_unavailable
from tests.factories import API, PASSWORD, AppFactory, assert_problem, client_for, register
from tests.servers import RedisServer, ServerUnavailable

TIGHT = {
    "rate_limit_login": "2/minute",
    "rate_limit_register": "2/minute",
    "rate_limit_password_reset": "2/minute",
}


async def attempt_login(client: httpx.AsyncClient, email: str) -> httpx.Response:
    return await client.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD})


def assert_limited(response: httpx.Response) -> None:
    assert_problem(response, 429, "rate_limited")
    assert 1 <= int(response.headers["retry-after"]) <= 60


async def test_login_is_limited_per_ip(make_app: AppFactory) -> None:
    app = await make_app(**TIGHT)
    async with client_for(app, ip="10.0.0.1") as client, client_for(app, ip="10.0.0.2") as elsewhere:
        assert (await attempt_login(client, "a@example.com")).status_code == 401
        assert (await attempt_login(client, "b@example.com")).status_code == 401
        assert_limited(await attempt_login(client, "c@example.com"))
        # Another address is not affected.
        assert (await attempt_login(elsewhere, "d@example.com")).status_code == 401


async def test_login_is_limited_per_email_across_ips(make_app: AppFactory) -> None:
    app = await make_app(**TIGHT)
    clients = [client_for(app, ip=f"10.0.1.{n}") for n in range(3)]
    try:
        assert (await attempt_login(clients[0], "Victim@example.com")).status_code == 401
        assert (await attempt_login(clients[1], "victim@example.com")).status_code == 401
        assert_limited(await attempt_login(clients[2], "VICTIM@example.com"))
        token_form = await clients[2].post(
            f"{API}/auth/token", data={"username": "victim@example.com", "password": PASSWORD}
        )
        assert_limited(token_form)
    finally:
        for client in clients:
            await client.aclose()


async def test_register_and_password_reset_are_limited_per_ip(make_app: AppFactory) -> None:
    app = await make_app(**TIGHT)
    async with client_for(app) as client:
        await register(client, "r1@example.com")
        await register(client, "r2@example.com")
        limited = await client.post(
            f"{API}/auth/register", json={"email": "r3@example.com", "password": PASSWORD, "full_name": "R"}
        )
        assert_limited(limited)
        for _ in range(2):
            response = await client.post(
                f"{API}/auth/password-reset/request", json={"email": "r1@example.com"}
            )
            assert response.status_code == 202
        assert_limited(
            await client.post(f"{API}/auth/password-reset/request", json={"email": "r1@example.com"})
        )


async def test_limits_can_be_switched_off(make_app: AppFactory) -> None:
    app = await make_app(rate_limit_enabled=False, rate_limit_login="1/minute")
    async with client_for(app) as client:
        for _ in range(3):
            assert (await attempt_login(client, "x@example.com")).status_code == 401


async def test_limits_live_in_redis_and_are_shared_between_processes(
    make_app: AppFactory, redis_server: RedisServer
) -> None:
    redis = Redis.from_url(redis_server.url)
    await redis.flushdb()
    first = await make_app(redis_url=redis_server.url, **TIGHT)
    second = await make_app(redis_url=redis_server.url, **TIGHT)  # another API process
    assert first.state.rate_limiter is not second.state.rate_limiter
    async with client_for(first) as one, client_for(second) as two:
        assert (await attempt_login(one, "shared@example.com")).status_code == 401
        assert (await attempt_login(two, "shared@example.com")).status_code == 401
        assert_limited(await attempt_login(one, "shared@example.com"))
    keys = [key.decode() async for key in redis.scan_iter("studyhall:ratelimit*")]
    assert keys, "the counters are in Redis"
    await redis.flushdb()
    await redis.aclose()


async def test_health_reports_the_cache_when_redis_is_configured(
    make_app: AppFactory, redis_server: RedisServer
) -> None:
    app = await make_app(redis_url=redis_server.url)
    async with client_for(app) as client:
        cache = (await client.get("/health")).json()["checks"]["cache"]
    assert cache["status"] == "ok" and cache["latency_ms"] is not None


async def test_redis_outage_fails_open_and_shows_in_health(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    try:
        server = RedisServer().start()
    except ServerUnavailable as exc:
        server_unavailable(f"Redis tests need a local server: {exc}")
    try:
        app = await make_app(redis_url=server.url, rate_limit_login="1/minute")
        logging.getLogger().addHandler(caplog.handler)  # create_app reset the root handlers
        async with client_for(app) as client:
            await register(client, "open@example.com")
            assert (await attempt_login(client, "open@example.com")).status_code == 200
            assert_limited(await attempt_login(client, "open@example.com"))
            server.stop()
            with caplog.at_level(logging.WARNING):
                for _ in range(3):  # served, and not limited while the counters are unreachable
                    assert (await attempt_login(client, "open@example.com")).status_code == 200
            assert "rate_limit_storage_unavailable" in "\n".join(str(r.msg) for r in caplog.records)
            health = await client.get("/health")
            assert health.status_code == 200
            assert health.json()["status"] == "degraded"
            assert health.json()["checks"]["cache"]["status"] == "down"
    finally:
        server.remove()


async def test_rate_limiter_reports_retry_after_from_the_window() -> None:
    """The sliding-window counter lets the next request through once the current (clock
    aligned) hour ends: the last hour's one request then weighs less than one."""
    limiter = RateLimiter.in_memory()
    await limiter.hit("scope", "1/hour", "key")
    with pytest.raises(Exception, match="Too many requests") as caught:
        await limiter.hit("scope", "1/hour", "key")
    retry_after = int(getattr(caught.value, "headers", {})["Retry-After"])
    until_the_hour_ends = 3600 - time.time() % 3600
    assert abs(retry_after - until_the_hour_ends) <= 2
    with pytest.raises(Exception, match="Too many requests"):
        await limiter.hit("scope", "1/hour", "key")  # refused requests do not reset anything
    await limiter.hit("scope", "1/hour", "other-key")  # keys are independent


async def test_a_burst_at_the_end_of_a_window_still_counts_early_in_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Windows slide: a fixed window would forget the burst at the minute's turn."""
    clock = [60.0 * 1_000_000 + 59]  # the last second of a minute
    monkeypatch.setattr(time, "time", lambda: clock[0])
    limiter = RateLimiter.in_memory()
    for _ in range(10):
        await limiter.hit("scope", "10/minute", "key")

    clock[0] += 4  # 3 s into the next minute the burst weighs 57/60 of 10: one more fits
    await limiter.hit("scope", "10/minute", "key")
    with pytest.raises(Exception, match="Too many requests"):
        await limiter.hit("scope", "10/minute", "key")  # a fixed window would take 9 more
    clock[0] += 30  # 33 s in, it weighs 27/60 of 10 (4.5): 5 more fit
    for _ in range(5):
        await limiter.hit("scope", "10/minute", "key")
    with pytest.raises(Exception, match="Too many requests"):
        await limiter.hit("scope", "10/minute", "key")


async def test_unused_app_fixture_keeps_default_generous_limits(app: FastAPI) -> None:
    assert app.state.settings.rate_limit_enabled is True
    assert app.state.settings.rate_limit_login == "1000/minute"


@pytest.mark.parametrize("value", ["ten per minute", "10/fortnight", ""])
def test_limit_settings_are_validated(value: str) -> None:
    with pytest.raises(ValidationError, match="rate limit"):
        Settings(rate_limit_login=value)
    assert Settings(rate_limit_login="10/minute;100/hour").rate_limit_login == "10/minute;100/hour"
