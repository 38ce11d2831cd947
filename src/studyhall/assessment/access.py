"""Assessment's resources, each loaded with the caller's access to its course.

Every one goes through the catalog's course access rule (`catalog.access`): a quiz through
its lesson, an attempt through its quiz's lesson, an assignment through its course, a
submission through its assignment. When the caller may not see the course, the resource is
its own 404 (`quiz_not_found`, `assignment_not_found`, ...), exactly like the course.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.assessment.errors import AssignmentNotFound, AttemptNotFound, QuizNotFound
from studyhall.assessment.models import Assignment, Quiz, QuizAttempt
from studyhall.catalog.access import CourseAccess, LessonAccess, course_access, lesson_access, locked
from studyhall.core.errors import DomainError
from studyhall.identity.models import User


@dataclass(frozen=True, slots=True)
class QuizAccess:
    quiz: Quiz
    lesson: LessonAccess

    @property
    def course(self) -> CourseAccess:
        return self.lesson.course


@dataclass(frozen=True, slots=True)
class AssignmentAccess:
    assignment: Assignment
    course: CourseAccess


async def quiz_access(session: AsyncSession, user: User, quiz_id: uuid.UUID) -> QuizAccess:
    quiz = await session.get(Quiz, quiz_id)
    if quiz is None:
        raise QuizNotFound()
    return QuizAccess(quiz, await lesson_access(session, user, quiz.lesson_id, not_found=QuizNotFound()))


async def attempt_course_access(session: AsyncSession, user: User, attempt: QuizAttempt) -> LessonAccess:
    """The access to an attempt's quiz lesson and course, for an attempt the caller loaded
    (often row-locked): `attempt_not_found` when its course is out of the caller's sight."""
    return await lesson_access(session, user, attempt.lesson_id, not_found=AttemptNotFound())


async def assignment_access(
    session: AsyncSession,
    user: User,
    assignment_id: uuid.UUID,
    *,
    for_update: bool = False,
    not_found: DomainError | None = None,
) -> AssignmentAccess:
    """A live assignment and the caller's access to its course; `not_found` (default
    `assignment_not_found`) otherwise."""
    not_found = not_found or AssignmentNotFound()
    statement = select(Assignment).where(Assignment.id == assignment_id, Assignment.deleted_at.is_(None))
    if for_update:
        statement = locked(statement)
    assignment = await session.scalar(statement)
    if assignment is None:
        raise not_found
    return AssignmentAccess(
        assignment, await course_access(session, user, assignment.course_id, not_found=not_found)
    )
