"""Password reset and email verification through emailed single-use links, on the
embedded mailer (files under DATA_DIR/mail) and over a real SMTP server."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from studyhall.core.clock import utcnow
from studyhall.core.events import OutboxEvent
from studyhall.core.mail import SmtpConfig
from studyhall.identity.models import OneTimeToken, TokenPurpose
from tests.factories import (
    API,
    PASSWORD,
    AppFactory,
    SmtpSink,
    assert_problem,
    bearer,
    client_for,
    count_rows,
    html_of,
    login,
    mails_in,
    register,
    rows,
    text_of,
    user_by_email,
)
from tests.identity.conftest import token_in

NEW_PASSWORD = "a brand new passphrase"


async def drain(app: FastAPI) -> None:
    await app.state.dispatcher.drain()


async def request_reset(client: httpx.AsyncClient, email: str) -> None:
    response = await client.post(f"{API}/auth/password-reset/request", json={"email": email})
    assert response.status_code == 202


async def test_registration_mails_a_verification_link(app: FastAPI, client: httpx.AsyncClient) -> None:
    await register(client, "verify@example.com")
    assert mails_in(app.state.settings.mail_dir) == []  # nothing is sent inside the request
    await drain(app)
    [message] = mails_in(app.state.settings.mail_dir)
    assert message["To"] == "verify@example.com"
    assert message["From"] == app.state.settings.mail_from
    assert "Confirm your email" in message["Subject"]
    token = token_in(message, "verify-email")
    assert f"{app.state.settings.app_url}/verify-email?token={token}" in text_of(message)
    assert token in html_of(message)
    # The token is stored only as a hash.
    async with app.state.database.sessionmaker() as session:
        stored = (await session.scalars(select(OneTimeToken.token_hash))).all()
    assert token not in stored and len(stored) == 1

    assert (await client.post(f"{API}/auth/verify-email/confirm", json={"token": token})).status_code == 204
    assert (await user_by_email(app, "verify@example.com")).email_verified is True
    again = await client.post(f"{API}/auth/verify-email/confirm", json={"token": token})
    assert_problem(again, 404, "invalid_verification_token")


async def test_verification_can_be_requested_again(app: FastAPI, client: httpx.AsyncClient) -> None:
    await register(client, "again@example.com")
    pair = await login(client, "again@example.com")
    response = await client.post(f"{API}/auth/verify-email/request", headers=bearer(pair["access_token"]))
    assert response.status_code == 202
    await drain(app)
    first, second = mails_in(app.state.settings.mail_dir)
    # Using the newer token retires the older one.
    assert (
        await client.post(
            f"{API}/auth/verify-email/confirm", json={"token": token_in(second, "verify-email")}
        )
    ).status_code == 204
    assert_problem(
        await client.post(
            f"{API}/auth/verify-email/confirm", json={"token": token_in(first, "verify-email")}
        ),
        404,
        "invalid_verification_token",
    )
    assert_problem(await client.post(f"{API}/auth/verify-email/request"), 401, "not_authenticated")


async def test_password_reset_flow(app: FastAPI, client: httpx.AsyncClient) -> None:
    await register(client, "reset@example.com")
    session_before = await login(client, "reset@example.com")
    await drain(app)  # the verification mail
    already = len(mails_in(app.state.settings.mail_dir))
    await request_reset(client, "RESET@example.com")
    await drain(app)
    message = mails_in(app.state.settings.mail_dir)[already]
    assert message["To"] == "reset@example.com" and "Reset your" in message["Subject"]
    token = token_in(message, "reset-password")
    confirmed = await client.post(
        f"{API}/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert confirmed.status_code == 204
    await login(client, "reset@example.com", NEW_PASSWORD)
    assert_problem(
        await client.post(f"{API}/auth/login", json={"email": "reset@example.com", "password": PASSWORD}),
        401,
        "invalid_credentials",
    )
    # Every earlier session and access token ended.
    assert_problem(
        await client.post(f"{API}/auth/refresh", json={"refresh_token": session_before["refresh_token"]}),
        401,
        "invalid_refresh_token",
    )
    assert_problem(
        await client.get(f"{API}/auth/me", headers=bearer(session_before["access_token"])),
        401,
        "session_revoked",
    )
    # Single use.
    reused = await client.post(
        f"{API}/auth/password-reset/confirm", json={"token": token, "new_password": "yet another passphrase"}
    )
    assert_problem(reused, 404, "invalid_reset_token")


async def test_reset_for_unknown_email_is_202_and_sends_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await request_reset(client, "nobody@example.com")
    await drain(app)
    assert mails_in(app.state.settings.mail_dir) == []
    assert await count_rows(app, OutboxEvent) == 0


async def test_expired_reset_token_is_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    await register(client, "late@example.com")
    await request_reset(client, "late@example.com")
    await drain(app)
    token = token_in(mails_in(app.state.settings.mail_dir)[-1], "reset-password")
    async with app.state.database.sessionmaker() as session:
        row = await session.scalar(
            select(OneTimeToken).where(OneTimeToken.purpose == TokenPurpose.PASSWORD_RESET)
        )
    assert row is not None
    assert timedelta(minutes=59) < row.expires_at - row.created_at <= timedelta(minutes=60)
    async with app.state.database.sessionmaker() as session, session.begin():
        await session.execute(
            update(OneTimeToken)
            .where(OneTimeToken.id == row.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    response = await client.post(
        f"{API}/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert_problem(response, 404, "invalid_reset_token")
    await login(client, "late@example.com")  # the password did not change


async def test_reset_token_cannot_verify_email_and_vice_versa(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await register(client, "cross@example.com")
    await request_reset(client, "cross@example.com")
    await drain(app)
    verify_mail, reset_mail = mails_in(app.state.settings.mail_dir)
    assert_problem(
        await client.post(
            f"{API}/auth/verify-email/confirm", json={"token": token_in(reset_mail, "reset-password")}
        ),
        404,
        "invalid_verification_token",
    )
    assert_problem(
        await client.post(
            f"{API}/auth/password-reset/confirm",
            json={"token": token_in(verify_mail, "verify-email"), "new_password": NEW_PASSWORD},
        ),
        404,
        "invalid_reset_token",
    )


async def test_mail_log_lines_never_carry_tokens(
    app: FastAPI, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    await register(client, "quiet@example.com")
    await request_reset(client, "quiet@example.com")
    with caplog.at_level(logging.DEBUG):
        await drain(app)
    tokens = [
        token_in(m, "reset-password" if "Reset" in m["Subject"] else "verify-email")
        for m in mails_in(app.state.settings.mail_dir)
    ]
    assert len(tokens) == 2
    logged = "\n".join(str(record.msg) for record in caplog.records)
    assert "mail_written" in logged
    for token in tokens:
        assert token not in logged


def test_smtp_urls_are_parsed() -> None:
    plain = SmtpConfig.from_url("smtp://mailer:p%40ss@mail.example.com:2525")
    assert (plain.hostname, plain.port, plain.username, plain.password, plain.use_tls) == (
        "mail.example.com",
        2525,
        "mailer",
        "p@ss",
        False,
    )
    tls = SmtpConfig.from_url("smtps://mail.example.com")
    assert tls.use_tls and tls.port == 465 and tls.username is None
    with pytest.raises(ValueError, match="SMTP_URL"):
        SmtpConfig.from_url("http://mail.example.com")


async def test_mail_goes_out_over_smtp(make_app: AppFactory, smtp_sink: SmtpSink) -> None:
    app = await make_app(smtp_url=smtp_sink.url)
    async with client_for(app) as client:
        await register(client, "smtp@example.com")
        await request_reset(client, "smtp@example.com")
        assert smtp_sink.messages == []
        await drain(app)
        assert not app.state.settings.mail_dir.exists()  # nothing written locally
        assert [rcpt for _, rcpt in smtp_sink.envelopes] == [["smtp@example.com"], ["smtp@example.com"]]
        verify_mail = next(m for m in smtp_sink.messages if "Confirm" in m["Subject"])
        reset_mail = next(m for m in smtp_sink.messages if "Reset" in m["Subject"])
        assert html_of(reset_mail).lstrip().startswith("<!doctype html>")

        verify = await client.post(
            f"{API}/auth/verify-email/confirm", json={"token": token_in(verify_mail, "verify-email")}
        )
        assert verify.status_code == 204
        reset = await client.post(
            f"{API}/auth/password-reset/confirm",
            json={"token": token_in(reset_mail, "reset-password"), "new_password": NEW_PASSWORD},
        )
        assert reset.status_code == 204
        await login(client, "smtp@example.com", NEW_PASSWORD)
        assert (await user_by_email(app, "smtp@example.com")).email_verified is True


async def test_unreachable_smtp_server_retries_the_event(make_app: AppFactory) -> None:
    from tests.servers import free_port

    app = await make_app(smtp_url=f"smtp://127.0.0.1:{free_port()}")
    async with client_for(app) as client:
        await register(client, "retry@example.com")
        await drain(app)
    [event] = await rows(app, OutboxEvent)
    tokens = await rows(app, OneTimeToken)
    assert event.status == "pending" and event.attempts == 1
    assert event.last_error and "SMTP" in event.last_error
    assert tokens == []  # the token of the failed delivery rolled back with it
    assert isinstance(event.id, uuid.UUID)


@pytest.mark.postgresql_only
async def test_a_reset_token_works_once_under_concurrent_use(app: FastAPI, client: httpx.AsyncClient) -> None:
    await register(client, "race@example.com")
    await request_reset(client, "race@example.com")
    await drain(app)
    token = token_in(mails_in(app.state.settings.mail_dir)[-1], "reset-password")
    responses = await asyncio.gather(
        *(
            client.post(
                f"{API}/auth/password-reset/confirm",
                json={"token": token, "new_password": f"{NEW_PASSWORD} {n}"},
            )
            for n in range(4)
        )
    )
    assert sorted(r.status_code for r in responses) == [204, 404, 404, 404]
