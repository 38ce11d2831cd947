"""Refresh-token rotation and reuse detection, sessions, sign-out, password change."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from studyhall.core.security import hash_opaque_token
from studyhall.identity.models import AuthSession
from tests.factories import API, PASSWORD, assert_problem, bearer, create_user, login, register


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(f"{API}/auth/refresh", json={"refresh_token": token})


async def session_rows(app: FastAPI, user_id: str) -> list[AuthSession]:
    async with app.state.database.sessionmaker() as session:
        rows = await session.scalars(
            select(AuthSession)
            .where(AuthSession.user_id == uuid.UUID(user_id))
            .order_by(AuthSession.last_used_at)
        )
        return list(rows.all())


async def registered_and_signed_in(
    client: httpx.AsyncClient, email: str = "sam@example.com"
) -> tuple[str, dict[str, Any]]:
    user = await register(client, email)
    return user["id"], await login(client, email)


async def test_refresh_rotates_the_token(app: FastAPI, client: httpx.AsyncClient) -> None:
    user_id, pair = await registered_and_signed_in(client)
    response = await refresh(client, pair["refresh_token"])
    assert response.status_code == 200
    new = response.json()
    assert new["refresh_token"] != pair["refresh_token"]
    assert (await client.get(f"{API}/auth/me", headers=bearer(new["access_token"]))).status_code == 200
    rows = await session_rows(app, user_id)
    assert len(rows) == 2
    old, current = rows
    assert old.family_id == current.family_id
    assert old.revoked_at is not None and old.replaced_by == current.id
    assert current.revoked_at is None
    # Only hashes are stored.
    assert {old.token_hash, current.token_hash} == {
        hash_opaque_token(pair["refresh_token"]),
        hash_opaque_token(new["refresh_token"]),
    }


async def test_reusing_a_rotated_token_revokes_the_family(app: FastAPI, client: httpx.AsyncClient) -> None:
    user_id, pair = await registered_and_signed_in(client)
    other_device = await login(client, "sam@example.com")
    rotated = (await refresh(client, pair["refresh_token"])).json()
    assert_problem(await refresh(client, pair["refresh_token"]), 401, "refresh_token_reused")
    # The thief's and the owner's successors are both dead now ...
    assert_problem(await refresh(client, rotated["refresh_token"]), 401, "invalid_refresh_token")
    rows = await session_rows(app, user_id)
    family = rows[0].family_id
    assert all(row.revoked_at is not None for row in rows if row.family_id == family)
    # ... while the other device's session is untouched.
    assert (await refresh(client, other_device["refresh_token"])).status_code == 200


async def test_unknown_refresh_token_is_401(client: httpx.AsyncClient) -> None:
    assert_problem(await refresh(client, "made-up-token"), 401, "invalid_refresh_token")
    assert_problem(await client.post(f"{API}/auth/refresh", json={}), 422, "validation_error")


async def test_expired_refresh_token_is_401(app: FastAPI, client: httpx.AsyncClient) -> None:
    user_id, pair = await registered_and_signed_in(client)
    async with app.state.database.sessionmaker() as session, session.begin():
        row = (
            await session.scalars(select(AuthSession).where(AuthSession.user_id == uuid.UUID(user_id)))
        ).one()
        row.expires_at = row.created_at
    assert_problem(await refresh(client, pair["refresh_token"]), 401, "invalid_refresh_token")


@pytest.mark.postgresql_only
async def test_concurrent_refreshes_yield_at_most_one_pair(app: FastAPI, client: httpx.AsyncClient) -> None:
    user_id, pair = await registered_and_signed_in(client)
    responses = await asyncio.gather(*(refresh(client, pair["refresh_token"]) for _ in range(6)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) <= 1, statuses
    assert all(status in (200, 401) for status in statuses), statuses
    rows = await session_rows(app, user_id)
    issued = [row for row in rows if row.token_hash != hash_opaque_token(pair["refresh_token"])]
    assert len(issued) <= 1, "more than one successor token was issued"
    original = next(row for row in rows if row.token_hash == hash_opaque_token(pair["refresh_token"]))
    assert original.revoked_at is not None


async def test_sessions_list_and_revoke(app: FastAPI, client: httpx.AsyncClient) -> None:
    await register(client, "multi@example.com")
    laptop = (
        await client.post(
            f"{API}/auth/login",
            json={"email": "multi@example.com", "password": PASSWORD},
            headers={"User-Agent": "Laptop/1.0"},
        )
    ).json()
    phone = await login(client, "multi@example.com")
    listed = await client.get(f"{API}/auth/sessions", headers=bearer(phone["access_token"]))
    assert listed.status_code == 200
    body = listed.json()
    assert body["total"] == 2 and len(body["items"]) == 2
    assert {"id", "created_at", "last_used_at", "user_agent", "ip"} <= body["items"][0].keys()
    laptop_session = next(s for s in body["items"] if s["user_agent"] == "Laptop/1.0")
    assert laptop_session["ip"] == "127.0.0.1"
    # The session id stays the same across refreshes.
    laptop = (await refresh(client, laptop["refresh_token"])).json()
    ids = {
        s["id"]
        for s in (await client.get(f"{API}/auth/sessions", headers=bearer(phone["access_token"]))).json()[
            "items"
        ]
    }
    assert laptop_session["id"] in ids and len(ids) == 2
    # Another user cannot revoke it (404), its owner can.
    stranger = await create_user(app)
    assert_problem(
        await client.delete(f"{API}/auth/sessions/{laptop_session['id']}", headers=stranger.headers),
        404,
        "session_not_found",
    )
    revoked = await client.delete(
        f"{API}/auth/sessions/{laptop_session['id']}", headers=bearer(phone["access_token"])
    )
    assert revoked.status_code == 204
    assert_problem(await refresh(client, laptop["refresh_token"]), 401, "invalid_refresh_token")
    remaining = (await client.get(f"{API}/auth/sessions", headers=bearer(phone["access_token"]))).json()
    assert remaining["total"] == 1
    assert_problem(
        await client.delete(
            f"{API}/auth/sessions/{laptop_session['id']}", headers=bearer(phone["access_token"])
        ),
        404,
        "session_not_found",
    )


async def test_logout_revokes_that_session_only(client: httpx.AsyncClient) -> None:
    _, first = await registered_and_signed_in(client)
    second = await login(client, "sam@example.com")
    response = await client.post(f"{API}/auth/logout", json={"refresh_token": first["refresh_token"]})
    assert response.status_code == 204
    assert_problem(await refresh(client, first["refresh_token"]), 401, "invalid_refresh_token")
    assert_problem(
        await client.post(f"{API}/auth/logout", json={"refresh_token": first["refresh_token"]}),
        401,
        "invalid_refresh_token",
    )
    assert (await refresh(client, second["refresh_token"])).status_code == 200


async def test_logout_all_ends_every_session_and_access_token(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user_id, first = await registered_and_signed_in(client)
    second = await login(client, "sam@example.com")
    response = await client.post(f"{API}/auth/logout-all", headers=bearer(second["access_token"]))
    assert response.status_code == 204
    for pair in (first, second):
        assert_problem(await refresh(client, pair["refresh_token"]), 401, "invalid_refresh_token")
        assert_problem(
            await client.get(f"{API}/auth/me", headers=bearer(pair["access_token"])), 401, "session_revoked"
        )
    assert all(row.revoked_at is not None for row in await session_rows(app, user_id))
    assert_problem(await client.post(f"{API}/auth/logout-all"), 401, "not_authenticated")


async def test_change_password_keeps_only_the_current_session(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, current = await registered_and_signed_in(client)
    other = await login(client, "sam@example.com")
    headers = bearer(current["access_token"])
    wrong = await client.post(
        f"{API}/auth/password",
        headers=headers,
        json={"current_password": "nope nope nope", "new_password": "x" * 12},
    )
    assert_problem(wrong, 403, "wrong_password")
    weak = await client.post(
        f"{API}/auth/password",
        headers=headers,
        json={"current_password": PASSWORD, "new_password": "sam@example.com"},
    )
    assert_problem(weak, 422, "validation_error")
    new_password = "an entirely new passphrase"
    changed = await client.post(
        f"{API}/auth/password",
        headers=headers,
        json={"current_password": PASSWORD, "new_password": new_password},
    )
    assert changed.status_code == 204
    # Every access token ends; the other session is revoked; this session refreshes on.
    assert_problem(await client.get(f"{API}/auth/me", headers=headers), 401, "invalid_token")
    assert_problem(await refresh(client, other["refresh_token"]), 401, "invalid_refresh_token")
    renewed = await refresh(client, current["refresh_token"])
    assert renewed.status_code == 200
    assert (
        await client.get(f"{API}/auth/me", headers=bearer(renewed.json()["access_token"]))
    ).status_code == 200
    old = await client.post(f"{API}/auth/login", json={"email": "sam@example.com", "password": PASSWORD})
    assert_problem(old, 401, "invalid_credentials")
    await login(client, "sam@example.com", new_password)


async def test_deactivated_user_loses_tokens_and_sessions_at_once(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await create_user(app, "admin")
    user_id, pair = await registered_and_signed_in(client)
    response = await client.patch(f"{API}/users/{user_id}", headers=admin.headers, json={"is_active": False})
    assert response.status_code == 200 and response.json()["is_active"] is False
    assert_problem(
        await client.get(f"{API}/auth/me", headers=bearer(pair["access_token"])), 401, "invalid_token"
    )
    assert_problem(await refresh(client, pair["refresh_token"]), 401, "invalid_refresh_token")
    async with app.state.database.sessionmaker() as session:
        live = await session.scalar(
            select(func.count())
            .select_from(AuthSession)
            .where(AuthSession.user_id == uuid.UUID(user_id), AuthSession.revoked_at.is_(None))
        )
    assert live == 0
