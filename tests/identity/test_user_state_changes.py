"""Deleting, restoring, deactivating users and changing organisation members: each change
emits one event, and concurrent requests behave as if they ran one after the other."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest
from fastapi import FastAPI

from studyhall.identity.models import Organization, Role, User
from tests.factories import API, Actor, assert_problem, create_organization, create_user, events, fresh_row
from tests.identity.test_last_admin import live_session_count

USERS = f"{API}/users"
PARALLEL = 10


def members_url(organization: Organization) -> str:
    return f"{API}/organizations/{organization.id}/members"


def statuses(responses: list[httpx.Response]) -> Counter[int]:
    return Counter(r.status_code for r in responses)


async def test_each_change_emits_one_event(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await create_user(app, Role.ADMIN)
    user = await create_user(app)
    organization = await create_organization(app)
    by = {"user_id": user.id, "by": admin.id}

    user_url, member_url = f"{USERS}/{user.id}", f"{members_url(organization)}/{user.id}"
    joining = {"email": user.user.email}
    calls = [  # each twice: the second time changes nothing
        (lambda: client.patch(user_url, headers=admin.headers, json={"is_active": False}), 200, 200),
        (lambda: client.patch(user_url, headers=admin.headers, json={"is_active": True}), 200, 200),
        (lambda: client.post(members_url(organization), headers=admin.headers, json=joining), 201, 201),
        (lambda: client.delete(member_url, headers=admin.headers), 204, 404),
        (lambda: client.delete(user_url, headers=admin.headers), 204, 404),
        (lambda: client.post(f"{user_url}/restore", headers=admin.headers), 200, 200),
    ]
    for call, first, again in calls:
        assert [(await call()).status_code, (await call()).status_code] == [first, again]

    assert await events(app, "user.deactivated") == [by]
    assert await events(app, "user.activated") == [by]
    assert await events(app, "user.deleted") == [by]
    assert await events(app, "user.restored") == [by]
    membership = {"organization_id": str(organization.id), **by}
    assert await events(app, "organization.member_added") == [membership]
    assert await events(app, "organization.member_removed") == [membership]


async def test_restoring_a_user_who_is_not_deleted_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await create_user(app, Role.ADMIN)
    user = await create_user(app)
    response = await client.post(f"{USERS}/{user.id}/restore", headers=admin.headers)
    assert response.status_code == 200 and response.json()["deleted_at"] is None
    assert await events(app, "user.restored") == []


@pytest.mark.postgresql_only
async def test_concurrent_deletes_delete_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await create_user(app, Role.ADMIN)
    user = await create_user(app)

    responses = await asyncio.gather(
        *(client.delete(f"{USERS}/{user.id}", headers=admin.headers) for _ in range(PARALLEL))
    )

    assert statuses(responses) == {204: 1, 404: PARALLEL - 1}
    for response in responses:
        if response.status_code == 404:
            assert_problem(response, 404, "user_not_found")
    row = await fresh_row(app, User, user.user.id)
    assert row.deleted_at is not None and row.token_generation == 1
    assert await live_session_count(app, user) == 0
    assert len(await events(app, "user.deleted")) == 1


@pytest.mark.postgresql_only
async def test_concurrent_restores_restore_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await create_user(app, Role.ADMIN)
    user = await create_user(app)
    assert (await client.delete(f"{USERS}/{user.id}", headers=admin.headers)).status_code == 204

    responses = await asyncio.gather(
        *(client.post(f"{USERS}/{user.id}/restore", headers=admin.headers) for _ in range(PARALLEL))
    )

    # Restoring is idempotent: every request answers the restored user.
    assert statuses(responses) == {200: PARALLEL}
    assert all(r.json()["deleted_at"] is None for r in responses)
    row = await fresh_row(app, User, user.user.id)
    assert row.deleted_at is None and row.deletion_id is None
    assert len(await events(app, "user.restored")) == 1


@pytest.mark.postgresql_only
async def test_concurrent_deactivations_deactivate_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await create_user(app, Role.ADMIN)
    user = await create_user(app)

    responses = await asyncio.gather(
        *(
            client.patch(f"{USERS}/{user.id}", headers=admin.headers, json={"is_active": False})
            for _ in range(PARALLEL)
        )
    )

    assert statuses(responses) == {200: PARALLEL}
    assert all(r.json()["is_active"] is False for r in responses)
    row = await fresh_row(app, User, user.user.id)
    assert row.is_active is False and row.token_generation == 1
    assert await live_session_count(app, user) == 0
    assert len(await events(app, "user.deactivated")) == 1


async def member(app: FastAPI, organization: Organization) -> Actor:
    return await create_user(app, organization=organization)


@pytest.mark.postgresql_only
async def test_concurrent_member_removals_remove_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    organization = await create_organization(app)
    principal = await create_user(app, Role.PRINCIPAL, organization=organization)
    user = await member(app, organization)

    responses = await asyncio.gather(
        *(
            client.delete(f"{members_url(organization)}/{user.id}", headers=principal.headers)
            for _ in range(PARALLEL)
        )
    )

    assert statuses(responses) == {204: 1, 404: PARALLEL - 1}
    for response in responses:
        if response.status_code == 404:
            assert_problem(response, 404, "user_not_found")
    assert (await fresh_row(app, User, user.user.id)).organization_id is None
    assert len(await events(app, "organization.member_removed")) == 1


@pytest.mark.postgresql_only
async def test_concurrent_adds_of_one_member_add_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    organization = await create_organization(app)
    principal = await create_user(app, Role.PRINCIPAL, organization=organization)
    user = await create_user(app)

    responses = await asyncio.gather(
        *(
            client.post(
                members_url(organization),
                headers=principal.headers,
                json={"email": user.user.email, "role": "instructor"},
            )
            for _ in range(PARALLEL)
        )
    )

    assert statuses(responses) == {201: PARALLEL}
    assert all(r.json()["status"] == "added" for r in responses)
    row = await fresh_row(app, User, user.user.id)
    assert row.organization_id == organization.id and row.role == Role.INSTRUCTOR
    assert len(await events(app, "organization.member_added")) == 1


@pytest.mark.postgresql_only
async def test_two_organisations_adding_one_person_at_once_get_one_each_answer(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await create_user(app, Role.ADMIN)
    north, south = await create_organization(app), await create_organization(app)
    user = await create_user(app)

    targets = [north, south] * (PARALLEL // 2)
    responses = await asyncio.gather(
        *(
            client.post(members_url(organization), headers=admin.headers, json={"email": user.user.email})
            for organization in targets
        )
    )

    # Whichever organisation wins, every attempt of the other one is refused.
    winner = (await fresh_row(app, User, user.user.id)).organization_id
    assert winner in (north.id, south.id)
    for organization, response in zip(targets, responses, strict=True):
        if organization.id == winner:
            assert response.status_code == 201, response.text
        else:
            assert_problem(response, 409, "user_in_other_organization")
    (event,) = await events(app, "organization.member_added")
    assert event["organization_id"] == str(winner)
