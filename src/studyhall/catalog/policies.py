"""Course permissions, built on identity's role policies.

Each rule that lists also filter courses in SQL has its SQL twin right below it
(`is_listed_to` / `listed_condition`, ...): change them together.

The rules read a course through `CourseFacts`, so they apply alike to a loaded `Course` and
to a Core row carrying the same columns (the hot reads select only those).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, or_, select, true

from studyhall.catalog.models import Course, CourseInstructor, CourseStatus, Visibility
from studyhall.identity.models import Role, User
from studyhall.identity.policies import is_admin, is_member_of, is_principal, is_principal_of


class CourseFacts(Protocol):
    """What the rules read of a course."""

    @property
    def owner_id(self) -> uuid.UUID: ...
    @property
    def organization_id(self) -> uuid.UUID | None: ...
    @property
    def status(self) -> str: ...
    @property
    def visibility(self) -> str: ...
    @property
    def deleted_at(self) -> datetime | None: ...


def is_course_staff(user: User | None, course: CourseFacts, instructor_ids: Collection[uuid.UUID]) -> bool:
    """Owner, co-instructors, the organisation's principal and admins run a course."""
    if user is None:
        return False
    return (
        is_admin(user)
        or user.id == course.owner_id
        or user.id in instructor_ids
        or is_principal_of(user, course.organization_id)
    )


def staff_condition(user: User, *, all_for_admin: bool = True) -> ColumnElement[bool]:
    """SQL twin of `is_course_staff`: courses the caller runs (all of them for admins, unless
    `all_for_admin` is off: "the courses I run myself")."""
    if all_for_admin and is_admin(user):
        return true()
    teaches = select(CourseInstructor.course_id).where(CourseInstructor.user_id == user.id)
    conditions: list[ColumnElement[bool]] = [Course.owner_id == user.id, Course.id.in_(teaches)]
    if is_principal(user) and user.organization_id is not None:
        conditions.append(Course.organization_id == user.organization_id)
    return or_(*conditions)


def can_delete_course(user: User | None, course: Course) -> bool:
    """Deleting, restoring and managing co-instructors: the owner, the organisation's principal
    and admins."""
    if user is None:
        return False
    return is_admin(user) or user.id == course.owner_id or is_principal_of(user, course.organization_id)


def can_create_course(user: User) -> bool:
    return user.role in (Role.INSTRUCTOR, Role.PRINCIPAL, Role.ADMIN)


def is_listed_to(user: User | None, course: CourseFacts) -> bool:
    """Published and visible to this caller: public, or organisation-only and a member."""
    if course.deleted_at is not None or course.status != CourseStatus.PUBLISHED:
        return False
    if course.visibility == Visibility.PUBLIC:
        return True
    return user is not None and (is_admin(user) or is_member_of(user, course.organization_id))


@dataclass(frozen=True, slots=True)
class Audience:
    """Which published courses are listed to a caller. Callers with the same audience see the
    same catalog, whoever they are: that is what a shared cache of catalog pages keys on."""

    #: Admins: every published course.
    everything: bool = False
    #: Members of an organisation: public courses and that organisation's.
    organization_id: uuid.UUID | None = None

    @property
    def key(self) -> str:
        if self.everything:
            return "all"
        return f"org:{self.organization_id}" if self.organization_id is not None else "public"


PUBLIC = Audience()


def audience_of(user: User | None) -> Audience:
    if user is None:
        return PUBLIC
    if is_admin(user):
        return Audience(everything=True)
    return Audience(organization_id=user.organization_id)


def listed_condition(user: User | None) -> ColumnElement[bool]:
    """SQL twin of `is_listed_to`, without the `deleted_at` test (callers filter live rows)."""
    return audience_condition(audience_of(user))


def audience_condition(audience: Audience) -> ColumnElement[Any]:
    """`listed_condition` of everyone in `audience`, on the table's columns (so that a Core
    select stays a Core select)."""
    courses = Course.__table__.c
    published = courses.status == CourseStatus.PUBLISHED
    if audience.everything:
        return published
    if audience.organization_id is None:
        return and_(published, courses.visibility == Visibility.PUBLIC)
    return and_(
        published,
        or_(courses.visibility == Visibility.PUBLIC, courses.organization_id == audience.organization_id),
    )


def can_view_course(user: User | None, course: CourseFacts, instructor_ids: Collection[uuid.UUID]) -> bool:
    """Whether the caller may know the course exists (404 otherwise, never 403)."""
    if course.deleted_at is not None:
        return False
    return is_listed_to(user, course) or is_course_staff(user, course, instructor_ids)


def visible_condition(user: User) -> ColumnElement[bool]:
    """SQL twin of `can_view_course`: live courses the caller may see."""
    return and_(Course.deleted_at.is_(None), or_(listed_condition(user), staff_condition(user)))
