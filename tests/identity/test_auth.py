"""Registration, sign-in, access tokens and the profile."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pwdlib.hashers.bcrypt import BcryptHasher
from sqlalchemy import select

from studyhall.identity.models import Role, User
from tests.factories import (
    API,
    PASSWORD,
    AppFactory,
    access_token_for,
    assert_problem,
    bearer,
    client_for,
    create_file,
    create_user,
    login,
    register,
    user_by_email,
)

USER_FIELDS = {
    "id",
    "email",
    "full_name",
    "role",
    "organization_id",
    "email_verified",
    "created_at",
}


async def test_register_creates_a_student(app: FastAPI, client: httpx.AsyncClient) -> None:
    body = await register(client, "Ada@Example.COM")
    assert body.keys() >= USER_FIELDS
    assert body["email"] == "ada@example.com"
    assert body["role"] == "student"
    assert body["email_verified"] is False
    assert body["organization_id"] is None
    assert "password_hash" not in body and "password" not in json.dumps(body)
    user = await user_by_email(app, "ada@example.com")
    assert user.password_hash is not None and user.password_hash.startswith("$argon2id$")


@pytest.mark.parametrize("variant", ["ada@example.com", "ADA@EXAMPLE.COM", "Ada@Example.com"])
async def test_duplicate_email_in_any_case_is_409(client: httpx.AsyncClient, variant: str) -> None:
    await register(client, "ada@example.com")
    response = await client.post(
        f"{API}/auth/register", json={"email": variant, "password": PASSWORD, "full_name": "Other"}
    )
    assert_problem(response, 409, "email_taken")


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short", "too short"),
        ("123456789012", "only digits"),
        ("weak@example.com", "equal to the email"),
        ("WEAK@example.COM", "equal to the email in another case"),
    ],
)
async def test_weak_passwords_are_422(
    app: FastAPI, client: httpx.AsyncClient, password: str, reason: str
) -> None:
    response = await client.post(
        f"{API}/auth/register",
        json={"email": "weak@example.com", "password": password, "full_name": "Weak"},
    )
    body = assert_problem(response, 422, "validation_error")
    assert body["errors"], reason
    async with app.state.database.sessionmaker() as session:
        assert await session.scalar(select(User).where(User.email == "weak@example.com")) is None


async def test_register_rejects_role_and_other_unknown_fields(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    response = await client.post(
        f"{API}/auth/register",
        json={"email": "mallory@example.com", "password": PASSWORD, "full_name": "M", "role": "admin"},
    )
    body = assert_problem(response, 422, "validation_error")
    assert ["body", "role"] in [e["loc"] for e in body["errors"]]
    async with app.state.database.sessionmaker() as session:
        assert await session.scalar(select(User).where(User.email == "mallory@example.com")) is None


async def test_login_returns_a_token_pair_that_works(app: FastAPI, client: httpx.AsyncClient) -> None:
    registered = await register(client, "grace@example.com")
    pair = await login(client, "GRACE@example.com")
    assert pair["token_type"] == "bearer"
    assert pair["expires_in"] == app.state.settings.access_token_ttl_seconds
    assert pair["refresh_token"] and pair["access_token"].count(".") == 2
    me = await client.get(f"{API}/auth/me", headers=bearer(pair["access_token"]))
    assert me.status_code == 200
    assert me.json()["id"] == registered["id"]
    assert (await user_by_email(app, "grace@example.com")).last_login_at is not None


async def test_access_token_carries_the_documented_claims(app: FastAPI, client: httpx.AsyncClient) -> None:
    await register(client, "claims@example.com")
    pair = await login(client, "claims@example.com")
    claims = app.state.tokens.decode(pair["access_token"])
    assert {"sub", "role", "org", "iat", "exp", "jti"} <= claims.keys()
    assert claims["role"] == "student" and claims["org"] is None
    assert claims["exp"] - claims["iat"] == app.state.settings.access_token_ttl_seconds
    checked = await client.get(f"{API}/auth/verify", headers=bearer(pair["access_token"]))
    assert checked.status_code == 200
    assert checked.json() == {"valid": True, "sub": claims["sub"], "role": "student", "exp": claims["exp"]}


async def test_oauth2_password_form_signs_in(client: httpx.AsyncClient) -> None:
    await register(client, "form@example.com")
    response = await client.post(
        f"{API}/auth/token", data={"username": "form@example.com", "password": PASSWORD}
    )
    assert response.status_code == 200
    assert response.json()["token_type"] == "bearer"


async def test_wrong_password_and_unknown_email_answer_the_same(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await register(client, "known@example.com")
    verified: list[str | None] = []
    original = app.state.passwords.verify

    async def spy(password: str, stored_hash: str | None) -> tuple[bool, str | None]:
        verified.append(stored_hash)
        result: tuple[bool, str | None] = await original(password, stored_hash)
        return result

    monkeypatch.setattr(app.state.passwords, "verify", spy)
    wrong = await client.post(
        f"{API}/auth/login", json={"email": "known@example.com", "password": "not it at all"}
    )
    unknown = await client.post(
        f"{API}/auth/login", json={"email": "nobody@example.com", "password": PASSWORD}
    )
    for response in (wrong, unknown):
        assert_problem(response, 401, "invalid_credentials")
        assert response.headers["www-authenticate"] == "Bearer"
    assert wrong.json() == unknown.json()
    # Both paths ran one password verification: the unknown email against a dummy hash.
    assert len(verified) == 2 and verified[0] is not None and verified[1] is None


async def test_deactivated_user_gets_403_only_with_the_right_password(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    actor = await create_user(app, email="disabled@example.com", password=PASSWORD, is_active=False)
    right = await client.post(f"{API}/auth/login", json={"email": actor.user.email, "password": PASSWORD})
    assert_problem(right, 403, "account_disabled")
    wrong = await client.post(f"{API}/auth/login", json={"email": actor.user.email, "password": "x" * 12})
    assert_problem(wrong, 401, "invalid_credentials")
    assert_problem(await client.get(f"{API}/auth/me", headers=actor.headers), 401, "invalid_token")


async def test_deleted_user_cannot_sign_in(app: FastAPI, client: httpx.AsyncClient) -> None:
    await register(client, "gone@example.com")
    user = await user_by_email(app, "gone@example.com")
    async with app.state.database.sessionmaker() as session, session.begin():
        row = await session.get(User, user.id)
        assert row is not None
        row.deleted_at = row.created_at
    response = await client.post(
        f"{API}/auth/login", json={"email": "gone@example.com", "password": PASSWORD}
    )
    assert_problem(response, 401, "invalid_credentials")


async def test_bcrypt_hash_is_rehashed_to_argon2_on_login(app: FastAPI, client: httpx.AsyncClient) -> None:
    legacy = BcryptHasher(rounds=4).hash(PASSWORD)
    assert legacy.startswith("$2b$")
    actor = await create_user(app, email="legacy@example.com")
    async with app.state.database.sessionmaker() as session, session.begin():
        row = await session.get(User, actor.user.id)
        assert row is not None
        row.password_hash = legacy
    await login(client, "legacy@example.com")
    upgraded = (await user_by_email(app, "legacy@example.com")).password_hash
    assert upgraded is not None and upgraded.startswith("$argon2id$")
    await login(client, "legacy@example.com")  # the new hash verifies too


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_missing_expired_tampered_and_unsigned_tokens_are_401(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    actor = await create_user(app)
    assert_problem(await client.get(f"{API}/auth/me"), 401, "not_authenticated")
    expired = await access_token_for(app, actor.user, ttl=timedelta(seconds=-1))
    header, payload, signature = actor.token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    tampered = f"{header}.{_b64({**claims, 'role': 'admin'})}.{signature}"
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    wrong_alg = f"{_b64({'alg': 'HS512', 'typ': 'JWT'})}.{payload}.{signature}"
    for token in (expired, tampered, unsigned, wrong_alg, "not-a-token", "a.b.c.d.e"):
        response = await client.get(f"{API}/auth/me", headers=bearer(token))
        assert_problem(response, 401, "invalid_token")
        assert response.headers["www-authenticate"] == "Bearer"
    assert (await client.get(f"{API}/auth/me", headers=actor.headers)).status_code == 200


async def test_jwe_access_tokens_are_opaque_and_accepted(make_app: AppFactory) -> None:
    app = await make_app(token_encryption="jwe")
    async with client_for(app) as client:
        await register(client, "jwe@example.com")
        pair = await login(client, "jwe@example.com")
        assert pair["access_token"].count(".") == 4  # compact JWE
        assert b"jwe@example.com" not in base64.urlsafe_b64decode(pair["access_token"].split(".")[0] + "==")
        me = await client.get(f"{API}/auth/me", headers=bearer(pair["access_token"]))
        assert me.status_code == 200 and me.json()["email"] == "jwe@example.com"


async def test_update_me_changes_only_the_profile(app: FastAPI, client: httpx.AsyncClient) -> None:
    actor = await create_user(app)
    avatar = str((await create_file(app, actor, purpose="avatar", content_type="image/png")).id)
    response = await client.patch(
        f"{API}/auth/me",
        headers=actor.headers,
        json={"full_name": "New Name", "bio": "Hi", "avatar_file_id": avatar},
    )
    assert response.status_code == 200
    assert response.json()["full_name"] == "New Name"
    assert response.json()["bio"] == "Hi" and response.json()["avatar_file_id"] == avatar
    for forbidden in ({"role": "admin"}, {"email_verified": True}, {"organization_id": str(uuid.uuid4())}):
        assert_problem(
            await client.patch(f"{API}/auth/me", headers=actor.headers, json=forbidden),
            422,
            "validation_error",
        )
    user = await user_by_email(app, actor.user.email)
    assert user.role == Role.STUDENT and user.email_verified is False and user.organization_id is None
    assert user.full_name == "New Name" and user.bio == "Hi"


@pytest.mark.postgresql_only
async def test_concurrent_registrations_of_one_email_create_one_user(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    responses = await asyncio.gather(
        *(
            client.post(
                f"{API}/auth/register",
                json={"email": f"{case}@example.com", "password": PASSWORD, "full_name": "Twin"},
            )
            for case in ("twin", "TWIN", "Twin", "tWin", "twiN")
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409, 409, 409, 409], statuses
    for response in responses:
        if response.status_code == 409:
            assert_problem(response, 409, "email_taken")
    async with app.state.database.sessionmaker() as session:
        assert len((await session.scalars(select(User).where(User.email == "twin@example.com"))).all()) == 1
