"""Signing in with an OpenID Connect provider in Chromium ends signed in to the web app: a
real `studyhall serve` on each backend, the local mock provider the identity tests use."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from oidc_provider_mock import run_server_in_thread
from playwright.sync_api import Page, expect

from tests.factories import API, PASSWORD, headers_over_http
from tests.servers import StudyHallServer
from tests.web.conftest import fresh_database, screenshot

ADMIN_EMAIL = "admin@e2e.studyhall.test"
EMAIL = "ada@e2e.studyhall.test"


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    with run_server_in_thread() as provider:
        yield f"http://localhost:{provider.server_port}"


@pytest.fixture
def server_with_provider(
    backend: str, web_dist: Path, tmp_path: Path, request: pytest.FixtureRequest, issuer: str
) -> Iterator[StudyHallServer]:
    provider = {
        "OAUTH_OIDC_NAME": "campus-id",
        "OAUTH_OIDC_ISSUER": issuer,
        "OAUTH_OIDC_CLIENT_ID": "studyhall-e2e",
        "OAUTH_OIDC_CLIENT_SECRET": "e2e-client-secret",
    }
    database = fresh_database(backend, tmp_path, request)
    server = StudyHallServer(database, tmp_path / "var", settings=provider).start()
    yield server
    server.stop()


def test_provider_sign_in_ends_signed_in(
    page: Page, server_with_provider: StudyHallServer, issuer: str
) -> None:
    server = server_with_provider
    claims = {"email": EMAIL, "email_verified": True, "name": "Ada Lovelace"}
    httpx.put(f"{issuer}/users/sub-ada", json=claims).raise_for_status()

    page.goto(f"{server.url}/sign-in?next=/my/grades")
    page.get_by_role("button", name="Sign in with Campus Id").click()
    page.locator("input[name=sub]").fill("sub-ada")
    with page.expect_response(lambda response: "/auth/oauth/campus-id/callback" in response.url) as callback:
        page.get_by_role("button", name="Authorize").click()

    # The callback hands over a one-time code in the fragment, never tokens or a query.
    location = callback.value.headers["location"]
    assert callback.value.status == 303
    assert re.fullmatch(rf"{re.escape(server.url)}/oauth/finish#code=[\w-]+", location), location
    # The web app exchanged it, dropped it from the address, and went where the user was going.
    expect(page).to_have_url(f"{server.url}/my/grades")
    expect(page.get_by_role("heading", name="My grades")).to_be_visible()
    expect(page.get_by_role("banner")).to_contain_text("Ada Lovelace")
    screenshot(page, "provider-sign-in")
    assert "code=" not in page.evaluate("location.href + JSON.stringify(history.state)")

    # The code worked once: the API created the account, verified by the provider.
    with httpx.Client(base_url=server.url, timeout=30) as http:
        server.cli("create-admin", "--email", ADMIN_EMAIL, "--password", PASSWORD)
        users = http.get(f"{API}/users", headers=headers_over_http(http, ADMIN_EMAIL), params={"q": EMAIL})
        assert [(user["full_name"], user["email_verified"]) for user in users.json()["items"]] == [
            ("Ada Lovelace", True)
        ]
        code = location.partition("#code=")[2]
        verifier = "A" * 43
        replay = http.post(f"{API}/auth/oauth/exchange", json={"code": code, "verifier": verifier})
        assert replay.status_code == 401 and replay.json()["code"] == "oauth_code_invalid"
