"""The platform always keeps an active admin: the last one can be neither demoted, deactivated
nor deleted (`409 last_admin`), not even by two admins acting at the same moment."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from studyhall.identity.models import AuthSession, Role, User
from tests.factories import (
    API,
    Actor,
    assert_problem,
    count_rows,
    create_organization,
    create_user,
    events,
    fresh_row,
)

USERS = f"{API}/users"
Attempt = Callable[[httpx.AsyncClient, Actor, Actor], Awaitable[httpx.Response]]


async def demote(client: httpx.AsyncClient, actor: Actor, target: Actor) -> httpx.Response:
    return await client.patch(f"{USERS}/{target.id}", headers=actor.headers, json={"role": "student"})


async def deactivate(client: httpx.AsyncClient, actor: Actor, target: Actor) -> httpx.Response:
    return await client.patch(f"{USERS}/{target.id}", headers=actor.headers, json={"is_active": False})


async def delete(client: httpx.AsyncClient, actor: Actor, target: Actor) -> httpx.Response:
    return await client.delete(f"{USERS}/{target.id}", headers=actor.headers)


async def active_admins(app: FastAPI) -> int:
    async with app.state.database.sessionmaker() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.role == Role.ADMIN, User.is_active.is_(True), User.deleted_at.is_(None))
        )
    return int(count or 0)


async def live_session_count(app: FastAPI, actor: Actor) -> int:
    return await count_rows(
        app, AuthSession, AuthSession.user_id == actor.user.id, AuthSession.revoked_at.is_(None)
    )


async def assert_untouched_admin(app: FastAPI, client: httpx.AsyncClient, admin: Actor) -> None:
    user = await fresh_row(app, User, admin.user.id)
    assert (user.role, user.is_active, user.deleted_at, user.token_generation) == (Role.ADMIN, True, None, 0)
    assert await live_session_count(app, admin) == 1
    assert (await client.get(f"{API}/auth/me", headers=admin.headers)).status_code == 200


@pytest.mark.parametrize("attempt", [demote, deactivate, delete])
async def test_the_last_admin_cannot_leave_by_any_path(
    app: FastAPI, client: httpx.AsyncClient, attempt: Attempt
) -> None:
    admin = await create_user(app, Role.ADMIN)
    # Admins who are deactivated or deleted do not count.
    await create_user(app, Role.ADMIN, is_active=False)
    gone = await create_user(app, Role.ADMIN)
    assert (await delete(client, admin, gone)).status_code == 204

    response = await attempt(client, admin, admin)

    body = assert_problem(response, 409, "last_admin")
    assert body["title"] == "The last active admin cannot be demoted, deactivated or deleted"
    await assert_untouched_admin(app, client, admin)
    assert await events(app, "user.deactivated") == []
    assert [e["user_id"] for e in await events(app, "user.deleted")] == [gone.id]


async def test_adding_the_last_admin_to_an_organisation_with_another_role_is_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await create_user(app, Role.ADMIN)
    organization = await create_organization(app)
    response = await client.post(
        f"{API}/organizations/{organization.id}/members",
        headers=admin.headers,
        json={"email": admin.user.email, "role": "principal"},
    )
    assert_problem(response, 409, "last_admin")
    assert (await fresh_row(app, User, admin.user.id)).organization_id is None
    await assert_untouched_admin(app, client, admin)
    # As an admin, joining is fine.
    response = await client.post(
        f"{API}/organizations/{organization.id}/members",
        headers=admin.headers,
        json={"email": admin.user.email, "role": "admin"},
    )
    assert response.status_code == 201 and response.json()["user"]["role"] == "admin"


async def test_changes_that_keep_the_last_admin_an_admin_pass(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await create_user(app, Role.ADMIN)
    response = await client.patch(
        f"{USERS}/{admin.id}",
        headers=admin.headers,
        json={"role": "admin", "is_active": True, "full_name": "Root"},
    )
    assert response.status_code == 200 and response.json()["full_name"] == "Root"
    assert await active_admins(app) == 1


@pytest.mark.parametrize("attempt", [demote, deactivate, delete])
async def test_with_two_admins_one_may_go_but_not_the_other(
    app: FastAPI, client: httpx.AsyncClient, attempt: Attempt
) -> None:
    first = await create_user(app, Role.ADMIN)
    second = await create_user(app, Role.ADMIN)

    assert (await attempt(client, first, second)).status_code in (200, 204)

    assert await active_admins(app) == 1
    assert_problem(await attempt(client, first, first), 409, "last_admin")
    await assert_untouched_admin(app, client, first)


async def test_a_deactivated_admin_counts_again_once_reactivated(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await create_user(app, Role.ADMIN)
    dormant = await create_user(app, Role.ADMIN, is_active=False)
    assert_problem(await demote(client, admin, admin), 409, "last_admin")
    reactivated = await client.patch(f"{USERS}/{dormant.id}", headers=admin.headers, json={"is_active": True})
    assert reactivated.status_code == 200
    assert (await demote(client, admin, admin)).json()["role"] == "student"
    assert await active_admins(app) == 1


@pytest.mark.postgresql_only
@pytest.mark.parametrize("attempt", [demote, deactivate, delete])
async def test_admins_leaving_at_the_same_moment_leave_one_behind(
    app: FastAPI, client: httpx.AsyncClient, attempt: Attempt
) -> None:
    admins = [await create_user(app, Role.ADMIN) for _ in range(5)]

    responses = await asyncio.gather(*(attempt(client, admin, admin) for admin in admins))

    statuses = sorted(r.status_code for r in responses)
    assert statuses[:4] in ([200] * 4, [204] * 4), statuses
    assert statuses[4] == 409, statuses
    (refused,) = [r for r in responses if r.status_code == 409]
    assert_problem(refused, 409, "last_admin")
    assert await active_admins(app) == 1


@pytest.mark.postgresql_only
async def test_two_admins_demoting_each_other_at_once_do_not_both_succeed(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    first = await create_user(app, Role.ADMIN)
    second = await create_user(app, Role.ADMIN)

    responses = await asyncio.gather(demote(client, first, second), demote(client, second, first))

    statuses = sorted(r.status_code for r in responses)
    # The loser is refused by the rule, or, when its request authenticates after the
    # winner's commit, as the student it has become.
    assert statuses in ([200, 403], [200, 409]), statuses
    (refused,) = [r for r in responses if r.status_code != 200]
    assert_problem(
        refused, refused.status_code, "last_admin" if refused.status_code == 409 else "insufficient_role"
    )
    assert await active_admins(app) == 1
