"""Test data factories: users, organisations and their tokens, written straight to the DB."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta

from fastapi import FastAPI

from studyhall.core.security import access_token_claims
from studyhall.identity.models import Organization, Role, User

_sequence = itertools.count(1)
DEFAULT_PASSWORD = "correct horse battery staple"


@dataclass
class Actor:
    """A user plus ready-made `Authorization` headers."""

    user: User
    token: str
    password: str = DEFAULT_PASSWORD

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def id(self) -> str:
        return str(self.user.id)


def access_token_for(app: FastAPI, user: User, ttl: timedelta = timedelta(minutes=15)) -> str:
    claims = access_token_claims(
        subject=user.id,
        role=user.role,
        organization_id=user.organization_id,
        generation=user.token_generation,
        ttl=ttl,
    )
    token: str = app.state.tokens.encode(claims)
    return token


async def create_organization(app: FastAPI, name: str | None = None) -> Organization:
    n = next(_sequence)
    async with app.state.database.sessionmaker() as session, session.begin():
        organization = Organization(name=name or f"Organization {n}", slug=f"org-{n}")
        session.add(organization)
    return organization


async def create_user(
    app: FastAPI,
    role: Role | str = Role.STUDENT,
    *,
    email: str | None = None,
    full_name: str | None = None,
    organization: Organization | None = None,
    password: str = DEFAULT_PASSWORD,
    is_active: bool = True,
) -> Actor:
    n = next(_sequence)
    password_hash = await app.state.passwords.hash(password)
    async with app.state.database.sessionmaker() as session, session.begin():
        user = User(
            email=(email or f"user{n}@example.com").lower(),
            full_name=full_name or f"{Role(role).value.title()} {n}",
            password_hash=password_hash,
            role=Role(role).value,
            organization_id=organization.id if organization else None,
            is_active=is_active,
        )
        session.add(user)
    return Actor(user=user, token=access_token_for(app, user), password=password)
