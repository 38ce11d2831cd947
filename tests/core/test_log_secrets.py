"""SQL parameters (password hashes, personal data) never reach the logs or error messages."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from studyhall.config import Settings
from studyhall.core.deps import SessionDep
from studyhall.identity.models import User
from studyhall.main import create_app
from tests.conftest import empty_tables
from tests.factories import API, PASSWORD, assert_problem, client_for, create_user

SECRET = "s3cr3t-Value-8d1f0c"
ARGON2_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA"
HIDDEN = "[SQL parameters hidden due to hide_parameters=True]"


def install_duplicate_user_route(app: FastAPI) -> None:
    router = APIRouter()

    @router.post("/_probe/duplicate-user")
    async def duplicate_user(session: SessionDep) -> None:
        session.add(User(email="taken@example.com", full_name=SECRET, password_hash=ARGON2_HASH))
        await session.flush()  # unique violation on the email, a bug the app did not expect

    app.include_router(router)


@pytest.fixture
def sqlalchemy_echo_handlers() -> Iterator[None]:
    """`echo=True` adds a handler to SQLAlchemy's shared engine logger; leave none behind."""
    engine_logger = logging.getLogger("sqlalchemy.engine.Engine")
    before = list(engine_logger.handlers)
    yield
    engine_logger.handlers[:] = before


async def test_a_database_error_is_logged_without_its_parameters(
    app: FastAPI, client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    install_duplicate_user_route(app)
    await create_user(app, email="taken@example.com")
    capsys.readouterr()

    response = await client.post("/_probe/duplicate-user", headers={"X-Request-ID": "dup-1"})

    assert_problem(response, 500, "internal_error")
    logged = "".join(capsys.readouterr())
    crash = [line for line in logged.splitlines() if "unhandled_exception" in line]
    assert crash, logged
    assert "dup-1" in crash[0] and "IntegrityError" in crash[0]  # the error itself is logged
    assert HIDDEN in crash[0]
    for leaked in (SECRET, "$argon2"):
        assert leaked not in logged
        assert leaked not in response.text


async def test_sql_echo_shows_statements_but_not_parameters(
    settings: Settings, capsys: pytest.CaptureFixture[str], sqlalchemy_echo_handlers: None
) -> None:
    app = create_app(settings.model_copy(update={"database_echo": True}))
    async with app.router.lifespan_context(app), client_for(app) as client:
        response = await client.post(
            f"{API}/auth/register",
            json={"email": "echo@example.com", "password": PASSWORD, "full_name": SECRET},
        )
        await empty_tables(app.state.database.engine)
    assert response.status_code == 201, response.text
    logged = "".join(capsys.readouterr())
    assert "INSERT INTO users" in logged
    assert HIDDEN in logged
    for leaked in (SECRET, "$argon2", "echo@example.com"):
        assert leaked not in logged
