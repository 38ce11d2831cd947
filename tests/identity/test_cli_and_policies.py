"""`studyhall create-admin` and the role policies every domain builds on."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from typer.testing import CliRunner

from studyhall.cli import app as cli
from studyhall.identity import policies
from studyhall.identity.models import Role, User
from tests.factories import API, login

ADMIN_PASSWORD = "the admin passphrase"


def run_cli(args: list[str], env: dict[str, str], stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, args, env=env, input=stdin)
    return result.exit_code, result.output


async def test_create_admin_then_sign_in(
    app: FastAPI, client: httpx.AsyncClient, database_url: str, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": database_url, "DATA_DIR": str(tmp_path), "PASSWORD_HASH_MEMORY_COST": "1024"}
    code, output = await asyncio.to_thread(
        run_cli, ["create-admin", "--email", "Root@Example.com", "--password", ADMIN_PASSWORD], env
    )
    assert code == 0, output
    assert "root@example.com" in output and ADMIN_PASSWORD not in output
    pair = await login(client, "root@example.com", ADMIN_PASSWORD)
    me = (
        await client.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {pair['access_token']}"})
    ).json()
    assert me["role"] == "admin" and me["email_verified"] is True

    again, output = await asyncio.to_thread(
        run_cli, ["create-admin", "--email", "root@example.com", "--password", ADMIN_PASSWORD], env
    )
    assert again == 1 and "already registered" in output


async def test_create_admin_prompts_for_the_password(app: FastAPI, database_url: str, tmp_path: Path) -> None:
    env = {"DATABASE_URL": database_url, "DATA_DIR": str(tmp_path), "PASSWORD_HASH_MEMORY_COST": "1024"}
    code, output = await asyncio.to_thread(
        run_cli,
        ["create-admin", "--email", "prompted@example.com"],
        env,
        f"{ADMIN_PASSWORD}\n{ADMIN_PASSWORD}\n",
    )
    assert code == 0, output
    async with app.state.database.sessionmaker() as session:
        user = await session.scalar(select(User).where(User.email == "prompted@example.com"))
    assert user is not None and user.role == Role.ADMIN


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--email", "weak@example.com", "--password", "1234567890"], "digits"),
        (["--email", "weak@example.com", "--password", "short"], "at least 10"),
        (["--email", "not-an-email", "--password", ADMIN_PASSWORD], "email"),
    ],
)
async def test_create_admin_refuses_bad_input(
    app: FastAPI, database_url: str, tmp_path: Path, args: list[str], message: str
) -> None:
    env = {"DATABASE_URL": database_url, "DATA_DIR": str(tmp_path)}
    code, output = await asyncio.to_thread(run_cli, ["create-admin", *args], env)
    assert code == 2 and message in output
    async with app.state.database.sessionmaker() as session:
        assert (await session.scalars(select(User))).all() == []


def person(role: Role, organization_id: uuid.UUID | None = None) -> User:
    return User(
        id=uuid.uuid4(),
        email=f"{uuid.uuid4().hex}@x.co",
        full_name="P",
        role=role,
        organization_id=organization_id,
    )


def test_role_policies() -> None:
    north, south = uuid.uuid4(), uuid.uuid4()
    admin = person(Role.ADMIN)
    principal = person(Role.PRINCIPAL, north)
    student = person(Role.STUDENT, north)
    foreign = person(Role.STUDENT, south)
    north_admin = person(Role.ADMIN, north)

    assert policies.can_view_user(principal, student) and not policies.can_view_user(principal, foreign)
    assert policies.can_view_user(student, student) and not policies.can_view_user(student, principal)
    assert policies.can_manage_user(admin, foreign)
    assert policies.can_manage_user(principal, student)
    assert not policies.can_manage_user(principal, north_admin)
    assert not policies.can_manage_user(principal, foreign)
    assert not policies.can_manage_user(student, student)
    assert policies.can_assign_role(admin, Role.ADMIN)
    assert policies.can_assign_role(principal, Role.INSTRUCTOR) and not policies.can_assign_role(
        principal, Role.ADMIN
    )
    assert not policies.can_assign_role(student, Role.STUDENT)
    assert policies.can_manage_organization(principal, north) and not policies.can_manage_organization(
        principal, south
    )
    assert policies.can_view_organization(student, north) and not policies.can_view_organization(
        student, south
    )
    assert not policies.can_view_organization(person(Role.STUDENT), north)
    assert policies.is_staff(principal) and not policies.is_staff(student)
