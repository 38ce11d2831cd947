"""Who may see, download and revoke a certificate."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from studyhall.catalog.models import Course
from studyhall.catalog.policies import is_course_staff
from studyhall.certificates.models import Certificate
from studyhall.identity.models import User
from studyhall.identity.policies import is_admin, is_principal_of


def can_download(
    user: User, certificate: Certificate, course: Course, instructor_ids: Collection[uuid.UUID]
) -> bool:
    """Its owner, the course's staff (owner, co-instructors, the organisation's principal)
    and admins."""
    return user.id == certificate.user_id or is_course_staff(user, course, instructor_ids)


def can_revoke(user: User, course: Course) -> bool:
    """Admins, and the principal of the organisation the course belongs to."""
    return is_admin(user) or is_principal_of(user, course.organization_id)
