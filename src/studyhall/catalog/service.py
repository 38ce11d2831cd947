"""Catalog rules: who may list, read and change courses, modules, lessons and versions.

Services take the session and the acting user, apply the rules and return what they read or
changed: Core rows for the hot reads (see `catalog.queries`), entities for the authoring
routes, `(items, total)` for lists. Routers turn them into schemas (`catalog.presenters`);
the catalog page and course detail go through `catalog.reads`, which adds the cache.
Every write that changes what the catalog shows calls `catalog_changed` (the cache).
Other domains reach courses and lessons through `catalog.access`, not through this module.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall import event_types
from studyhall.analytics import audit
from studyhall.catalog import queries
from studyhall.catalog.access import (
    CourseContext,
    CourseRole,
    course_access,
    course_role,
    is_live_in_course,
    load_course,
    lock_course_item,
    locked,
    recount_lessons,
    require_lesson_reader,
)
from studyhall.catalog.cache import catalog_changed
from studyhall.catalog.errors import (
    AlreadyInstructor,
    ContentNotForLessonType,
    CourseEmpty,
    CourseNotFound,
    InstructorNotFound,
    InvalidLessonOrder,
    InvalidModule,
    LessonNotFound,
    ModuleNotFound,
    NotAnInstructor,
    NotCourseStaff,
    NotDeleted,
    OrganizationForbidden,
    OrganizationRequired,
    ParentDeleted,
    VersionNotFound,
)
from studyhall.catalog.models import (
    Course,
    CourseInstructor,
    CourseStatus,
    Lesson,
    LessonType,
    LessonVersion,
    Module,
    Visibility,
)
from studyhall.catalog.policies import (
    CourseFacts,
    audience_condition,
    audience_of,
    can_create_course,
    can_delete_course,
    staff_condition,
)
from studyhall.catalog.queries import CatalogQuery, fetch_all, fetch_one, hot_reads
from studyhall.catalog.rendering import render_markdown
from studyhall.catalog.schemas import (
    CourseCreate,
    CourseUpdate,
    LessonCreate,
    LessonUpdate,
    ModuleCreate,
    ModuleUpdate,
)
from studyhall.core.clock import utcnow
from studyhall.core.errors import Unauthenticated
from studyhall.core.events import emit
from studyhall.core.pagination import PageParams, fetch_page
from studyhall.identity.errors import InsufficientRole
from studyhall.identity.models import Role, User
from studyhall.identity.policies import is_admin, is_principal, is_staff
from studyhall.learning.service import CourseProgress, completed_lesson_ids
from studyhall.media import service as media
from studyhall.media.models import AttachmentKind, FilePurpose, LessonVideo
from studyhall.media.queries import lesson_video

_SLUG_MAX = 200


def slugify(title: str) -> str:
    """`"Intro to Python 3!"` → `"intro-to-python-3"` (ASCII; `"course"` when nothing is left)."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    return slug[:_SLUG_MAX].rstrip("-") or "course"


async def _claim_slug(session: AsyncSession, course: Course, title: str) -> None:
    """Insert the course under a unique slug: the title's, else suffixed `-2`, `-3`, ...

    The unique constraint decides (inside a savepoint), so concurrent creations of the same
    title cannot both win."""
    base = slugify(title)
    taken = set(
        (
            await session.scalars(
                select(Course.slug).where(or_(Course.slug == base, Course.slug.like(f"{base}-%")))
            )
        ).all()
    )
    candidates = [base] + [f"{base}-{n}" for n in range(2, len(taken) + 12)]
    for candidate in candidates:
        if candidate in taken:
            continue
        course.slug = candidate
        try:
            async with session.begin_nested():
                session.add(course)
                await session.flush()
            return
        except IntegrityError:  # taken meanwhile; the savepoint's rollback detached the course
            if course in session:
                session.expunge(course)
            taken.add(candidate)
    course.slug = f"{base[:180]}-{uuid.uuid4().hex[:12]}"
    session.add(course)
    await session.flush()


def _check_organization(user: User, organization_id: uuid.UUID | None) -> None:
    if organization_id is not None and not is_admin(user) and organization_id != user.organization_id:
        raise OrganizationForbidden()


def _check_visibility(visibility: str, organization_id: uuid.UUID | None) -> None:
    if visibility == Visibility.ORGANIZATION and organization_id is None:
        raise OrganizationRequired()


async def staff_course(
    session: AsyncSession, user: User, course_id: uuid.UUID, *, for_update: bool = False
) -> CourseContext:
    """A course the caller runs: 404 when they cannot see it, 403 when they only see it."""
    context = await load_course(session, course_id, for_update=for_update)
    context.require_staff(user)
    return context


def _require_owner_level(context: CourseContext, user: User) -> None:
    """Deleting, restoring and managing instructors: owner, principal and admins."""
    if can_delete_course(user, context.course):
        return
    if context.is_visible_to(user):
        raise NotCourseStaff("Only the owner, the organization's principal or an admin may do this")
    raise CourseNotFound()


# ---------------------------------------------------------------- reading courses


async def list_catalog(
    session: AsyncSession, user: User | None, query: CatalogQuery, params: PageParams
) -> tuple[list[Row[Any]], int]:
    """One page of the catalog (course cards, `queries.CARD_COLUMNS` and `instructor_ids`)
    and the total, in one statement whatever the page size (two past the last page)."""
    dialect = queries.dialect_of(session)
    if query.for_staff:
        listed = _staff_listing(user, query)
        statements, values = queries.catalog_statements(dialect, listed, query)
    else:
        statements, values = queries.catalog_statements(dialect, audience_of(user), query)
    rows = await fetch_all(
        session, statements.page, {**values, "limit": params.limit, "offset": params.offset}
    )
    if rows:
        return rows, int(rows[0].total)
    total = await fetch_one(session, statements.count, values) if params.offset else None
    return rows, int(total[0]) if total is not None else 0


def _staff_listing(user: User | None, query: CatalogQuery) -> ColumnElement[bool]:
    """`mine` (the courses I run, any status) or `status` (among those I may see): staff only."""
    if user is None:
        raise Unauthenticated("Sign in to use `mine` or `status`")
    if not is_staff(user):
        raise InsufficientRole("`mine` and `status` are for instructors, principals and admins")
    if query.mine:
        return staff_condition(user, all_for_admin=False)
    return or_(audience_condition(audience_of(user)), staff_condition(user))


async def caller_progress(
    session: AsyncSession, user: User | None, course_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, CourseProgress]:
    """The caller's progress in those of the courses they are actively enrolled in (the
    `is_enrolled`/`progress_percent` flags of course cards), in one statement."""
    if user is None or not course_ids:
        return {}
    statement = hot_reads(queries.dialect_of(session)).progress
    rows = await fetch_all(session, statement, {"user_id": user.id, "course_ids": list(course_ids)})
    return {
        row.course_id: CourseProgress(completed_lessons=int(row.done), total_lessons=int(row.lesson_count))
        for row in rows
    }


async def find_course(session: AsyncSession, id_or_slug: str) -> Row[Any] | None:
    """A live course's card (with `deleted_at`) by id or slug; visibility is the caller's check."""
    kind, value = queries.course_lookup(id_or_slug)
    statements = hot_reads(queries.dialect_of(session))
    if kind == "id":
        return await fetch_one(session, statements.course_by_id, {"course_id": value})
    return await fetch_one(session, statements.course_by_slug, {"slug": value})


def require_visible(
    user: User | None, course: CourseFacts, instructor_ids: Sequence[uuid.UUID]
) -> CourseRole:
    """The caller's role in a course they may see; `course_not_found` otherwise."""
    role = course_role(user, course, instructor_ids, enrolled=False)
    if role is None:
        raise CourseNotFound()
    return role


async def course_outline(
    session: AsyncSession, course_id: uuid.UUID
) -> tuple[list[Row[Any]], list[Row[Any]]]:
    """A course's current modules and lessons, in order (the detail's outline)."""
    statements = hot_reads(queries.dialect_of(session))
    modules = await fetch_all(session, statements.modules, {"course_id": course_id})
    lessons = await fetch_all(session, statements.outline, {"course_id": course_id})
    return modules, lessons


async def completions_in_course(
    session: AsyncSession, user: User | None, course_id: uuid.UUID
) -> set[uuid.UUID] | None:
    """The lessons the caller completed in a course they are actively enrolled in; None when
    they are not enrolled."""
    if user is None:
        return None
    statement = hot_reads(queries.dialect_of(session)).course_completions
    rows = await fetch_all(session, statement, {"user_id": user.id, "course_id": course_id})
    if not rows:
        return None
    return {row.lesson_id for row in rows if row.lesson_id is not None}


async def course_card(
    session: AsyncSession, user: User | None, course_id: uuid.UUID
) -> tuple[Row[Any], CourseProgress | None]:
    """A course's card as it stands in this transaction and the caller's progress in it: what
    the authoring routes answer after a change."""
    statement = hot_reads(queries.dialect_of(session)).course_by_id
    row = await fetch_one(session, statement, {"course_id": course_id})
    if row is None:
        raise CourseNotFound()
    progress = await caller_progress(session, user, [course_id])
    return row, progress.get(course_id)


async def visible_courses(
    session: AsyncSession, user: User | None, course_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Row[Any]]:
    """The cards (with `deleted_at`) of those of `course_ids` the caller may see now, by id:
    the access rule applied to each, in one statement whatever their number."""
    if not course_ids:
        return {}
    statement = queries.batch_reads(queries.dialect_of(session)).cards
    rows = await fetch_all(session, statement, {"course_ids": list(course_ids)})
    return {
        row.id: row for row in rows if course_role(user, row, row.instructor_ids, enrolled=False) is not None
    }


@dataclass(frozen=True, slots=True)
class CourseOutline:
    """A course's current modules and lessons (rows of `queries.batch_reads`), in order: the
    outline its detail shows to whoever may see the course."""

    modules: list[Row[Any]]
    lessons: list[Row[Any]]


async def course_outlines(
    session: AsyncSession, course_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, CourseOutline]:
    """The outlines of courses the caller may see (checked by the caller), in two statements
    whatever their number."""
    if not course_ids:
        return {}
    statements = queries.batch_reads(queries.dialect_of(session))
    values = {"course_ids": list(course_ids)}
    outlines = {course_id: CourseOutline([], []) for course_id in course_ids}
    for module in await fetch_all(session, statements.modules, values):
        outlines[module.course_id].modules.append(module)
    for lesson in await fetch_all(session, statements.outline, values):
        outlines[lesson.course_id].lessons.append(lesson)
    return outlines


async def completions_in_courses(
    session: AsyncSession, user: User | None, course_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, set[uuid.UUID]]:
    """The lessons the caller completed in those of `course_ids` they are actively enrolled
    in (a course they are not enrolled in is absent), in one statement: the outline's
    `is_completed`, as `completions_in_course` gives it for one course."""
    if user is None or not course_ids:
        return {}
    statement = queries.batch_reads(queries.dialect_of(session)).completions
    rows = await fetch_all(session, statement, {"user_id": user.id, "course_ids": list(course_ids)})
    completed: dict[uuid.UUID, set[uuid.UUID]] = {}
    for row in rows:
        lessons = completed.setdefault(row.course_id, set())
        if row.lesson_id is not None:
            lessons.add(row.lesson_id)
    return completed


@dataclass(frozen=True, slots=True)
class OutlinePage:
    lessons: list[Lesson]
    total: int
    completed: set[uuid.UUID]


async def lesson_outline(
    session: AsyncSession, user: User | None, course_id: uuid.UUID, params: PageParams
) -> OutlinePage:
    """Staff and enrolled students see every lesson; others who can see the course, the previews."""
    access = await course_access(session, user, course_id)
    statement = queries.current_lessons_statement(course_id)
    completed: set[uuid.UUID] = set()
    if access.role is CourseRole.VIEWER:
        statement = statement.where(Lesson.is_preview)
    elif user is not None:
        completed = await completed_lesson_ids(session, user.id, course_id=course_id)
    lessons, total = await fetch_page(session, statement, params)
    return OutlinePage(lessons, total, completed)


@dataclass(frozen=True, slots=True)
class LessonPage:
    """A lesson as its reader sees it: the lesson (a row of `hot_reads().lesson_page`, or the
    entity an authoring route changed), whether the caller completed it, a `file` lesson's
    file with a download URL, and a `video` lesson's video (None before the first upload)."""

    lesson: Row[Any] | Lesson
    is_completed: bool
    file: media.FileView | None = None
    video: LessonVideo | None = None


async def _video_of(session: AsyncSession, lesson_id: uuid.UUID, lesson_type: str) -> LessonVideo | None:
    """One more query, for video lessons only."""
    return await lesson_video(session, lesson_id) if lesson_type == LessonType.VIDEO else None


async def get_lesson(session: AsyncSession, user: User | None, lesson_id: uuid.UUID) -> LessonPage:
    """The lesson page, in one statement (a `file` lesson reads its file, a `video` lesson
    its video, too): staff and enrolled students read any lesson; anyone who sees the course,
    its previews. The row carries the caller's `is_completed`."""
    row = await fetch_one(
        session,
        hot_reads(queries.dialect_of(session)).lesson_page,
        {"lesson_id": lesson_id, "user_id": user.id if user is not None else None},
    )
    role = course_role(user, row, row.instructor_ids, enrolled=row.enrolled) if row is not None else None
    if row is None or role is None:
        raise LessonNotFound()
    require_lesson_reader(user, role, is_preview=row.is_preview)
    return LessonPage(
        row,
        bool(row.is_completed),
        file=await lesson_file(session, row.type, row.extra),
        video=await _video_of(session, row.id, row.type),
    )


async def lesson_file(
    session: AsyncSession, lesson_type: str, extra: dict[str, Any] | None
) -> media.FileView | None:
    """A `file` lesson's file (`extra.file_id`); no query for other types."""
    file_id = (extra or {}).get("file_id") if lesson_type == LessonType.FILE else None
    return await media.attached_file(session, uuid.UUID(file_id)) if file_id else None


async def _set_lesson_file(
    session: AsyncSession, user: User, lesson: Lesson, file_id: uuid.UUID | None
) -> None:
    """Make `file_id` the file of a `file` lesson (checked and attached by media)."""
    if lesson.type != LessonType.FILE:
        raise ContentNotForLessonType("`file_id` is only for lessons of type `file`")
    await media.attach_files(
        session,
        user,
        [file_id] if file_id is not None else [],
        purpose=FilePurpose.LESSON_MATERIAL,
        kind=AttachmentKind.LESSON,
        target_id=lesson.id,
        course_id=lesson.course_id,
    )
    extra = {key: value for key, value in (lesson.extra or {}).items() if key != "file_id"}
    lesson.extra = {**extra, "file_id": str(file_id)} if file_id is not None else extra


async def lesson_page_of(session: AsyncSession, user: User | None, lesson: Lesson) -> LessonPage:
    """A lesson an authoring route just changed, as its page shows it."""
    completed = user is not None and bool(await completed_lesson_ids(session, user.id, lesson_id=lesson.id))
    return LessonPage(
        lesson,
        completed,
        file=await lesson_file(session, lesson.type, lesson.extra),
        video=await _video_of(session, lesson.id, lesson.type),
    )


async def list_trash(session: AsyncSession, user: User, params: PageParams) -> tuple[list[Row[Any]], int]:
    """Deleted courses the caller may restore (owner, the organization's principal, admins)."""
    courses = queries.courses.c
    statement = queries.card_select(queries.dialect_of(session)).where(courses.deleted_at.is_not(None))
    if not is_admin(user):
        conditions: list[ColumnElement[bool]] = [courses.owner_id == user.id]
        if is_principal(user) and user.organization_id is not None:
            conditions.append(courses.organization_id == user.organization_id)
        statement = statement.where(or_(*conditions))
    return await queries.fetch_rows_page(
        session, statement.order_by(courses.deleted_at.desc(), courses.id), params
    )


# ---------------------------------------------------------------- writing courses


async def create_course(session: AsyncSession, user: User, data: CourseCreate) -> Course:
    if not can_create_course(user):
        raise InsufficientRole("Only instructors, principals and admins create courses")
    organization_id = data.organization_id if data.organization_id is not None else user.organization_id
    _check_organization(user, organization_id)
    _check_visibility(data.visibility, organization_id)
    course = Course(
        **data.model_dump(exclude={"organization_id"}),
        organization_id=organization_id,
        owner_id=user.id,
        status=CourseStatus.DRAFT,
    )
    await _claim_slug(session, course, data.title)
    emit(session, event_types.COURSE_CREATED, {"course_id": course.id, "owner_id": user.id})
    await catalog_changed(session)
    return course


async def update_course(
    session: AsyncSession, user: User, course_id: uuid.UUID, data: CourseUpdate
) -> Course:
    context = await staff_course(session, user, course_id, for_update=True)
    course = context.course
    changes = data.changes()
    if "organization_id" in changes and changes["organization_id"] != course.organization_id:
        _check_organization(user, changes["organization_id"])
    _check_visibility(
        changes.get("visibility", course.visibility), changes.get("organization_id", course.organization_id)
    )
    before = audit.snapshot(course, changes)
    for key, value in changes.items():
        setattr(course, key, value)
    if changed := audit.changes_of(before, course):
        _record_course(session, audit.COURSE_UPDATED, user, course, changed)
    course.updated_at = utcnow()
    await session.flush()
    await catalog_changed(session)
    return course


def _record_course(
    session: AsyncSession,
    action: str,
    user: User,
    course: Course,
    changes: dict[str, Any] | None = None,
    *,
    resource: Module | Lesson | None = None,
) -> None:
    """An action on a course, or on one of its modules or lessons (`resource`)."""
    audit.record(
        session,
        action,
        actor=user,
        resource_type="course" if resource is None else type(resource).__name__.lower(),
        resource_id=course.id if resource is None else resource.id,
        organization_id=course.organization_id,
        changes=changes,
    )


async def set_course_status(
    session: AsyncSession, user: User, course_id: uuid.UUID, status: CourseStatus
) -> Course:
    context = await staff_course(session, user, course_id, for_update=True)
    course = context.course
    if status == CourseStatus.PUBLISHED and course.lesson_count == 0:
        raise CourseEmpty()
    if course.status != status:
        _record_course(session, _STATUS_ACTIONS[status], user, course, {"status": [course.status, status]})
        course.status = status
        if status == CourseStatus.PUBLISHED and course.published_at is None:
            course.published_at = utcnow()
        course.updated_at = utcnow()
        await session.flush()
        emit(session, _STATUS_EVENTS[status], {"course_id": course.id, "by": user.id})
        await catalog_changed(session)
    return course


_STATUS_ACTIONS = {
    CourseStatus.PUBLISHED: audit.COURSE_PUBLISHED,
    CourseStatus.DRAFT: audit.COURSE_UNPUBLISHED,
    CourseStatus.ARCHIVED: audit.COURSE_ARCHIVED,
}
_STATUS_EVENTS = {
    CourseStatus.PUBLISHED: event_types.COURSE_PUBLISHED,
    CourseStatus.DRAFT: event_types.COURSE_UNPUBLISHED,
    CourseStatus.ARCHIVED: event_types.COURSE_ARCHIVED,
}


async def delete_course(session: AsyncSession, user: User, course_id: uuid.UUID) -> None:
    """Hide the course with its current modules and lessons under one deletion id."""
    context = await load_course(session, course_id, for_update=True)
    _require_owner_level(context, user)
    now, deletion = utcnow(), uuid.uuid4()
    stamp = {"deleted_at": now, "deletion_id": deletion}
    for model in (Lesson, Module):
        await session.execute(
            update(model)
            .where(model.course_id == course_id, model.deleted_at.is_(None))
            .values(**stamp)
            .execution_options(synchronize_session=False)
        )
    await session.execute(
        update(Course)
        .where(Course.id == course_id)
        .values(**stamp)
        .execution_options(synchronize_session=False)
    )
    _record_course(session, audit.COURSE_DELETED, user, context.course)
    emit(session, event_types.COURSE_DELETED, {"course_id": course_id, "by": user.id})
    await catalog_changed(session)


async def restore_course(session: AsyncSession, user: User, course_id: uuid.UUID) -> Course:
    """Bring back the course and exactly the modules and lessons its delete removed."""
    course = await session.scalar(locked(select(Course).where(Course.id == course_id)))
    if course is None:
        raise CourseNotFound()
    if not can_delete_course(user, course):
        raise CourseNotFound()  # the trash is private to whoever may restore
    if course.deleted_at is None:
        raise NotDeleted("The course is not deleted")
    deletion = course.deletion_id
    restored = {"deleted_at": None, "deletion_id": None}
    for model in (Module, Lesson):
        await session.execute(
            update(model)
            .where(model.course_id == course_id, model.deletion_id == deletion)
            .values(**restored)
            .execution_options(synchronize_session=False)
        )
    course.deleted_at = None
    course.deletion_id = None
    course.updated_at = utcnow()
    await session.flush()
    await recount_lessons(session, course_id)
    await session.refresh(course)
    _record_course(session, audit.COURSE_RESTORED, user, course)
    emit(session, event_types.COURSE_RESTORED, {"course_id": course_id, "by": user.id})
    await catalog_changed(session)
    return course


async def add_instructor(
    session: AsyncSession, user: User, course_id: uuid.UUID, instructor_id: uuid.UUID
) -> Course:
    context = await load_course(session, course_id)
    _require_owner_level(context, user)
    candidate = await session.get(User, instructor_id)
    if (
        candidate is None
        or candidate.deleted_at is not None
        or not candidate.is_active
        or candidate.role != Role.INSTRUCTOR
    ):
        raise NotAnInstructor()
    if candidate.id == context.course.owner_id:
        raise AlreadyInstructor("The owner already teaches this course")
    try:
        async with session.begin_nested():
            session.add(CourseInstructor(course_id=course_id, user_id=instructor_id))
    except IntegrityError as exc:
        raise AlreadyInstructor() from exc
    await _touch(session, course_id)
    return context.course


async def remove_instructor(
    session: AsyncSession, user: User, course_id: uuid.UUID, instructor_id: uuid.UUID
) -> None:
    context = await load_course(session, course_id)
    _require_owner_level(context, user)
    result = await session.execute(
        delete(CourseInstructor).where(
            CourseInstructor.course_id == course_id, CourseInstructor.user_id == instructor_id
        )
    )
    if not getattr(result, "rowcount", 0):
        raise InstructorNotFound()
    await _touch(session, course_id)


async def _touch(session: AsyncSession, course_id: uuid.UUID) -> None:
    """A change of the course's content or staff: bump its `updated_at` (and so its detail's
    ETag) and invalidate the catalog cache."""
    await session.execute(
        update(Course)
        .where(Course.id == course_id)
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    await catalog_changed(session)


# ---------------------------------------------------------------- ordering


def _move(ids: list[uuid.UUID], item: uuid.UUID, index: int | None) -> list[uuid.UUID]:
    rest = [other for other in ids if other != item]
    position = len(rest) if index is None else min(index, len(rest))
    return [*rest[:position], item, *rest[position:]]


async def _write_positions(
    session: AsyncSession,
    model: type[Module] | type[Lesson],
    ordered: Sequence[uuid.UUID],
    current: dict[uuid.UUID, int],
) -> None:
    """Store dense 0-based positions, touching only the rows whose position changed."""
    changed = [
        {"id": row_id, "position": index}
        for index, row_id in enumerate(ordered)
        if current.get(row_id) != index
    ]
    if changed:
        await session.execute(update(model), changed)


async def _renumber(
    session: AsyncSession,
    model: type[Module] | type[Lesson],
    course_id: uuid.UUID,
    *,
    move: tuple[uuid.UUID, int | None] | None = None,
) -> None:
    """Dense 0-based order of a course's current modules or lessons, optionally moving one."""
    rows = (
        await session.execute(
            select(model.id, model.position)
            .where(model.course_id == course_id, model.deleted_at.is_(None))
            .order_by(model.position, model.created_at, model.id)
        )
    ).all()
    current = dict(rows)
    ordered = [row_id for row_id, _ in rows]
    if move is not None:
        ordered = _move(ordered, *move)
    await _write_positions(session, model, ordered, current)


# ---------------------------------------------------------------- modules


async def _load_module(
    session: AsyncSession, user: User, module_id: uuid.UUID, *, deleted: bool = False
) -> tuple[Module, CourseContext]:
    """A module of a course the caller runs, locked for changing; `deleted` says which state
    the change needs (restoring a live module is `409 not_deleted`)."""
    found = await lock_course_item(session, Module, module_id)
    if found is None:
        raise ModuleNotFound()
    module, context = found
    if module.is_deleted != deleted:
        if not deleted:
            raise ModuleNotFound()
        context.require_staff(user)
        raise NotDeleted("The module is not deleted")
    context.require_staff(user, ModuleNotFound())
    return module, context


async def create_module(
    session: AsyncSession, user: User, course_id: uuid.UUID, data: ModuleCreate
) -> Module:
    await staff_course(session, user, course_id, for_update=True)
    module = Module(course_id=course_id, title=data.title, description=data.description, position=1_000_000)
    session.add(module)
    await session.flush()
    await _renumber(session, Module, course_id, move=(module.id, data.order))
    await _touch(session, course_id)
    await session.refresh(module)
    return module


async def update_module(
    session: AsyncSession, user: User, module_id: uuid.UUID, data: ModuleUpdate
) -> Module:
    module, context = await _load_module(session, user, module_id)
    if data.title is not None:
        module.title = data.title
    if "description" in data.model_fields_set:
        module.description = data.description
    module.updated_at = utcnow()
    await session.flush()
    if data.order is not None:
        await _renumber(session, Module, context.course.id, move=(module.id, data.order))
    await _touch(session, context.course.id)
    await session.refresh(module)
    return module


async def delete_module(session: AsyncSession, user: User, module_id: uuid.UUID) -> None:
    """Hide the module and its current lessons under one deletion id."""
    module, context = await _load_module(session, user, module_id)
    now, deletion = utcnow(), uuid.uuid4()
    await session.execute(
        update(Lesson)
        .where(Lesson.module_id == module_id, Lesson.deleted_at.is_(None))
        .values(deleted_at=now, deletion_id=deletion)
        .execution_options(synchronize_session=False)
    )
    module.deleted_at = now
    module.deletion_id = deletion
    _record_course(session, audit.MODULE_DELETED, user, context.course, resource=module)
    await session.flush()
    await _after_structure_change(session, context.course.id)


async def restore_module(session: AsyncSession, user: User, module_id: uuid.UUID) -> Module:
    module, context = await _load_module(session, user, module_id, deleted=True)
    await session.execute(
        update(Lesson)
        .where(Lesson.module_id == module_id, Lesson.deletion_id == module.deletion_id)
        .values(deleted_at=None, deletion_id=None)
        .execution_options(synchronize_session=False)
    )
    module.deleted_at = None
    module.deletion_id = None
    module.updated_at = utcnow()
    _record_course(session, audit.MODULE_RESTORED, user, context.course, resource=module)
    await session.flush()
    await _after_structure_change(session, context.course.id)
    await session.refresh(module)
    return module


async def _after_structure_change(session: AsyncSession, course_id: uuid.UUID) -> None:
    await _renumber(session, Module, course_id)
    await _renumber(session, Lesson, course_id)
    await recount_lessons(session, course_id)
    await _touch(session, course_id)


# ---------------------------------------------------------------- lessons


async def _staff_lesson(
    session: AsyncSession, user: User, lesson_id: uuid.UUID, *, deleted: bool = False
) -> tuple[Lesson, CourseContext]:
    """A lesson of a live course the caller runs; 404 when they may not know it, 403 when
    they see the course but do not run it."""
    found = await lock_course_item(session, Lesson, lesson_id)
    if found is None:
        raise LessonNotFound()
    lesson, context = found
    if not context.is_staff(user):
        if lesson.deleted_at is None and context.is_visible_to(user):
            raise NotCourseStaff()
        raise LessonNotFound()
    if deleted and lesson.deleted_at is None:
        raise NotDeleted("The lesson is not deleted")
    if not deleted and lesson.deleted_at is not None:
        raise LessonNotFound()
    return lesson, context


async def _check_module(session: AsyncSession, course_id: uuid.UUID, module_id: uuid.UUID | None) -> None:
    if module_id is not None and not await is_live_in_course(session, Module, module_id, course_id):
        raise InvalidModule()


async def create_lesson(
    session: AsyncSession, user: User, course_id: uuid.UUID, data: LessonCreate
) -> Lesson:
    await staff_course(session, user, course_id, for_update=True)
    await _check_module(session, course_id, data.module_id)
    lesson = Lesson(
        course_id=course_id,
        module_id=data.module_id,
        title=data.title,
        type=data.type,
        content=data.content,
        duration_minutes=data.duration_minutes,
        is_preview=data.is_preview,
        position=1_000_000,
        version=1,
    )
    session.add(lesson)
    await session.flush()
    if data.file_id is not None:
        await _set_lesson_file(session, user, lesson, data.file_id)
    session.add(
        LessonVersion(
            lesson_id=lesson.id, version=1, title=data.title, content=data.content, author_id=user.id
        )
    )
    await _renumber(session, Lesson, course_id, move=(lesson.id, data.order))
    await recount_lessons(session, course_id)
    await _touch(session, course_id)
    await session.flush()
    await session.refresh(lesson)
    emit(session, event_types.LESSON_CREATED, {"lesson_id": lesson.id, "course_id": course_id})
    return lesson


async def _new_version(session: AsyncSession, user: User, lesson: Lesson, title: str, content: str) -> None:
    """Make (title, content) current as the next version; the version number is bumped in SQL,
    and (lesson_id, version) is unique, so concurrent edits never share a number."""
    number = await session.scalar(
        update(Lesson)
        .where(Lesson.id == lesson.id)
        .values(
            version=Lesson.version + 1,
            title=title,
            content=content,
            content_html=render_markdown(content),
            updated_at=utcnow(),
        )
        .returning(Lesson.version)
        .execution_options(synchronize_session=False)
    )
    assert number is not None
    session.add(
        LessonVersion(lesson_id=lesson.id, version=number, title=title, content=content, author_id=user.id)
    )
    await session.flush()


async def update_lesson(
    session: AsyncSession, user: User, lesson_id: uuid.UUID, data: LessonUpdate
) -> Lesson:
    lesson, context = await _staff_lesson(session, user, lesson_id)
    course_id = context.course.id
    before = audit.snapshot(lesson, _AUDITED_LESSON_FIELDS)
    if "module_id" in data.model_fields_set:
        await _check_module(session, course_id, data.module_id)
        lesson.module_id = data.module_id
    if data.duration_minutes is not None:
        lesson.duration_minutes = data.duration_minutes
    if data.is_preview is not None:
        lesson.is_preview = data.is_preview
    if "file_id" in data.model_fields_set:
        await _set_lesson_file(session, user, lesson, data.file_id)
    lesson.updated_at = utcnow()
    await session.flush()
    title = data.title if data.title is not None else lesson.title
    content = data.content if data.content is not None else lesson.content
    if (title, content) != (lesson.title, lesson.content):
        await _new_version(session, user, lesson, title, content)
    if data.order is not None:
        await _renumber(session, Lesson, course_id, move=(lesson.id, data.order))
    await _touch(session, course_id)
    await session.refresh(lesson)
    if changed := audit.changes_of(before, lesson):
        _record_course(session, audit.LESSON_UPDATED, user, context.course, changed, resource=lesson)
    return lesson


#: Fields of a lesson change the audit log shows (the content is in the lesson's versions).
_AUDITED_LESSON_FIELDS = ("title", "module_id", "duration_minutes", "is_preview", "position")


async def reorder_lessons(
    session: AsyncSession, user: User, course_id: uuid.UUID, lesson_ids: Sequence[uuid.UUID]
) -> list[Lesson]:
    await staff_course(session, user, course_id, for_update=True)
    lessons = (await session.scalars(queries.current_lessons_statement(course_id))).all()
    current = {lesson.id: lesson.position for lesson in lessons}
    if len(lesson_ids) != len(set(lesson_ids)) or set(lesson_ids) != set(current):
        missing = len(set(current) - set(lesson_ids))
        unknown = len(set(lesson_ids) - set(current))
        raise InvalidLessonOrder(
            f"{missing} of the course's lessons missing, {unknown} unknown, "
            f"{len(lesson_ids) - len(set(lesson_ids))} repeated"
        )
    await _write_positions(session, Lesson, list(lesson_ids), current)
    await _touch(session, course_id)
    return await _refreshed_lessons(session, course_id)


async def _refreshed_lessons(session: AsyncSession, course_id: uuid.UUID) -> list[Lesson]:
    rows = await session.scalars(
        select(Lesson)
        .where(Lesson.course_id == course_id, Lesson.deleted_at.is_(None))
        .order_by(Lesson.position)
        .execution_options(populate_existing=True)
    )
    return list(rows.all())


async def delete_lesson(session: AsyncSession, user: User, lesson_id: uuid.UUID) -> None:
    lesson, context = await _staff_lesson(session, user, lesson_id)
    lesson.deleted_at = utcnow()
    lesson.deletion_id = uuid.uuid4()
    _record_course(session, audit.LESSON_DELETED, user, context.course, resource=lesson)
    await session.flush()
    await _after_structure_change(session, context.course.id)
    emit(session, event_types.LESSON_DELETED, {"lesson_id": lesson_id, "course_id": context.course.id})


async def restore_lesson(session: AsyncSession, user: User, lesson_id: uuid.UUID) -> Lesson:
    lesson, context = await _staff_lesson(session, user, lesson_id, deleted=True)
    if lesson.module_id is not None:
        module_deleted = await session.scalar(select(Module.deleted_at).where(Module.id == lesson.module_id))
        if module_deleted is not None:
            raise ParentDeleted()
    lesson.deleted_at = None
    lesson.deletion_id = None
    lesson.updated_at = utcnow()
    _record_course(session, audit.LESSON_RESTORED, user, context.course, resource=lesson)
    await session.flush()
    await _after_structure_change(session, context.course.id)
    await session.refresh(lesson)
    return lesson


async def list_versions(
    session: AsyncSession, user: User, lesson_id: uuid.UUID, params: PageParams
) -> tuple[list[LessonVersion], int]:
    """A lesson's versions, newest first (course staff)."""
    await _staff_lesson(session, user, lesson_id)
    statement = (
        select(LessonVersion)
        .where(LessonVersion.lesson_id == lesson_id)
        .order_by(LessonVersion.version.desc())
    )
    return await fetch_page(session, statement, params)


async def get_version(session: AsyncSession, user: User, lesson_id: uuid.UUID, number: int) -> LessonVersion:
    await _staff_lesson(session, user, lesson_id)
    return await _version(session, lesson_id, number)


async def _version(session: AsyncSession, lesson_id: uuid.UUID, number: int) -> LessonVersion:
    version = await session.scalar(
        select(LessonVersion).where(LessonVersion.lesson_id == lesson_id, LessonVersion.version == number)
    )
    if version is None:
        raise VersionNotFound()
    return version


async def restore_version(session: AsyncSession, user: User, lesson_id: uuid.UUID, number: int) -> Lesson:
    lesson, context = await _staff_lesson(session, user, lesson_id)
    old = await _version(session, lesson_id, number)
    await _new_version(session, user, lesson, old.title, old.content)
    await _touch(session, context.course.id)
    await session.refresh(lesson)
    return lesson
