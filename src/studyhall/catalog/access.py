"""Catalog's loaders for other domains: a live course or lesson with what permission checks need.

Kept apart from `service.py` so that domains catalog itself reads from (learning) can use it
without an import cycle.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.catalog.errors import CourseNotFound, LessonNotFound, NotCourseStaff
from studyhall.catalog.models import Course, CourseInstructor, Lesson, Module
from studyhall.catalog.policies import can_view_course, is_course_staff
from studyhall.core.errors import DomainError
from studyhall.identity.models import User

SelectT = TypeVar("SelectT", bound=Select[Any])
CourseItem = TypeVar("CourseItem", Module, Lesson)


def locked(statement: SelectT, *, key_share: bool = False) -> SelectT:
    """`statement` locking the rows it reads until commit and reading them into the session
    afresh: how a change loads the row it changes.

    Two changes that load a row this way run one after the other, the second seeing the row as
    the first left it: PostgreSQL makes the second read wait for the first to commit, then
    re-checks the WHERE clause on the new row version (so a row deleted meanwhile is not
    found), and `populate_existing` makes the ORM take the new values even for an object the
    session already holds. `key_share` takes the weaker `FOR NO KEY UPDATE` (the lock an UPDATE
    takes), which does not wait for transactions that only insert rows referencing this one."""
    return statement.with_for_update(key_share=key_share).execution_options(populate_existing=True)


@dataclass(frozen=True, slots=True)
class CourseContext:
    """A live course and who teaches it: what every permission check needs."""

    course: Course
    instructor_ids: frozenset[uuid.UUID]

    def is_staff(self, user: User | None) -> bool:
        return is_course_staff(user, self.course, self.instructor_ids)

    def is_visible_to(self, user: User | None) -> bool:
        return can_view_course(user, self.course, self.instructor_ids)

    def require_staff(self, user: User | None, not_found: DomainError | None = None) -> None:
        """Course staff pass; others who may see the course get 403 `not_course_staff`, the
        rest `not_found` (404: they may not learn the course exists)."""
        if self.is_staff(user):
            return
        if self.is_visible_to(user):
            raise NotCourseStaff()
        raise not_found or CourseNotFound()


@dataclass(frozen=True, slots=True)
class LessonContext:
    lesson: Lesson
    course: CourseContext


async def instructor_ids_of(session: AsyncSession, course_id: uuid.UUID) -> frozenset[uuid.UUID]:
    rows = await session.scalars(
        select(CourseInstructor.user_id).where(CourseInstructor.course_id == course_id)
    )
    return frozenset(rows.all())


async def load_course(
    session: AsyncSession, course_id: uuid.UUID, *, for_update: bool = False
) -> CourseContext:
    """A non-deleted course; `CourseNotFound` otherwise. Visibility is the caller's check."""
    statement = select(Course).where(Course.id == course_id, Course.deleted_at.is_(None))
    if for_update:
        statement = locked(statement)
    course = await session.scalar(statement)
    if course is None:
        raise CourseNotFound()
    return CourseContext(course, await instructor_ids_of(session, course.id))


async def load_lesson(session: AsyncSession, lesson_id: uuid.UUID) -> LessonContext:
    """A non-deleted lesson of a non-deleted course; `LessonNotFound` otherwise."""
    row = (
        await session.execute(
            select(Lesson, Course)
            .join(Course, Course.id == Lesson.course_id)
            .where(Lesson.id == lesson_id, Lesson.deleted_at.is_(None), Course.deleted_at.is_(None))
        )
    ).first()
    if row is None:
        raise LessonNotFound()
    lesson, course = row
    return LessonContext(lesson, CourseContext(course, await instructor_ids_of(session, course.id)))


async def lock_course_item(
    session: AsyncSession, model: type[CourseItem], item_id: uuid.UUID
) -> tuple[CourseItem, CourseContext] | None:
    """A module or lesson, deleted or not, of a live course, for changing it; None when there
    is no such item or its course is deleted.

    The course row is locked first, as every change to a course and its modules and lessons
    does, then the item is locked and read afresh: concurrent changes of one item run one
    after the other, each seeing what the previous one left."""
    course_id = await session.scalar(select(model.course_id).where(model.id == item_id))
    if course_id is None:
        return None
    try:
        context = await load_course(session, course_id, for_update=True)
    except CourseNotFound:
        return None
    item = await session.scalar(locked(select(model).where(model.id == item_id), key_share=True))
    if item is None:
        return None
    return item, context


async def is_live_in_course(
    session: AsyncSession, model: type[Lesson] | type[Module], row_id: uuid.UUID, course_id: uuid.UUID
) -> bool:
    """Whether a module or lesson exists, is not deleted and belongs to the course."""
    found = await session.scalar(
        select(model.id).where(model.id == row_id, model.course_id == course_id, model.deleted_at.is_(None))
    )
    return found is not None


async def recount_lessons(session: AsyncSession, course_id: uuid.UUID) -> None:
    """Recompute `courses.lesson_count` in SQL (exact under concurrent lesson changes)."""
    current = (
        select(func.count())
        .select_from(Lesson)
        .where(Lesson.course_id == course_id, Lesson.deleted_at.is_(None))
        .scalar_subquery()
    )
    await session.execute(update(Course).where(Course.id == course_id).values(lesson_count=current))


# --------------------------------------------------------------------------------------
# Everything below serves the catalog's own routes.
# --------------------------------------------------------------------------------------
