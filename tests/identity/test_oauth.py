"""Sign-in with an OpenID Connect provider, end to end against a local mock provider
(oidc-provider-mock): our authorize redirect, the provider's consent form, our callback."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from fastapi import FastAPI
from oidc_provider_mock import run_server_in_thread
from sqlalchemy import select, update

from studyhall.config import Settings
from studyhall.core.clock import utcnow
from studyhall.core.security import hash_opaque_token
from studyhall.identity.models import (
    AuthSession,
    OAuthHandoff,
    OAuthState,
    OrganizationInvitation,
    Role,
    User,
    UserIdentity,
)
from tests.conftest import make_settings
from tests.factories import API, assert_problem, count_rows, create_organization, create_user, rows

PROVIDER = "mock"
CLIENT_ID = "studyhall-test"
AUTHORIZE = f"{API}/auth/oauth/{PROVIDER}/authorize"
CALLBACK = f"{API}/auth/oauth/{PROVIDER}/callback"


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    with run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture
def settings(database_url: str, tmp_path: Path, issuer: str) -> Settings:
    """Overrides the suite's settings: the mock provider is configured as `mock`."""
    return make_settings(
        database_url,
        tmp_path / "var",
        oauth_oidc_name=PROVIDER,
        oauth_oidc_issuer=issuer,
        oauth_oidc_client_id=CLIENT_ID,
        oauth_oidc_client_secret="mock-client-secret",
    )


@pytest.fixture
def token_requests(app: FastAPI) -> list[dict[str, list[str]]]:
    """Form bodies our side posted to the provider's token endpoint."""
    captured: list[dict[str, list[str]]] = []

    async def capture(request: httpx.Request) -> None:
        if request.url.path.endswith("/oauth2/token"):
            captured.append(parse_qs(request.content.decode()))

    app.state.oauth.client_options = {"event_hooks": {"request": [capture]}}
    return captured


@pytest.fixture
async def provider(issuer: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=issuer) as http:
        yield http


async def set_claims(provider: httpx.AsyncClient, sub: str, **claims: Any) -> None:
    response = await provider.put(f"/users/{sub}", json=claims)
    assert response.status_code == 204, response.text


async def start(client: httpx.AsyncClient) -> httpx.URL:
    response = await client.get(AUTHORIZE)
    assert response.status_code == 302, response.text
    return httpx.URL(response.headers["location"])


async def consent(provider: httpx.AsyncClient, location: httpx.URL, sub: str) -> dict[str, str]:
    """Submits the provider's sign-in form for `sub`; returns the callback's query."""
    response = await provider.post(str(location), data={"sub": sub})
    assert response.status_code == 302, response.text
    back = httpx.URL(response.headers["location"])
    assert back.path == CALLBACK
    return dict(back.params)


async def sign_in(
    client: httpx.AsyncClient, provider: httpx.AsyncClient, sub: str, **claims: Any
) -> httpx.Response:
    await set_claims(provider, sub, **claims)
    params = await consent(provider, await start(client), sub)
    return await client.get(CALLBACK, params=params)


async def me(client: httpx.AsyncClient, access_token: str) -> dict[str, Any]:
    response = await client.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {access_token}"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def identities(app: FastAPI) -> list[UserIdentity]:
    async with app.state.database.sessionmaker() as session:
        return list(await session.scalars(select(UserIdentity)))


async def test_new_account_is_created_and_signed_in(
    app: FastAPI, client: httpx.AsyncClient, provider: httpx.AsyncClient
) -> None:
    response = await sign_in(
        client, provider, "sub-ada", email="Ada@Example.com", email_verified=True, name="Ada Lovelace"
    )

    assert response.status_code == 200, response.text
    tokens = response.json()
    assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert tokens["token_type"] == "bearer"
    user = await me(client, tokens["access_token"])
    assert user["email"] == "ada@example.com"
    assert user["full_name"] == "Ada Lovelace"
    assert user["role"] == "student"
    assert user["email_verified"] is True
    [identity] = await identities(app)
    assert (identity.provider, identity.subject, str(identity.user_id)) == (PROVIDER, "sub-ada", user["id"])
    async with app.state.database.sessionmaker() as session:
        stored = await session.get(User, identity.user_id)
        assert stored is not None and stored.password_hash is None
    refreshed = await client.post(f"{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    # Signing in again uses the same account.
    again = await sign_in(client, provider, "sub-ada", email="ada@example.com", email_verified=True)
    assert again.status_code == 200, again.text
    assert (await me(client, again.json()["access_token"]))["id"] == user["id"]
    assert await count_rows(app, User) == 1


async def test_pkce_state_and_nonce_are_sent_and_checked(
    app: FastAPI,
    client: httpx.AsyncClient,
    provider: httpx.AsyncClient,
    token_requests: list[dict[str, list[str]]],
    issuer: str,
) -> None:
    await set_claims(provider, "sub-pkce", email="pkce@example.com", email_verified=True)
    location = await start(client)

    assert str(location.copy_with(query=None)) == f"{issuer}/oauth2/authorize"
    query = dict(location.params)
    assert query["response_type"] == "code"
    assert query["client_id"] == CLIENT_ID
    assert query["scope"] == "openid email profile"
    assert query["redirect_uri"] == f"http://testserver{CALLBACK}"
    assert query["code_challenge_method"] == "S256"
    async with app.state.database.sessionmaker() as session:
        stored = await session.scalar(
            select(OAuthState).where(OAuthState.state_hash == hash_opaque_token(query["state"]))
        )
    assert stored is not None and stored.provider == PROVIDER and stored.used_at is None
    assert query["nonce"] == stored.nonce
    assert query["code_challenge"] == create_s256_code_challenge(stored.code_verifier)
    assert query["state"] not in {stored.state_hash, stored.nonce, stored.code_verifier}

    response = await client.get(CALLBACK, params=await consent(provider, location, "sub-pkce"))

    assert response.status_code == 200, response.text
    [form] = token_requests
    assert form["grant_type"] == ["authorization_code"]
    assert form["code_verifier"] == [stored.code_verifier]
    assert form["redirect_uri"] == [f"http://testserver{CALLBACK}"]


async def test_existing_verified_account_is_linked_not_duplicated(
    app: FastAPI, client: httpx.AsyncClient, provider: httpx.AsyncClient
) -> None:
    actor = await create_user(app, Role.INSTRUCTOR, email="grace@example.com")
    async with app.state.database.sessionmaker() as session, session.begin():
        await session.execute(update(User).where(User.id == actor.user.id).values(email_verified=True))

    response = await sign_in(client, provider, "sub-grace", email="GRACE@example.com", email_verified=True)

    assert response.status_code == 200, response.text
    user = await me(client, response.json()["access_token"])
    assert user["id"] == str(actor.user.id) and user["role"] == "instructor"
    assert await count_rows(app, User) == 1
    [identity] = await identities(app)
    assert identity.user_id == actor.user.id and identity.subject == "sub-grace"
    # The password still works for an account whose address was already verified.
    login = await client.post(
        f"{API}/auth/login", json={"email": "grace@example.com", "password": actor.password}
    )
    assert login.status_code == 200, login.text


async def test_linking_an_unverified_account_ends_its_password_and_sessions(
    app: FastAPI, client: httpx.AsyncClient, provider: httpx.AsyncClient
) -> None:
    squatter = await create_user(app, email="victim@example.com")
    assert (await client.get(f"{API}/auth/me", headers=squatter.headers)).status_code == 200

    response = await sign_in(client, provider, "sub-victim", email="victim@example.com", email_verified=True)

    assert response.status_code == 200, response.text
    assert (await me(client, response.json()["access_token"]))["email_verified"] is True
    assert (await client.get(f"{API}/auth/me", headers=squatter.headers)).status_code == 401
    login = await client.post(
        f"{API}/auth/login", json={"email": "victim@example.com", "password": squatter.password}
    )
    assert login.status_code == 401


async def test_linked_subject_signs_in_after_its_email_changed(
    app: FastAPI, client: httpx.AsyncClient, provider: httpx.AsyncClient
) -> None:
    first = await sign_in(client, provider, "sub-move", email="old@example.com", email_verified=True)
    assert first.status_code == 200, first.text
    user_id = (await me(client, first.json()["access_token"]))["id"]

    second = await sign_in(client, provider, "sub-move", email="new@example.com", email_verified=True)

    assert second.status_code == 200, second.text
    assert (await me(client, second.json()["access_token"]))["id"] == user_id
    assert await count_rows(app, User) == 1


async def test_pending_invitation_attaches_to_the_new_account(
    app: FastAPI, client: httpx.AsyncClient, provider: httpx.AsyncClient
) -> None:
    organization = await create_organization(app)
    async with app.state.database.sessionmaker() as session, session.begin():
        session.add(
            OrganizationInvitation(
                organization_id=organization.id, email="invited@example.com", role=Role.INSTRUCTOR.value
            )
        )

    response = await sign_in(client, provider, "sub-inv", email="invited@example.com", email_verified=True)

    assert response.status_code == 200, response.text
    user = await me(client, response.json()["access_token"])
    assert user["organization_id"] == str(organization.id) and user["role"] == "instructor"
    async with app.state.database.sessionmaker() as session:
        invitation = await session.scalar(select(OrganizationInvitation))
    assert invitation is not None and str(invitation.accepted_user_id) == user["id"]


async def test_replayed_callback_is_rejected(
    app: FastAPI, client: httpx.AsyncClient, provider: httpx.AsyncClient
) -> None:
    await set_claims(provider, "sub-replay", email="replay@example.com", email_verified=True)
    params = await consent(provider, await start(client), "sub-replay")
    assert (await client.get(CALLBACK, params=params)).status_code == 200

    replay = await client.get(CALLBACK, params=params)

    assert_problem(replay, 400, "oauth_state_invalid")


async def test_state_is_used_up_even_when_the_exchange_fails(
    app: FastAPI, client: httpx.AsyncClient, provider: httpx.AsyncClient
) -> None:
    location = await start(client)
    state = location.params["state"]

    failed = await client.get(CALLBACK, params={"state": state, "code": "not-a-real-code"})
    assert_problem(failed, 401, "oauth_failed")

    again = await client.get(CALLBACK, params={"state": state, "code": "not-a-real-code"})
    assert_problem(again, 400, "oauth_state_invalid")


@pytest.mark.parametrize("params", [{"state": "never-issued", "code": "x"}, {"code": "x"}, {}])
async def test_unknown_or_missing_state_is_rejected(
    client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    response = await client.get(CALLBACK, params=params)

    assert_problem(response, 400, "oauth_state_invalid")


async def test_tampered_state_is_rejected_and_the_real_one_still_works(
    app: FastAPI, client: httpx.AsyncClient, provider: httpx.AsyncClient
) -> None:
    await set_claims(provider, "sub-tamper", email="tamper@example.com", email_verified=True)
    params = await consent(provider, await start(client), "sub-tamper")
    state = params["state"]
    tampered = {**params, "state": state[:-1] + ("A" if state[-1] != "A" else "B")}

    response = await client.get(CALLBACK, params=tampered)

    assert_problem(response, 400, "oauth_state_invalid")
    assert (await client.get(CALLBACK, params=params)).status_code == 200


async def test_expired_state_is_rejected(
    app: FastAPI, client: httpx.AsyncClient, provider: httpx.AsyncClient
) -> None:
    await set_claims(provider, "sub-late", email="late@example.com", email_verified=True)
    params = await consent(provider, await start(client), "sub-late")
    async with app.state.database.sessionmaker() as session, session.begin():
        await session.execute(update(OAuthState).values(expires_at=utcnow()))

    response = await client.get(CALLBACK, params=params)

    assert_problem(response, 400, "oauth_state_invalid")
    assert await count_rows(app, User) == 0


async def test_long_expired_attempts_are_swept_when_a_sign_in_starts(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    old = utcnow() - timedelta(days=2)
    async with app.state.database.sessionmaker() as session, session.begin():
        for name, expires_at in (("old", old), ("recent", utcnow() - timedelta(hours=1))):
            session.add(
                OAuthState(
                    state_hash=hash_opaque_token(name),
                    provider=PROVIDER,
                    nonce="n",
                    code_verifier="v",
                    redirect_uri="http://testserver/cb",
                    created_at=expires_at - timedelta(minutes=10),
                    expires_at=expires_at,
                )
            )

    location = await start(client)

    async with app.state.database.sessionmaker() as session:
        hashes = set(await session.scalars(select(OAuthState.state_hash)))
    assert hashes == {hash_opaque_token("recent"), hash_opaque_token(location.params["state"])}


async def test_state_of_another_provider_is_rejected(
    app: FastAPI, client: httpx.AsyncClient, provider: httpx.AsyncClient
) -> None:
    params = await consent(provider, await start(client), "sub-other")
    async with app.state.database.sessionmaker() as session, session.begin():
        await session.execute(update(OAuthState).values(provider="google"))

    response = await client.get(CALLBACK, params=params)

    assert_problem(response, 400, "oauth_state_invalid")


async def test_nonce_mismatch_is_rejected(
    app: FastAPI, client: httpx.AsyncClient, provider: httpx.AsyncClient
) -> None:
    await set_claims(provider, "sub-nonce", email="nonce@example.com", email_verified=True)
    params = await consent(provider, await start(client), "sub-nonce")
    async with app.state.database.sessionmaker() as session, session.begin():
        await session.execute(update(OAuthState).values(nonce="a-different-nonce"))

    response = await client.get(CALLBACK, params=params)

    assert_problem(response, 401, "oauth_failed")
    assert await count_rows(app, User) == 0
    assert await identities(app) == []


@pytest.mark.parametrize(
    "claims",
    [
        {"email": "unverified@example.com", "email_verified": False},
        {"email": "unverified@example.com"},
        {"email_verified": True},
    ],
)
async def test_unverified_or_missing_email_is_403(
    app: FastAPI, client: httpx.AsyncClient, provider: httpx.AsyncClient, claims: dict[str, Any]
) -> None:
    response = await sign_in(client, provider, "sub-unverified", **claims)

    assert_problem(response, 403, "oauth_email_unverified")
    assert await count_rows(app, User) == 0


async def test_unverified_email_does_not_link_an_existing_account(
    app: FastAPI, client: httpx.AsyncClient, provider: httpx.AsyncClient
) -> None:
    await create_user(app, email="target@example.com")

    response = await sign_in(client, provider, "sub-x", email="target@example.com", email_verified=False)

    assert response.status_code == 403
    assert await identities(app) == []


async def test_deactivated_account_is_403(
    app: FastAPI, client: httpx.AsyncClient, provider: httpx.AsyncClient
) -> None:
    await create_user(app, email="off@example.com", is_active=False)

    response = await sign_in(client, provider, "sub-off", email="off@example.com", email_verified=True)

    assert_problem(response, 403, "account_disabled")
    assert await identities(app) == []


async def test_deleted_account_is_403(
    app: FastAPI, client: httpx.AsyncClient, provider: httpx.AsyncClient
) -> None:
    first = await sign_in(client, provider, "sub-gone", email="gone@example.com", email_verified=True)
    assert first.status_code == 200
    async with app.state.database.sessionmaker() as session, session.begin():
        await session.execute(update(User).values(deleted_at=utcnow()))

    response = await sign_in(client, provider, "sub-gone", email="gone@example.com", email_verified=True)

    assert_problem(response, 403, "account_disabled")


async def test_provider_error_is_oauth_denied(
    app: FastAPI, client: httpx.AsyncClient, provider: httpx.AsyncClient
) -> None:
    location = await start(client)
    denied = await provider.post(str(location), data={"action": "deny"})
    assert denied.status_code == 302
    back = httpx.URL(denied.headers["location"])
    assert back.params["error"] == "access_denied"

    response = await client.get(CALLBACK, params=dict(back.params))

    assert_problem(response, 401, "oauth_denied")


@pytest.mark.parametrize("path", ["authorize", "callback"])
async def test_unknown_provider_is_404(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(f"{API}/auth/oauth/nope/{path}", params={"state": "s", "code": "c"})

    assert_problem(response, 404, "oauth_provider_not_found")


async def test_redirect_uri_follows_oauth_redirect_base(
    app: FastAPI, client: httpx.AsyncClient, provider: httpx.AsyncClient, token_requests: list[Any]
) -> None:
    app.state.settings.oauth_redirect_base = "https://api.example.com/"
    await set_claims(provider, "sub-base", email="base@example.com", email_verified=True)

    location = await start(client)

    assert location.params["redirect_uri"] == f"https://api.example.com{CALLBACK}"
    response = await provider.post(str(location), data={"sub": "sub-base"})
    back = httpx.URL(response.headers["location"])
    callback = await client.get(CALLBACK, params=dict(back.params))
    assert callback.status_code == 200, callback.text
    assert token_requests[0]["redirect_uri"] == [f"https://api.example.com{CALLBACK}"]


def test_google_is_wired_to_its_discovery_document(tmp_path: Path) -> None:
    settings = make_settings(
        "sqlite:///:memory:",
        tmp_path,
        oauth_google_client_id="gid",
        oauth_google_client_secret="google-secret-value",
    )

    google = settings.oauth_providers["google"]

    assert google.discovery_url == "https://accounts.google.com/.well-known/openid-configuration"
    assert google.client_id == "gid"
    assert "google-secret-value" not in repr(settings) + repr(google)
    assert make_settings("sqlite:///:memory:", tmp_path).oauth_providers == {}


# -- the web app's sign-in: a one-time code in the fragment, exchanged with the tab's verifier

EXCHANGE = f"{API}/auth/oauth/exchange"


async def web_sign_in(
    client: httpx.AsyncClient, provider: httpx.AsyncClient, sub: str, verifier: str, **claims: Any
) -> httpx.Response:
    """The web app's way: `authorize` with the verifier's challenge, consent, the callback."""
    await set_claims(provider, sub, **claims)
    started = await client.get(AUTHORIZE, params={"app_challenge": create_s256_code_challenge(verifier)})
    assert started.status_code == 302, started.text
    params = await consent(provider, httpx.URL(started.headers["location"]), sub)
    return await client.get(CALLBACK, params=params)


def finish_fragment(app: FastAPI, response: httpx.Response) -> dict[str, str]:
    """The web app's finish page the callback sends the browser to, and its fragment."""
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    page, _, fragment = location.partition("#")
    assert page == f"{app.state.settings.app_url.rstrip('/')}/oauth/finish"
    return {key: value[0] for key, value in parse_qs(fragment, strict_parsing=True).items()}


async def test_web_app_sign_in_hands_off_a_one_time_code_for_its_verifier(
    app: FastAPI, client: httpx.AsyncClient, provider: httpx.AsyncClient
) -> None:
    verifier = secrets.token_urlsafe(32)

    response = await web_sign_in(
        client, provider, "sub-web", verifier, email="web@example.com", email_verified=True, name="Web Ada"
    )

    fragment = finish_fragment(app, response)
    assert set(fragment) == {"code"}
    assert "?" not in response.headers["location"]  # nothing in a query string
    assert response.content == b""  # no tokens in the body either
    [handoff] = await rows(app, OAuthHandoff)
    assert handoff.code_hash == hash_opaque_token(fragment["code"]) != fragment["code"]
    assert handoff.used_at is None
    assert handoff.app_challenge == create_s256_code_challenge(verifier)
    assert (handoff.expires_at - handoff.created_at) == timedelta(seconds=60)
    assert await count_rows(app, AuthSession) == 0  # no session until the exchange

    exchanged = await client.post(EXCHANGE, json={"code": fragment["code"], "verifier": verifier})

    assert exchanged.status_code == 200, exchanged.text
    tokens = exchanged.json()
    assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in"}
    user = await me(client, tokens["access_token"])
    assert (user["email"], user["full_name"], str(handoff.user_id)) == (
        "web@example.com",
        "Web Ada",
        user["id"],
    )
    [used] = await rows(app, OAuthHandoff)
    assert used.used_at is not None
    assert await count_rows(app, AuthSession) == 1

    replay = await client.post(EXCHANGE, json={"code": fragment["code"], "verifier": verifier})

    assert_problem(replay, 401, "oauth_code_invalid")
    assert await count_rows(app, AuthSession) == 1


async def test_a_wrong_verifier_is_refused_and_uses_the_code_up(
    app: FastAPI, client: httpx.AsyncClient, provider: httpx.AsyncClient
) -> None:
    verifier = secrets.token_urlsafe(32)
    response = await web_sign_in(
        client, provider, "sub-steal", verifier, email="s@example.com", email_verified=True
    )
    code = finish_fragment(app, response)["code"]

    stolen = await client.post(EXCHANGE, json={"code": code, "verifier": secrets.token_urlsafe(32)})
    assert_problem(stolen, 401, "oauth_code_invalid")
    rightful = await client.post(EXCHANGE, json={"code": code, "verifier": verifier})

    assert_problem(rightful, 401, "oauth_code_invalid")
    assert await count_rows(app, AuthSession) == 0
    assert await count_rows(app, OAuthHandoff, OAuthHandoff.used_at.is_not(None)) == 1


async def test_an_expired_or_unknown_code_is_refused(
    app: FastAPI, client: httpx.AsyncClient, provider: httpx.AsyncClient
) -> None:
    verifier = secrets.token_urlsafe(32)
    response = await web_sign_in(
        client, provider, "sub-slow", verifier, email="slow@example.com", email_verified=True
    )
    code = finish_fragment(app, response)["code"]
    async with app.state.database.sessionmaker() as session, session.begin():
        await session.execute(update(OAuthHandoff).values(expires_at=utcnow() - timedelta(seconds=1)))

    late = await client.post(EXCHANGE, json={"code": code, "verifier": verifier})
    unknown = await client.post(EXCHANGE, json={"code": "never-issued", "verifier": verifier})

    assert_problem(late, 401, "oauth_code_invalid")
    assert_problem(unknown, 401, "oauth_code_invalid")
    assert await count_rows(app, AuthSession) == 0


async def test_an_account_deactivated_before_the_exchange_is_403(
    app: FastAPI, client: httpx.AsyncClient, provider: httpx.AsyncClient
) -> None:
    verifier = secrets.token_urlsafe(32)
    response = await web_sign_in(
        client, provider, "sub-late-off", verifier, email="lo@example.com", email_verified=True
    )
    code = finish_fragment(app, response)["code"]
    async with app.state.database.sessionmaker() as session, session.begin():
        await session.execute(update(User).values(is_active=False))

    exchanged = await client.post(EXCHANGE, json={"code": code, "verifier": verifier})

    assert_problem(exchanged, 403, "account_disabled")
    assert await count_rows(app, AuthSession) == 0


async def test_a_failed_web_app_sign_in_goes_back_to_the_app_with_the_error_code(
    app: FastAPI, client: httpx.AsyncClient, provider: httpx.AsyncClient
) -> None:
    verifier = secrets.token_urlsafe(32)

    response = await web_sign_in(
        client, provider, "sub-unverified", verifier, email="u@example.com", email_verified=False
    )

    assert finish_fragment(app, response) == {"error": "oauth_email_unverified"}
    assert await count_rows(app, User) == 0
    assert await count_rows(app, OAuthHandoff) == 0


async def test_a_web_app_sign_in_the_provider_denied_goes_back_to_the_app(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    challenge = create_s256_code_challenge(secrets.token_urlsafe(32))
    started = await client.get(AUTHORIZE, params={"app_challenge": challenge})
    state = httpx.URL(started.headers["location"]).params["state"]

    # RFC 6749 4.1.2.1: an error answer carries the `state` (the mock provider leaves it out).
    response = await client.get(CALLBACK, params={"error": "access_denied", "state": state})

    assert finish_fragment(app, response) == {"error": "oauth_denied"}
    assert await count_rows(app, OAuthState, OAuthState.used_at.is_not(None)) == 1


@pytest.mark.parametrize("challenge", ["short", "x" * 44, "!" * 43])
async def test_a_malformed_app_challenge_is_422(client: httpx.AsyncClient, challenge: str) -> None:
    response = await client.get(AUTHORIZE, params={"app_challenge": challenge})

    assert_problem(response, 422, "validation_error")


async def test_an_api_client_still_gets_the_token_pair_without_a_handoff(
    app: FastAPI, client: httpx.AsyncClient, provider: httpx.AsyncClient
) -> None:
    response = await sign_in(client, provider, "sub-api", email="api@example.com", email_verified=True)

    assert response.status_code == 200, response.text
    assert set(response.json()) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert await count_rows(app, OAuthHandoff) == 0
