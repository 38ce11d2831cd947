"""Who may do what, as small named functions. Every domain's permission checks build on these."""

from __future__ import annotations

import uuid

from studyhall.identity.models import Role, User

STAFF_ROLES = frozenset({Role.INSTRUCTOR, Role.PRINCIPAL, Role.ADMIN})


def is_admin(user: User) -> bool:
    return user.role == Role.ADMIN


def is_principal(user: User) -> bool:
    return user.role == Role.PRINCIPAL


def is_staff(user: User) -> bool:
    """Instructors, principals and admins: people who create and run courses."""
    return user.role in STAFF_ROLES


def is_principal_of(user: User, organization_id: uuid.UUID | None) -> bool:
    return (
        user.role == Role.PRINCIPAL
        and organization_id is not None
        and user.organization_id == organization_id
    )


def is_member_of(user: User, organization_id: uuid.UUID | None) -> bool:
    return organization_id is not None and user.organization_id == organization_id


def can_view_user(actor: User, target: User) -> bool:
    return actor.id == target.id or is_admin(actor) or is_principal_of(actor, target.organization_id)


def can_manage_user(actor: User, target: User) -> bool:
    """Admins manage everyone; a principal manages non-admins of their own organisation."""
    if is_admin(actor):
        return True
    return is_principal_of(actor, target.organization_id) and target.role != Role.ADMIN


def can_assign_role(actor: User, role: Role) -> bool:
    """Only admins create admins; principals assign any other role."""
    if is_admin(actor):
        return True
    return is_principal(actor) and role != Role.ADMIN


def can_manage_organization(actor: User, organization_id: uuid.UUID) -> bool:
    return is_admin(actor) or is_principal_of(actor, organization_id)


def can_view_organization(actor: User, organization_id: uuid.UUID) -> bool:
    return is_admin(actor) or is_member_of(actor, organization_id)
