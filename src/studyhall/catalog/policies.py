"""Course permissions, built on identity's role policies."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from studyhall.catalog.models import Course, CourseStatus, Visibility
from studyhall.identity.models import Role, User
from studyhall.identity.policies import is_admin, is_member_of, is_principal_of


def is_course_staff(user: User | None, course: Course, instructor_ids: Collection[uuid.UUID]) -> bool:
    """Owner, co-instructors, the organisation's principal and admins run a course."""
    if user is None:
        return False
    return (
        is_admin(user)
        or user.id == course.owner_id
        or user.id in instructor_ids
        or is_principal_of(user, course.organization_id)
    )


def can_delete_course(user: User | None, course: Course) -> bool:
    """Deleting, restoring and managing co-instructors: the owner, the organisation's principal
    and admins."""
    if user is None:
        return False
    return is_admin(user) or user.id == course.owner_id or is_principal_of(user, course.organization_id)


def can_create_course(user: User) -> bool:
    return user.role in (Role.INSTRUCTOR, Role.PRINCIPAL, Role.ADMIN)


def is_listed_to(user: User | None, course: Course) -> bool:
    """Published and visible to this caller: public, or organisation-only and a member."""
    if course.deleted_at is not None or course.status != CourseStatus.PUBLISHED:
        return False
    if course.visibility == Visibility.PUBLIC:
        return True
    return user is not None and (is_admin(user) or is_member_of(user, course.organization_id))


def can_view_course(user: User | None, course: Course, instructor_ids: Collection[uuid.UUID]) -> bool:
    """Whether the caller may know the course exists (404 otherwise, never 403)."""
    if course.deleted_at is not None:
        return False
    return is_listed_to(user, course) or is_course_staff(user, course, instructor_ids)
