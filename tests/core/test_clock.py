"""One clock: every reading of "now" goes through `core.clock`, and tests move it for all."""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

import httpx
from fastapi import FastAPI

import studyhall
from studyhall.identity.models import User
from tests.factories import API, FakeClock, assert_problem, bearer, create_user, fresh_row, login

SOURCE = Path(studyhall.__file__).parent
CLOCK_MODULE = SOURCE / "core" / "clock.py"


async def test_moving_the_clock_moves_rows_services_and_token_expiry(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    actor = await create_user(app)
    pair = await login(client, actor.user.email, actor.password)
    user = await fresh_row(app, User, actor.user.id)
    assert user.created_at == clock.now, "a column default"
    assert user.last_login_at == clock.now, "a time a service recorded"

    ttl = app.state.settings.access_token_ttl_seconds
    clock.advance(seconds=ttl - 1)
    signed_in = bearer(pair["access_token"])
    assert (await client.get(f"{API}/auth/me", headers=signed_in)).status_code == 200
    clock.advance(seconds=1)
    expired = assert_problem(await client.get(f"{API}/auth/me", headers=signed_in), 401, "invalid_token")
    assert expired["detail"] == "token has expired"


def _reads_of_system_time(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "utcnow":
            found.append(f"defines utcnow() at line {node.lineno}")
        if (
            isinstance(node, ast.Attribute)
            and node.attr in {"now", "utcnow", "today"}
            and isinstance(node.value, ast.Name)
            and node.value.id in {"datetime", "date"}
        ):
            found.append(f"{node.value.id}.{node.attr} at line {node.lineno}")
    return found


def test_nothing_but_the_clock_reads_the_system_time() -> None:
    offenders = {
        str(path.relative_to(SOURCE)): found
        for path in sorted(SOURCE.rglob("*.py"))
        if path != CLOCK_MODULE and (found := _reads_of_system_time(ast.parse(path.read_text())))
    }
    assert offenders == {}


def test_the_clock_is_restored_after_the_test(clock: FakeClock) -> None:
    from studyhall.core.clock import system_time, use_clock, utcnow

    clock.advance(days=3)
    assert utcnow() == clock.now
    inner = FakeClock()
    with use_clock(inner):
        assert utcnow() == inner.now
    assert utcnow() == clock.now
    assert abs(clock.now - timedelta(days=3) - system_time()) < timedelta(minutes=1)
