"""Users and organisations administration: admins everywhere, principals in their own
organisation only, everyone else nowhere."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from studyhall.identity.models import Organization, OrganizationInvitation, Role, User
from tests.factories import (
    API,
    PASSWORD,
    Actor,
    assert_problem,
    create_organization,
    create_user,
    fresh_row,
    login,
    mails_in,
    register,
)


@pytest.fixture
async def school(app: FastAPI) -> dict[str, object]:
    """Two organisations with a principal, an instructor and a student each, and an admin."""
    north = await create_organization(app, "North School")
    south = await create_organization(app, "South School")
    return {
        "north": north,
        "south": south,
        "admin": await create_user(app, Role.ADMIN, full_name="Root Admin"),
        "principal": await create_user(app, Role.PRINCIPAL, organization=north, full_name="Pat Principal"),
        "teacher": await create_user(app, Role.INSTRUCTOR, organization=north, full_name="Tess Teacher"),
        "student": await create_user(app, Role.STUDENT, organization=north, full_name="Stu Dent"),
        "south_student": await create_user(app, Role.STUDENT, organization=south, full_name="Sid South"),
        "south_principal": await create_user(app, Role.PRINCIPAL, organization=south),
    }


def actor(school: dict[str, object], name: str) -> Actor:
    value = school[name]
    assert isinstance(value, Actor)
    return value


def org(school: dict[str, object], name: str) -> Organization:
    value = school[name]
    assert isinstance(value, Organization)
    return value


async def test_admin_lists_and_filters_users(client: httpx.AsyncClient, school: dict[str, object]) -> None:
    headers = actor(school, "admin").headers
    everyone = (await client.get(f"{API}/users", headers=headers)).json()
    assert everyone["total"] == 6 and everyone["limit"] == 20 and everyone["offset"] == 0
    students = (await client.get(f"{API}/users", headers=headers, params={"role": "student"})).json()
    assert {u["full_name"] for u in students["items"]} == {"Stu Dent", "Sid South"}
    north = (
        await client.get(
            f"{API}/users", headers=headers, params={"organization_id": str(org(school, "north").id)}
        )
    ).json()
    assert north["total"] == 3
    found = (await client.get(f"{API}/users", headers=headers, params={"q": "TEACH"})).json()
    assert [u["full_name"] for u in found["items"]] == ["Tess Teacher"]
    by_email = (
        await client.get(f"{API}/users", headers=headers, params={"q": actor(school, "student").user.email})
    ).json()
    assert [u["id"] for u in by_email["items"]] == [actor(school, "student").id]
    wildcard = (await client.get(f"{API}/users", headers=headers, params={"q": "%"})).json()
    assert wildcard["total"] == 0
    page = (await client.get(f"{API}/users", headers=headers, params={"limit": 2, "offset": 2})).json()
    assert len(page["items"]) == 2 and page["total"] == 6
    assert_problem(
        await client.get(f"{API}/users", headers=headers, params={"limit": 101}), 422, "validation_error"
    )


async def test_principal_sees_only_their_organisation(
    client: httpx.AsyncClient, school: dict[str, object]
) -> None:
    headers = actor(school, "principal").headers
    listed = (await client.get(f"{API}/users", headers=headers)).json()
    assert {u["full_name"] for u in listed["items"]} == {"Pat Principal", "Tess Teacher", "Stu Dent"}
    other = (
        await client.get(
            f"{API}/users", headers=headers, params={"organization_id": str(org(school, "south").id)}
        )
    ).json()
    assert other["total"] == 0
    foreign = actor(school, "south_student").id
    assert_problem(await client.get(f"{API}/users/{foreign}", headers=headers), 404, "user_not_found")
    assert_problem(
        await client.patch(f"{API}/users/{foreign}", headers=headers, json={"full_name": "Hacked"}),
        404,
        "user_not_found",
    )
    assert (
        await client.get(f"{API}/users/{actor(school, 'student').id}", headers=headers)
    ).status_code == 200


async def test_users_can_read_themselves_but_not_others(
    client: httpx.AsyncClient, school: dict[str, object]
) -> None:
    student = actor(school, "student")
    assert (await client.get(f"{API}/users/{student.id}", headers=student.headers)).json()["id"] == student.id
    teacher = actor(school, "teacher").id
    assert_problem(await client.get(f"{API}/users/{teacher}", headers=student.headers), 404, "user_not_found")
    assert_problem(
        await client.get(f"{API}/users/{uuid.uuid4()}", headers=actor(school, "admin").headers),
        404,
        "user_not_found",
    )


@pytest.mark.parametrize("role", ["student", "teacher"])
async def test_students_and_instructors_reach_no_admin_route(
    client: httpx.AsyncClient, school: dict[str, object], role: str
) -> None:
    headers = actor(school, role).headers
    target = actor(school, "student").id
    north = org(school, "north").id
    calls = [
        client.get(f"{API}/users", headers=headers),
        client.patch(f"{API}/users/{target}", headers=headers, json={"role": "admin"}),
        client.delete(f"{API}/users/{target}", headers=headers),
        client.post(f"{API}/users/{target}/restore", headers=headers),
        client.post(f"{API}/organizations", headers=headers, json={"name": "Mine", "slug": "mine"}),
    ]
    for call in calls:
        assert_problem(await call, 403, "insufficient_role")
    # Own organisation: visible (so 403, not 404) but not manageable.
    assert_problem(
        await client.patch(f"{API}/organizations/{north}", headers=headers, json={"name": "X"}),
        403,
        "cannot_manage_user",
    )
    assert_problem(
        await client.post(f"{API}/organizations/{north}/members", headers=headers, json={"email": "a@b.co"}),
        403,
        "cannot_manage_user",
    )
    assert (await client.get(f"{API}/organizations/{north}", headers=headers)).status_code == 200
    assert (await client.get(f"{API}/users", headers=headers)).status_code == 403


async def test_anonymous_callers_are_401(client: httpx.AsyncClient) -> None:
    for path in (f"{API}/users", f"{API}/organizations", f"{API}/users/{uuid.uuid4()}"):
        response = await client.get(path)
        assert_problem(response, 401, "not_authenticated")
        assert response.headers["www-authenticate"] == "Bearer"


async def test_principal_manages_own_users_but_never_admins(
    app: FastAPI, client: httpx.AsyncClient, school: dict[str, object]
) -> None:
    headers = actor(school, "principal").headers
    student = actor(school, "student")
    promoted = await client.patch(f"{API}/users/{student.id}", headers=headers, json={"role": "instructor"})
    assert promoted.status_code == 200 and promoted.json()["role"] == "instructor"
    assert_problem(
        await client.patch(f"{API}/users/{student.id}", headers=headers, json={"role": "admin"}),
        403,
        "role_not_assignable",
    )
    assert_problem(
        await client.patch(
            f"{API}/users/{student.id}",
            headers=headers,
            json={"organization_id": str(org(school, "south").id)},
        ),
        403,
        "organization_not_allowed",
    )
    # An admin inside the principal's organisation cannot be changed by the principal.
    north_admin = await create_user(app, Role.ADMIN, organization=org(school, "north"))
    assert_problem(
        await client.patch(f"{API}/users/{north_admin.id}", headers=headers, json={"role": "student"}),
        403,
        "cannot_manage_user",
    )
    assert (await fresh_row(app, User, north_admin.user.id)).role == Role.ADMIN
    assert (await fresh_row(app, User, student.user.id)).role == Role.INSTRUCTOR


async def test_admin_changes_roles_and_organisations(
    app: FastAPI, client: httpx.AsyncClient, school: dict[str, object]
) -> None:
    headers = actor(school, "admin").headers
    student = actor(school, "student")
    response = await client.patch(
        f"{API}/users/{student.id}",
        headers=headers,
        json={"role": "admin", "organization_id": str(org(school, "south").id), "full_name": "Promoted"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["role"] == "admin" and body["organization_id"] == str(org(school, "south").id)
    removed = await client.patch(f"{API}/users/{student.id}", headers=headers, json={"organization_id": None})
    assert removed.json()["organization_id"] is None
    assert_problem(
        await client.patch(
            f"{API}/users/{student.id}", headers=headers, json={"organization_id": str(uuid.uuid4())}
        ),
        422,
        "validation_error",
    )
    assert_problem(
        await client.patch(f"{API}/users/{student.id}", headers=headers, json={"role": "overlord"}),
        422,
        "validation_error",
    )


async def test_delete_and_restore_user(
    app: FastAPI, client: httpx.AsyncClient, school: dict[str, object]
) -> None:
    headers = actor(school, "admin").headers
    await register(client, "leaving@example.com")
    pair = await login(client, "leaving@example.com")
    async with app.state.database.sessionmaker() as session:
        user_id = await session.scalar(select(User.id).where(User.email == "leaving@example.com"))
    assert (await client.delete(f"{API}/users/{user_id}", headers=headers)).status_code == 204
    assert_problem(
        await client.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {pair['access_token']}"}),
        401,
        "invalid_token",
    )
    assert_problem(
        await client.post(f"{API}/auth/login", json={"email": "leaving@example.com", "password": PASSWORD}),
        401,
        "invalid_credentials",
    )
    listed = (await client.get(f"{API}/users", headers=headers, params={"q": "leaving"})).json()
    assert listed["total"] == 0
    with_deleted = (
        await client.get(f"{API}/users", headers=headers, params={"q": "leaving", "include_deleted": True})
    ).json()
    assert with_deleted["total"] == 1 and with_deleted["items"][0]["deleted_at"] is not None
    assert_problem(await client.delete(f"{API}/users/{user_id}", headers=headers), 404, "user_not_found")

    restored = await client.post(f"{API}/users/{user_id}/restore", headers=headers)
    assert restored.status_code == 200 and restored.json()["deleted_at"] is None
    await login(client, "leaving@example.com")
    # Tokens from before the deletion stay dead.
    assert_problem(
        await client.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {pair['access_token']}"}),
        401,
        "session_revoked",
    )
    assert_problem(
        await client.post(f"{API}/users/{uuid.uuid4()}/restore", headers=headers), 404, "user_not_found"
    )


async def test_organisation_crud(client: httpx.AsyncClient, school: dict[str, object]) -> None:
    admin = actor(school, "admin").headers
    created = await client.post(f"{API}/organizations", headers=admin, json={"name": "West", "slug": "west"})
    assert created.status_code == 201
    body = created.json()
    assert body["slug"] == "west" and body["name"] == "West"
    assert_problem(
        await client.post(f"{API}/organizations", headers=admin, json={"name": "Again", "slug": "west"}),
        409,
        "organization_slug_taken",
    )
    assert_problem(
        await client.post(f"{API}/organizations", headers=admin, json={"name": "Bad", "slug": "Not A Slug"}),
        422,
        "validation_error",
    )
    assert (await client.get(f"{API}/organizations", headers=admin)).json()["total"] == 3

    principal = actor(school, "principal").headers
    mine = (await client.get(f"{API}/organizations", headers=principal)).json()
    assert [o["id"] for o in mine["items"]] == [str(org(school, "north").id)]
    assert_problem(
        await client.get(f"{API}/organizations/{body['id']}", headers=principal),
        404,
        "organization_not_found",
    )
    assert_problem(
        await client.patch(f"{API}/organizations/{body['id']}", headers=principal, json={"name": "Mine"}),
        404,
        "organization_not_found",
    )
    renamed = await client.patch(
        f"{API}/organizations/{org(school, 'north').id}", headers=principal, json={"name": "North Academy"}
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "North Academy"
    assert_problem(
        await client.patch(
            f"{API}/organizations/{org(school, 'north').id}", headers=principal, json={"slug": "west"}
        ),
        409,
        "organization_slug_taken",
    )
    loner = await client.get(f"{API}/organizations", headers=actor(school, "admin").headers)
    assert loner.status_code == 200


async def test_members_are_added_invited_and_removed(
    app: FastAPI, client: httpx.AsyncClient, school: dict[str, object]
) -> None:
    north = org(school, "north")
    principal = actor(school, "principal").headers
    loner = await create_user(app, Role.STUDENT, email="loner@example.com")
    added = await client.post(
        f"{API}/organizations/{north.id}/members",
        headers=principal,
        json={"email": "LONER@example.com", "role": "instructor"},
    )
    assert added.status_code == 201
    assert added.json()["status"] == "added"
    assert added.json()["user"]["organization_id"] == str(north.id)
    assert (await fresh_row(app, User, loner.user.id)).role == Role.INSTRUCTOR

    taken = await client.post(
        f"{API}/organizations/{north.id}/members",
        headers=principal,
        json={"email": actor(school, "south_student").user.email},
    )
    assert_problem(taken, 409, "user_in_other_organization")
    assert_problem(
        await client.post(
            f"{API}/organizations/{north.id}/members",
            headers=principal,
            json={"email": "x@example.com", "role": "admin"},
        ),
        403,
        "role_not_assignable",
    )
    assert_problem(
        await client.post(
            f"{API}/organizations/{org(school, 'south').id}/members",
            headers=principal,
            json={"email": "y@example.com"},
        ),
        404,
        "organization_not_found",
    )

    invited = await client.post(
        f"{API}/organizations/{north.id}/members",
        headers=principal,
        json={"email": "New.Teacher@example.com", "role": "instructor"},
    )
    assert invited.status_code == 201
    assert invited.json()["status"] == "invited"
    assert invited.json()["invitation"]["email"] == "new.teacher@example.com"
    await app.state.dispatcher.drain()
    [invitation_mail] = mails_in(app.state.settings.mail_dir)
    assert invitation_mail["To"] == "new.teacher@example.com"
    assert "North School" in invitation_mail["Subject"]

    joined = await register(client, "new.teacher@example.com")
    assert joined["organization_id"] == str(north.id)
    assert joined["role"] == "instructor"
    async with app.state.database.sessionmaker() as session:
        invitation = await session.scalar(select(OrganizationInvitation))
    assert invitation is not None and invitation.accepted_at is not None
    assert str(invitation.accepted_user_id) == joined["id"]

    removed = await client.delete(f"{API}/organizations/{north.id}/members/{loner.id}", headers=principal)
    assert removed.status_code == 204
    assert (await fresh_row(app, User, loner.user.id)).organization_id is None
    assert_problem(
        await client.delete(f"{API}/organizations/{north.id}/members/{loner.id}", headers=principal),
        404,
        "user_not_found",
    )
    assert_problem(
        await client.delete(
            f"{API}/organizations/{north.id}/members/{actor(school, 'south_student').id}", headers=principal
        ),
        404,
        "user_not_found",
    )


async def test_registration_without_invitation_joins_nothing(
    client: httpx.AsyncClient, school: dict[str, object]
) -> None:
    body = await register(client, "independent@example.com")
    assert body["organization_id"] is None and body["role"] == "student"
