"""Who is who in a course, for assessment: staff, an enrolled student, or neither."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.assessment.errors import NotEnrolled
from studyhall.catalog.access import CourseContext
from studyhall.core.errors import DomainError
from studyhall.identity.models import User
from studyhall.learning.service import is_actively_enrolled


class CourseRole(StrEnum):
    STAFF = "staff"
    STUDENT = "student"


async def course_role(
    session: AsyncSession, user: User, course: CourseContext, not_found: DomainError
) -> CourseRole:
    """Staff or enrolled student; 403 for others who can see the course, 404 for the rest."""
    if course.is_staff(user):
        return CourseRole.STAFF
    if await is_actively_enrolled(session, user.id, course.course.id):
        return CourseRole.STUDENT
    if course.is_visible_to(user):
        raise NotEnrolled()
    raise not_found


async def require_student(
    session: AsyncSession, user: User, course: CourseContext, not_found: DomainError
) -> None:
    if await course_role(session, user, course, not_found) != CourseRole.STUDENT:
        raise NotEnrolled("Only enrolled students take quizzes and submit work")
