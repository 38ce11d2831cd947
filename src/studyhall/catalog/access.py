"""Who may do what inside a course, decided in one place.

Two layers:

- Loaders (`load_course`, `load_lesson`): a live (non-deleted) course or lesson with what
  permission checks need (`CourseContext`), and nothing decided yet.
- The access rule (`course_role`, applied to a loaded course by `resolve_course_access`):
  whether the caller may see the course *now* and, if so, their role in it (`CourseAccess`):
  course staff, an enrolled student, or a viewer. The catalog's hot reads apply `course_role`
  to the Core row they read the course and the caller's enrollment into, in one statement.
  Everything that works inside a course (lessons, progress, quizzes, attempts, assignments,
  submissions, the roster, the gradebook) goes through it, directly (`course_access`,
  `lesson_access`) or through a resource's own loader built on them (assessment's
  `quiz_access`, `assignment_access`, ...). A course the caller cannot see is the resource's
  own 404, so an enrollment in a course that was since unpublished, archived, deleted or
  moved out of the student's organisation opens nothing.

Import order: this module asks learning's service whether a caller is enrolled, so it sits
above `learning.service`. Learning's services take the `CourseAccess`/`LessonAccess` their
routes resolved and refer to this module only for type checking; catalog's own services
(which learning does not import) may import both. That is why the loaders live here and not
in `catalog.service`.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import Row, Select, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.catalog.errors import CourseNotFound, LessonNotFound, NotCourseStaff, NotEnrolled
from studyhall.catalog.models import Course, CourseInstructor, Lesson, Module
from studyhall.catalog.policies import CourseFacts, can_view_course, is_course_staff
from studyhall.core.errors import DomainError, Unauthenticated
from studyhall.identity.models import User
from studyhall.learning.queries import AnySelect, CallerEnrollment, caller_enrollment, join_caller_enrollment
from studyhall.learning.service import is_actively_enrolled

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
        rest `not_found` (404: they may not learn the course exists). The staff-only shortcut
        of `resolve_course_access` for authoring routes, which need no enrollment lookup."""
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


# -- the access rule ---------------------------------------------------------------------


class CourseRole(StrEnum):
    """The caller's standing in a course they may see."""

    #: Runs the course (owner, co-instructor, the organisation's principal, admin): sees it
    #: whatever its status.
    STAFF = "staff"
    #: Sees it (published; public, or organisation-only and a member) and is actively enrolled.
    STUDENT = "student"
    #: Sees it and is not enrolled (anonymous callers too): previews only.
    VIEWER = "viewer"


@dataclass(frozen=True, slots=True)
class CourseAccess:
    """A course the caller may see at the time of the request, and their role in it.

    Made only by `resolve_course_access`; holding one means visibility was decided."""

    context: CourseContext
    role: CourseRole

    @property
    def course(self) -> Course:
        return self.context.course

    @property
    def is_staff(self) -> bool:
        return self.role is CourseRole.STAFF

    def require_staff(self, detail: str | None = None) -> None:
        """403 `not_course_staff` for students and viewers."""
        if self.role is not CourseRole.STAFF:
            raise NotCourseStaff(detail)

    def require_member(self, detail: str | None = None) -> None:
        """Staff or an enrolled student; 403 `not_enrolled` for viewers."""
        if self.role is CourseRole.VIEWER:
            raise NotEnrolled(detail)

    def require_student(self, detail: str | None = None) -> None:
        """Only enrolled students (taking quizzes, submitting work); 403 `not_enrolled` for
        staff and viewers."""
        if self.role is not CourseRole.STUDENT:
            raise NotEnrolled(detail)


@dataclass(frozen=True, slots=True)
class LessonAccess:
    """A live lesson and the caller's access to its course, with what the lookup learned on
    the way: the caller's active enrollment (whatever their role: an admin may be enrolled
    too) and whether they completed the lesson."""

    lesson: Lesson
    course: CourseAccess
    enrollment: CallerEnrollment | None
    lesson_completed: bool

    @property
    def context(self) -> LessonContext:
        """The lesson as loaded, for what acts on it on a student's behalf (completions)."""
        return LessonContext(self.lesson, self.course.context)


def course_role(
    user: User | None, course: CourseFacts, instructor_ids: Collection[uuid.UUID], *, enrolled: bool
) -> CourseRole | None:
    """The one rule: staff see their course whatever its status; anyone else must be able to
    see it now (`can_view_course`), else None (the requested resource is their 404). Among
    those, an active enrollment makes a student. Works on a loaded `Course` or on a Core row
    of a hot read that fetched the enrollment along with the course."""
    if is_course_staff(user, course, instructor_ids):
        return CourseRole.STAFF
    if not can_view_course(user, course, instructor_ids):
        return None
    return CourseRole.STUDENT if enrolled else CourseRole.VIEWER


def require_lesson_reader(user: User | None, role: CourseRole, *, is_preview: bool) -> None:
    """Who may open a lesson of a course they can see (its page, its video): staff and
    enrolled students any lesson, everyone else only previews (401 when anonymous, else 403
    `not_enrolled`)."""
    if is_preview or role is not CourseRole.VIEWER:
        return
    if user is None:
        raise Unauthenticated("Sign in and enroll to open this lesson")
    raise NotEnrolled("Enroll in the course to open this lesson")


async def resolve_course_access(
    session: AsyncSession,
    user: User | None,
    context: CourseContext,
    not_found: DomainError,
    *,
    enrolled: bool | None = None,
) -> CourseAccess:
    """`course_role` for a loaded course. The enrollment is asked of learning only when it
    decides anything (a visible course, a signed-in caller who does not run it), unless the
    caller's lookup already read it (`enrolled`)."""
    role = course_role(user, context.course, context.instructor_ids, enrolled=bool(enrolled))
    if role is None:
        raise not_found
    if (
        role is CourseRole.VIEWER
        and enrolled is None
        and user is not None
        and await is_actively_enrolled(session, user.id, context.course.id)
    ):
        role = CourseRole.STUDENT
    return CourseAccess(context, role)


async def course_access(
    session: AsyncSession,
    user: User | None,
    course_id: uuid.UUID,
    *,
    not_found: DomainError | None = None,
) -> CourseAccess:
    """The caller's access to a course; `not_found` (default `course_not_found`) when it is
    deleted or they may not see it."""
    not_found = not_found or CourseNotFound()
    try:
        context = await load_course(session, course_id)
    except CourseNotFound:
        raise not_found from None
    return await resolve_course_access(session, user, context, not_found)


def _lesson_access_statement() -> AnySelect:
    """The lesson, its course, one row per instructor (none: one row with NULL) and the
    caller's enrollment and completion, in one query. Built once, with the ids bound at
    execution, so its compiled form is cached under a key computed once."""
    statement = (
        select(Lesson, Course, CourseInstructor.user_id.label("instructor_id"))
        .join(Course, Course.id == Lesson.course_id)
        .outerjoin(CourseInstructor, CourseInstructor.course_id == Course.id)
        .where(
            Lesson.id == bindparam("lesson_id"),
            Lesson.deleted_at.is_(None),
            Course.deleted_at.is_(None),
        )
    )
    return join_caller_enrollment(
        statement, course_id=Course.id, lesson_id=Lesson.id, caller_id=bindparam("caller_id")
    )


_LESSON_ACCESS = _lesson_access_statement()


async def lesson_access(
    session: AsyncSession,
    user: User | None,
    lesson_id: uuid.UUID,
    *,
    not_found: DomainError | None = None,
) -> LessonAccess:
    """A live lesson and the caller's access to its course; `not_found` (default
    `lesson_not_found`) when either is deleted or the course is not visible to them.
    One query: every lesson route (complete, heartbeat, lesson page, quizzes) starts here."""
    not_found = not_found or LessonNotFound()
    rows: Sequence[Row[*tuple[Any, ...]]] = (
        await session.execute(
            _LESSON_ACCESS, {"lesson_id": lesson_id, "caller_id": user.id if user is not None else None}
        )
    ).all()
    if not rows:
        raise not_found
    first = rows[0]
    instructor_ids = frozenset(row.instructor_id for row in rows if row.instructor_id is not None)
    enrollment = caller_enrollment(first)
    access = await resolve_course_access(
        session, user, CourseContext(first.Course, instructor_ids), not_found, enrolled=enrollment is not None
    )
    return LessonAccess(first.Lesson, access, enrollment, bool(first.lesson_completed))
