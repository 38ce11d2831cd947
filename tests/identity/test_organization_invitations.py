"""An organisation's invitations: listed and withdrawn by its principal or an admin; a
withdrawn invitation no longer attaches the address when it registers."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from studyhall.identity.models import Organization, OrganizationInvitation, Role
from tests.factories import (
    API,
    Actor,
    assert_problem,
    create_organization,
    create_user,
    fresh_row,
    race,
    register,
    rows,
)


@pytest.fixture
async def north(app: FastAPI) -> Organization:
    return await create_organization(app, "North School")


@pytest.fixture
async def principal(app: FastAPI, north: Organization) -> Actor:
    return await create_user(app, Role.PRINCIPAL, organization=north)


async def invite(
    client: httpx.AsyncClient, by: Actor, organization: Organization, email: str
) -> dict[str, Any]:
    response = await client.post(
        f"{API}/organizations/{organization.id}/members",
        headers=by.headers,
        json={"email": email, "role": "instructor"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "invited"
    invitation: dict[str, Any] = response.json()["invitation"]
    return invitation


async def test_principal_lists_pending_and_past_invitations_newest_first(
    app: FastAPI, client: httpx.AsyncClient, north: Organization, principal: Actor
) -> None:
    first = await invite(client, principal, north, "first@example.com")
    second = await invite(client, principal, north, "second@example.com")
    await register(client, "first@example.com")

    everything = await client.get(f"{API}/organizations/{north.id}/invitations", headers=principal.headers)
    pending = await client.get(
        f"{API}/organizations/{north.id}/invitations", headers=principal.headers, params={"pending": "true"}
    )

    assert everything.status_code == 200, everything.text
    assert [item["id"] for item in everything.json()["items"]] == [second["id"], first["id"]]
    assert everything.json()["total"] == 2
    accepted = everything.json()["items"][1]
    assert accepted["accepted_at"] is not None and accepted["revoked_at"] is None
    assert [item["email"] for item in pending.json()["items"]] == ["second@example.com"]
    assert pending.json()["total"] == 1


async def test_a_withdrawn_invitation_does_not_attach_and_a_new_one_renews_it(
    app: FastAPI, client: httpx.AsyncClient, north: Organization, principal: Actor
) -> None:
    invitation = await invite(client, principal, north, "maybe@example.com")

    withdrawn = await client.delete(
        f"{API}/organizations/{north.id}/invitations/{invitation['id']}", headers=principal.headers
    )

    assert withdrawn.status_code == 204
    row = await fresh_row(app, OrganizationInvitation, invitation["id"])
    assert row.revoked_at is not None and row.accepted_at is None
    listed = await client.get(f"{API}/organizations/{north.id}/invitations", headers=principal.headers)
    assert listed.json()["items"][0]["revoked_at"] is not None
    again = await client.delete(
        f"{API}/organizations/{north.id}/invitations/{invitation['id']}", headers=principal.headers
    )
    assert_problem(again, 404, "invitation_not_found")

    renewed = await invite(client, principal, north, "maybe@example.com")
    assert renewed["id"] == invitation["id"] and renewed["revoked_at"] is None
    joined = await register(client, "maybe@example.com")
    assert (joined["organization_id"], joined["role"]) == (str(north.id), "instructor")


async def test_registering_after_the_withdrawal_joins_nothing(
    app: FastAPI, client: httpx.AsyncClient, north: Organization, principal: Actor
) -> None:
    invitation = await invite(client, principal, north, "gone@example.com")
    url = f"{API}/organizations/{north.id}/invitations/{invitation['id']}"
    assert (await client.delete(url, headers=principal.headers)).status_code == 204

    joined = await register(client, "gone@example.com")

    assert (joined["organization_id"], joined["role"]) == (None, "student")
    [row] = await rows(app, OrganizationInvitation)
    assert row.accepted_at is None and row.accepted_user_id is None


async def test_accepted_unknown_and_other_organisations_invitations_are_404(
    app: FastAPI, client: httpx.AsyncClient, north: Organization, principal: Actor
) -> None:
    south = await create_organization(app, "South School")
    south_principal = await create_user(app, Role.PRINCIPAL, organization=south)
    accepted = await invite(client, principal, north, "took@example.com")
    await register(client, "took@example.com")
    theirs = await invite(client, south_principal, south, "theirs@example.com")

    for invitation_id in (accepted["id"], theirs["id"], str(uuid.uuid4())):
        response = await client.delete(
            f"{API}/organizations/{north.id}/invitations/{invitation_id}", headers=principal.headers
        )
        assert_problem(response, 404, "invitation_not_found")
    assert_problem(
        await client.get(f"{API}/organizations/{south.id}/invitations", headers=principal.headers),
        404,
        "organization_not_found",
    )
    assert (await fresh_row(app, OrganizationInvitation, theirs["id"])).revoked_at is None


async def test_members_who_are_not_principals_may_not_list_or_withdraw(
    app: FastAPI, client: httpx.AsyncClient, north: Organization, principal: Actor
) -> None:
    invitation = await invite(client, principal, north, "kept@example.com")
    teacher = await create_user(app, Role.INSTRUCTOR, organization=north)

    listed = await client.get(f"{API}/organizations/{north.id}/invitations", headers=teacher.headers)
    withdrawn = await client.delete(
        f"{API}/organizations/{north.id}/invitations/{invitation['id']}", headers=teacher.headers
    )
    anonymous = await client.get(f"{API}/organizations/{north.id}/invitations")

    assert_problem(listed, 403, "cannot_manage_user")
    assert_problem(withdrawn, 403, "cannot_manage_user")
    assert anonymous.status_code == 401
    assert (await fresh_row(app, OrganizationInvitation, invitation["id"])).revoked_at is None


async def test_an_admin_withdraws_and_two_concurrent_withdrawals_succeed_once(
    app: FastAPI, client: httpx.AsyncClient, north: Organization, principal: Actor
) -> None:
    admin = await create_user(app, Role.ADMIN)
    invitation = await invite(client, principal, north, "twice@example.com")
    url = f"{API}/organizations/{north.id}/invitations/{invitation['id']}"

    responses = await race(
        [client.delete(url, headers=admin.headers), client.delete(url, headers=principal.headers)]
    )

    assert sorted(response.status_code for response in responses) == [204, 404]
    assert (await fresh_row(app, OrganizationInvitation, invitation["id"])).revoked_at is not None
