"""The client address behind a reverse proxy: `X-Forwarded-For` counts only from a peer listed
in FORWARDED_ALLOW_IPS, for the per-IP rate limits and for the IP recorded on sessions."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import select
from typer.testing import CliRunner

from studyhall.cli import app as cli
from studyhall.config import Settings
from studyhall.identity.models import AuthSession
from tests.factories import API, PASSWORD, AppFactory, bearer, client_for, register
from tests.identity.test_rate_limits import assert_limited, attempt_login

PROXY = "10.0.0.5"
STRANGER = "10.0.0.9"


def forwarded(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


async def login_from(client: httpx.AsyncClient, email: str, forwarded_for: str) -> httpx.Response:
    return await client.post(
        f"{API}/auth/login", json={"email": email, "password": PASSWORD}, headers=forwarded(forwarded_for)
    )


async def session_ips(app: FastAPI, client: httpx.AsyncClient, token: str) -> tuple[list[Any], list[Any]]:
    """The IPs `GET /auth/sessions` shows and the ones stored."""
    listed = await client.get(f"{API}/auth/sessions", headers=bearer(token))
    assert listed.status_code == 200, listed.text
    async with app.state.database.sessionmaker() as session:
        stored = list((await session.scalars(select(AuthSession.ip))).all())
    return [item["ip"] for item in listed.json()["items"]], stored


async def test_trusted_proxy_gives_each_forwarded_client_its_own_bucket(make_app: AppFactory) -> None:
    app = await make_app(forwarded_allow_ips=PROXY, rate_limit_login="2/minute")
    async with client_for(app, ip=PROXY) as proxy:
        assert (await login_from(proxy, "a@example.com", "203.0.113.1")).status_code == 401
        assert (await login_from(proxy, "b@example.com", "203.0.113.1")).status_code == 401
        assert_limited(await login_from(proxy, "c@example.com", "203.0.113.1"))
        # Another client behind the same proxy is not limited.
        assert (await login_from(proxy, "d@example.com", "203.0.113.2")).status_code == 401
        # The proxy's own requests (no header) are counted as the proxy's.
        assert (await attempt_login(proxy, "e@example.com")).status_code == 401


async def test_untrusted_peer_cannot_spoof_its_address(make_app: AppFactory) -> None:
    app = await make_app(forwarded_allow_ips=PROXY, rate_limit_login="2/minute")
    async with client_for(app, ip=STRANGER) as stranger:
        assert (await login_from(stranger, "a@example.com", "203.0.113.1")).status_code == 401
        assert (await login_from(stranger, "b@example.com", "203.0.113.2")).status_code == 401
        assert_limited(await login_from(stranger, "c@example.com", "203.0.113.3"))


async def test_no_proxy_is_trusted_by_default(make_app: AppFactory) -> None:
    app = await make_app(rate_limit_login="2/minute")
    assert app.state.settings.forwarded_allow_ips == []
    async with client_for(app, ip="127.0.0.1") as local:
        assert (await login_from(local, "a@example.com", "203.0.113.1")).status_code == 401
        assert (await login_from(local, "b@example.com", "203.0.113.2")).status_code == 401
        assert_limited(await login_from(local, "c@example.com", "203.0.113.3"))


async def test_session_records_the_forwarded_ip_only_through_a_trusted_proxy(make_app: AppFactory) -> None:
    app = await make_app(forwarded_allow_ips=PROXY)
    async with client_for(app, ip=PROXY) as proxy, client_for(app, ip=STRANGER) as stranger:
        await register(proxy, "ada@example.com")
        through_proxy = await login_from(proxy, "ada@example.com", "203.0.113.7")
        assert through_proxy.status_code == 200, through_proxy.text
        listed, stored = await session_ips(app, proxy, through_proxy.json()["access_token"])
        assert listed == stored == ["203.0.113.7"]

        spoofed = await login_from(stranger, "ada@example.com", "203.0.113.8")
        assert spoofed.status_code == 200, spoofed.text
        listed, stored = await session_ips(app, stranger, spoofed.json()["access_token"])
        assert sorted(listed) == sorted(stored) == ["10.0.0.9", "203.0.113.7"]


async def test_proxy_chain_within_a_trusted_network(make_app: AppFactory) -> None:
    app = await make_app(forwarded_allow_ips="10.0.0.0/24")
    async with client_for(app, ip=PROXY) as proxy:
        await register(proxy, "ada@example.com")
        # The client, then a second proxy of ours: the last untrusted hop is the client.
        response = await login_from(proxy, "ada@example.com", "198.51.100.4, 10.0.0.7")
        listed, _ = await session_ips(app, proxy, response.json()["access_token"])
    assert listed == ["198.51.100.4"]


async def test_a_forwarded_value_that_is_not_an_ip_is_not_recorded(make_app: AppFactory) -> None:
    app = await make_app(forwarded_allow_ips=PROXY)
    async with client_for(app, ip=PROXY) as proxy:
        await register(proxy, "ada@example.com")
        response = await login_from(proxy, "ada@example.com", "unknown-" + "x" * 100)
        assert response.status_code == 200, response.text  # the column holds 64 characters
        listed, stored = await session_ips(app, proxy, response.json()["access_token"])
    assert listed == stored == [None]


def test_forwarded_allow_ips_is_a_validated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.0.0.5, 192.168.0.0/16,::1")
    assert Settings().forwarded_allow_ips == ["10.0.0.5", "192.168.0.0/16", "::1"]
    assert Settings(forwarded_allow_ips="*").forwarded_allow_ips == ["*"]
    for wrong in ("proxy.internal", "10.0.0.5/24"):  # a name, a network with host bits
        with pytest.raises(ValidationError, match="forwarded_allow_ips"):
            Settings(forwarded_allow_ips=wrong)


def test_serve_leaves_proxy_headers_to_the_application(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    monkeypatch.setenv("SEED_DEMO", "false")
    result = CliRunner().invoke(cli, ["serve", "--no-migrate"])
    assert result.exit_code == 0, result.output
    assert calls and calls[0]["proxy_headers"] is False
