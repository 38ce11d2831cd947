"""Signing out ends the session's access tokens at once (`401 session_revoked`), in every API
process: each token names its session (`sid`), checked with the user in one SELECT."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import FastAPI

from tests.factories import (
    API,
    PASSWORD,
    AppFactory,
    assert_problem,
    bearer,
    client_for,
    count_statements,
    create_user,
    login,
    register,
)
from tests.identity.test_sessions import refresh, registered_and_signed_in, session_rows

ME = f"{API}/auth/me"


async def me(client: httpx.AsyncClient, pair: dict[str, Any]) -> httpx.Response:
    return await client.get(ME, headers=bearer(pair["access_token"]))


def assert_session_revoked(response: httpx.Response) -> None:
    assert_problem(response, 401, "session_revoked")
    assert response.headers["www-authenticate"] == "Bearer"


def sid(app: FastAPI, pair: dict[str, Any]) -> str:
    session_id: str = app.state.tokens.decode(pair["access_token"])["sid"]
    return session_id


async def live_sessions(app: FastAPI, user_id: str) -> set[str]:
    return {str(row.family_id) for row in await session_rows(app, user_id) if row.revoked_at is None}


async def test_the_sid_claim_is_the_listed_session_and_survives_refreshes(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, pair = await registered_and_signed_in(client)
    listed = (await client.get(f"{API}/auth/sessions", headers=bearer(pair["access_token"]))).json()
    assert [item["id"] for item in listed["items"]] == [sid(app, pair)]
    rotated = (await refresh(client, pair["refresh_token"])).json()
    assert sid(app, rotated) == sid(app, pair)
    # Rotation keeps the session: the earlier access token lives on until it expires.
    assert (await me(client, pair)).status_code == 200
    assert (await me(client, rotated)).status_code == 200


async def test_logout_ends_every_access_token_of_that_session(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user_id, first = await registered_and_signed_in(client)
    second = await login(client, "sam@example.com")
    rotated = (await refresh(client, first["refresh_token"])).json()
    assert (await me(client, first)).status_code == 200

    response = await client.post(f"{API}/auth/logout", json={"refresh_token": rotated["refresh_token"]})

    assert response.status_code == 204
    assert_session_revoked(await me(client, first))
    assert_session_revoked(await me(client, rotated))
    assert (await me(client, second)).status_code == 200
    assert await live_sessions(app, user_id) == {sid(app, second)}


async def test_revoking_a_session_ends_its_access_tokens(app: FastAPI, client: httpx.AsyncClient) -> None:
    user_id, laptop = await registered_and_signed_in(client)
    phone = await login(client, "sam@example.com")

    response = await client.delete(
        f"{API}/auth/sessions/{sid(app, laptop)}", headers=bearer(phone["access_token"])
    )

    assert response.status_code == 204
    assert_session_revoked(await me(client, laptop))
    assert (await me(client, phone)).status_code == 200
    assert await live_sessions(app, user_id) == {sid(app, phone)}
    # Revoking the session one is using signs oneself out too.
    response = await client.delete(
        f"{API}/auth/sessions/{sid(app, phone)}", headers=bearer(phone["access_token"])
    )
    assert response.status_code == 204
    assert_session_revoked(await me(client, phone))
    assert await live_sessions(app, user_id) == set()


async def test_logout_all_ends_the_callers_sessions_only(app: FastAPI, client: httpx.AsyncClient) -> None:
    user_id, first = await registered_and_signed_in(client)
    second = await login(client, "sam@example.com")
    someone_else = await create_user(app)

    response = await client.post(f"{API}/auth/logout-all", headers=bearer(first["access_token"]))

    assert response.status_code == 204
    assert_session_revoked(await me(client, first))
    assert_session_revoked(await me(client, second))
    assert (await client.get(ME, headers=someone_else.headers)).status_code == 200
    assert await live_sessions(app, user_id) == set()


async def test_password_change_ends_the_other_sessions_tokens(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user_id, current = await registered_and_signed_in(client)
    other = await login(client, "sam@example.com")

    response = await client.post(
        f"{API}/auth/password",
        headers=bearer(current["access_token"]),
        json={"current_password": PASSWORD, "new_password": "an entirely new passphrase"},
    )

    assert response.status_code == 204
    assert_session_revoked(await me(client, other))
    # The current session lives on; its access tokens end with the old password (refresh).
    assert_problem(await me(client, current), 401, "invalid_token")
    assert await live_sessions(app, user_id) == {sid(app, current)}
    renewed = (await refresh(client, current["refresh_token"])).json()
    assert (await me(client, renewed)).status_code == 200


async def test_refresh_token_reuse_ends_the_familys_access_tokens(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user_id, stolen = await registered_and_signed_in(client)
    other_device = await login(client, "sam@example.com")
    rotated = (await refresh(client, stolen["refresh_token"])).json()

    assert_problem(await refresh(client, stolen["refresh_token"]), 401, "refresh_token_reused")

    assert_session_revoked(await me(client, stolen))
    assert_session_revoked(await me(client, rotated))
    assert (await me(client, other_device)).status_code == 200
    assert await live_sessions(app, user_id) == {sid(app, other_device)}


async def test_a_token_must_name_a_live_session_of_its_own_user(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await create_user(app)
    other = await create_user(app)
    codec = app.state.tokens
    claims = codec.decode(owner.token)
    other_session = codec.decode(other.token)["sid"]

    def forged(**changes: object) -> dict[str, str]:
        token = codec.encode(
            {key: value for key, value in {**claims, **changes}.items() if value is not None}
        )
        return bearer(token)

    for headers in (forged(sid=None), forged(sid="not-a-uuid")):
        response = await client.get(ME, headers=headers)
        assert_problem(response, 401, "invalid_token")
        assert response.headers["www-authenticate"] == "Bearer"
    assert_session_revoked(await client.get(ME, headers=forged(sid=str(uuid.uuid4()))))
    assert_session_revoked(await client.get(ME, headers=forged(sid=other_session)))
    assert (await client.get(ME, headers=owner.headers)).status_code == 200


async def test_authenticating_a_request_is_one_statement(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, pair = await registered_and_signed_in(client)
    with count_statements(app) as live:
        assert (await me(client, pair)).status_code == 200
    await client.post(f"{API}/auth/logout", json={"refresh_token": pair["refresh_token"]})
    with count_statements(app) as revoked:
        assert_session_revoked(await me(client, pair))
    for statements in (live, revoked):
        assert len(statements) == 1, statements
        assert "FROM users" in statements[0] and "auth_sessions" in statements[0]


async def test_signing_out_on_one_api_process_ends_the_token_on_another(make_app: AppFactory) -> None:
    one, other = await make_app(), await make_app()
    async with client_for(one) as on_one, client_for(other) as on_other:
        await register(on_one, "twice@example.com")
        kept, ended = await login(on_one, "twice@example.com"), await login(on_one, "twice@example.com")
        assert (await me(on_other, ended)).status_code == 200

        assert (
            await on_one.post(f"{API}/auth/logout", json={"refresh_token": ended["refresh_token"]})
        ).status_code == 204

        assert_session_revoked(await me(on_other, ended))
        assert (await me(on_other, kept)).status_code == 200
        # And the other way round.
        revoked = await on_other.delete(
            f"{API}/auth/sessions/{sid(other, kept)}", headers=bearer(kept["access_token"])
        )
        assert revoked.status_code == 204
        assert_session_revoked(await me(on_one, kept))
