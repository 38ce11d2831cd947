"""Catalog services. Other domains use the loaders here to reach courses and lessons."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Text,
    and_,
    cast,
    delete,
    exists,
    func,
    literal_column,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.catalog.access import (
    CourseContext,
    CourseRole,
    course_access,
    is_live_in_course,
    lesson_access,
    load_course,
    lock_course_item,
    locked,
    recount_lessons,
)
from studyhall.catalog.errors import (
    AlreadyInstructor,
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
    CourseLevel,
    CourseStatus,
    Lesson,
    LessonType,
    LessonVersion,
    Module,
    Visibility,
)
from studyhall.catalog.policies import (
    can_create_course,
    can_delete_course,
    can_view_course,
    listed_condition,
    staff_condition,
)
from studyhall.catalog.rendering import render_markdown
from studyhall.catalog.schemas import (
    CatalogSort,
    CourseCreate,
    CourseDetail,
    CourseRead,
    CourseUpdate,
    LessonCreate,
    LessonOutline,
    LessonRead,
    LessonUpdate,
    LessonVersionRead,
    LessonVersionSummary,
    ModuleCreate,
    ModuleRead,
    ModuleUpdate,
)
from studyhall.core.db import utcnow
from studyhall.core.errors import Unauthenticated
from studyhall.core.events import emit
from studyhall.core.pagination import Page, PageParams, fetch_page
from studyhall.identity.errors import InsufficientRole
from studyhall.identity.models import Role, User
from studyhall.identity.policies import is_admin, is_principal, is_staff
from studyhall.learning.service import completed_lesson_ids, progress_for_courses

_SLUG_MAX = 200


def slugify(title: str) -> str:
    """`"Intro to Python 3!"` → `"intro-to-python-3"` (ASCII; `"course"` when nothing is left)."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    return slug[:_SLUG_MAX].rstrip("-") or "course"


def _parse_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


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


async def _instructors_by_course(
    session: AsyncSession, course_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    result: dict[uuid.UUID, list[uuid.UUID]] = {course_id: [] for course_id in course_ids}
    if not course_ids:
        return result
    rows = await session.execute(
        select(CourseInstructor.course_id, CourseInstructor.user_id)
        .where(CourseInstructor.course_id.in_(course_ids))
        .order_by(CourseInstructor.added_at, CourseInstructor.user_id)
    )
    for course_id, user_id in rows.all():
        result[course_id].append(user_id)
    return result


def _course_fields(course: Course) -> dict[str, Any]:
    return {
        "id": course.id,
        "slug": course.slug,
        "title": course.title,
        "subtitle": course.subtitle,
        "description": course.description,
        "category": course.category,
        "tags": list(course.tags or []),
        "level": course.level,
        "language": course.language,
        "duration_minutes": course.duration_minutes,
        "price_cents": course.price_cents,
        "currency": course.currency,
        "visibility": course.visibility,
        "status": course.status,
        "organization_id": course.organization_id,
        "owner_id": course.owner_id,
        "skills": list(course.skills or []),
        "certificate_enabled": course.certificate_enabled,
        "created_at": course.created_at,
        "updated_at": course.updated_at,
        "published_at": course.published_at,
        "lesson_count": course.lesson_count,
        "enrollment_count": course.enrollment_count,
    }


async def course_cards(
    session: AsyncSession, user: User | None, courses: Sequence[Course]
) -> list[CourseRead]:
    """Courses as API objects, with instructors and the caller's flags loaded in bulk:
    two queries whatever the number of courses."""
    ids = [course.id for course in courses]
    instructors = await _instructors_by_course(session, ids)
    progress = await progress_for_courses(session, user.id, ids) if user is not None else {}
    cards = []
    for course in courses:
        mine = progress.get(course.id)
        cards.append(
            CourseRead(
                **_course_fields(course),
                instructor_ids=instructors[course.id],
                is_enrolled=mine is not None,
                progress_percent=mine.progress_percent if mine is not None else None,
            )
        )
    return cards


async def course_card(session: AsyncSession, user: User | None, course: Course) -> CourseRead:
    return (await course_cards(session, user, [course]))[0]


async def _find_course(session: AsyncSession, id_or_slug: str) -> Course | None:
    course_id = _parse_uuid(id_or_slug)
    key = Course.id == course_id if course_id is not None else Course.slug == id_or_slug.lower()
    return await session.scalar(select(Course).where(key, Course.deleted_at.is_(None)))


async def _completed_lesson_ids(
    session: AsyncSession, user: User | None, course_id: uuid.UUID
) -> set[uuid.UUID]:
    if user is None:
        return set()
    return await completed_lesson_ids(session, user.id, course_id=course_id)


def _current_lessons_statement(course_id: uuid.UUID) -> Select[Lesson]:
    return (
        select(Lesson)
        .where(Lesson.course_id == course_id, Lesson.deleted_at.is_(None))
        .order_by(Lesson.position, Lesson.created_at, Lesson.id)
    )


async def _current_lessons(session: AsyncSession, course_id: uuid.UUID) -> list[Lesson]:
    return list((await session.scalars(_current_lessons_statement(course_id))).all())


async def _current_modules(session: AsyncSession, course_id: uuid.UUID) -> list[Module]:
    rows = await session.scalars(
        select(Module)
        .where(Module.course_id == course_id, Module.deleted_at.is_(None))
        .order_by(Module.position, Module.created_at, Module.id)
    )
    return list(rows.all())


def module_read(module: Module) -> ModuleRead:
    return ModuleRead(
        id=module.id,
        course_id=module.course_id,
        title=module.title,
        description=module.description,
        order=module.position,
        created_at=module.created_at,
        updated_at=module.updated_at,
    )


def _outline(lessons: Sequence[Lesson], completed: set[uuid.UUID]) -> list[LessonOutline]:
    return [
        LessonOutline(
            id=lesson.id,
            module_id=lesson.module_id,
            title=lesson.title,
            type=LessonType(lesson.type),
            order=lesson.position,
            duration_minutes=lesson.duration_minutes,
            is_preview=lesson.is_preview,
            is_completed=lesson.id in completed,
        )
        for lesson in lessons
    ]


async def course_detail(session: AsyncSession, user: User | None, id_or_slug: str) -> CourseDetail:
    course = await _find_course(session, id_or_slug)
    if course is None:
        raise CourseNotFound()
    card = await course_card(session, user, course)
    if not can_view_course(user, course, frozenset(card.instructor_ids)):
        raise CourseNotFound()
    modules = await _current_modules(session, course.id)
    lessons = await _current_lessons(session, course.id)
    completed = await _completed_lesson_ids(session, user, course.id) if card.is_enrolled else set()
    return CourseDetail(
        **card.model_dump(),
        modules=[module_read(module) for module in modules],
        lessons=_outline(lessons, completed),
    )


async def lesson_outline(
    session: AsyncSession, user: User | None, course_id: uuid.UUID, params: PageParams
) -> Page[LessonOutline]:
    """Staff and enrolled students see every lesson; others who can see the course, the previews."""
    access = await course_access(session, user, course_id)
    statement = _current_lessons_statement(course_id)
    completed: set[uuid.UUID] = set()
    if access.role is CourseRole.VIEWER:
        statement = statement.where(Lesson.is_preview)
    else:
        completed = await _completed_lesson_ids(session, user, course_id)
    lessons, total = await fetch_page(session, statement, params)
    return Page[LessonOutline].of(_outline(lessons, completed), total, params)


# ---------------------------------------------------------------- the catalog


@dataclass(frozen=True, slots=True)
class CatalogQuery:
    q: str | None = None
    category: str | None = None
    level: CourseLevel | None = None
    tag: str | None = None
    skill: str | None = None
    instructor_id: uuid.UUID | None = None
    organization_id: uuid.UUID | None = None
    free: bool | None = None
    sort: CatalogSort = CatalogSort.NEWEST
    mine: bool = False
    status: CourseStatus | None = None


def text_search_condition(dialect: str, q: str) -> ColumnElement[bool]:
    """Course search over title, description and tags.

    PostgreSQL: full-text search on the same expression as the GIN index
    `ix_courses_search` (migration 0005). Elsewhere: every word must appear (LIKE)."""
    if dialect == "postgresql":
        # A materialized CTE: PostgreSQL finds the matches once through the GIN index instead
        # of walking a sort index and computing every course's tsvector (EXPLAIN-checked).
        matches = search_vector().bool_op("@@")(
            func.websearch_to_tsquery(literal_column("'english'::regconfig"), q)
        )
        found = select(Course.id).where(matches).cte("search_matches").prefix_with("MATERIALIZED")
        return Course.id.in_(select(found.c.id))
    conditions = []
    for word in q.lower().split()[:10]:
        pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append(
            or_(
                func.lower(Course.title).like(pattern, escape="\\"),
                func.lower(Course.description).like(pattern, escape="\\"),
                func.lower(cast(Course.tags, Text)).like(pattern, escape="\\"),
            )
        )
    return and_(*conditions) if conditions else true()


def search_vector() -> ColumnElement[Any]:
    """`to_tsvector('english', title || ' ' || description || ' ' || tags::text)`; keep it identical
    to the expression of the index in migration 0005, or PostgreSQL will not use the index."""
    space: ColumnElement[str] = literal_column("' '")
    document = (
        Course.title.op("||")(space)
        .op("||")(Course.description)
        .op("||")(space)
        .op("||")(cast(Course.tags, Text))
    )
    return func.to_tsvector(literal_column("'english'::regconfig"), document)


def json_array_contains(dialect: str, column: Any, value: str) -> ColumnElement[bool]:
    """`value` is an element of the JSON array `column` (indexed by GIN on PostgreSQL)."""
    if dialect == "postgresql":
        return cast(column, JSONB).contains(func.jsonb_build_array(value))
    element = func.json_each(column).table_valued("value").alias("element")
    return exists(select(1).select_from(element).where(element.c.value == value))


def catalog_statement(dialect: str, user: User | None, query: CatalogQuery) -> Select[Any]:
    if query.mine or query.status is not None:
        if user is None:
            raise Unauthenticated("Sign in to use `mine` or `status`")
        if not is_staff(user):
            raise InsufficientRole("`mine` and `status` are for instructors, principals and admins")
    statement = select(Course).where(Course.deleted_at.is_(None))
    if query.mine:
        assert user is not None
        statement = statement.where(staff_condition(user, all_for_admin=False))
    elif query.status is not None:
        assert user is not None
        statement = statement.where(or_(listed_condition(user), staff_condition(user)))
    else:
        statement = statement.where(listed_condition(user))
    if query.status is not None:
        statement = statement.where(Course.status == query.status)
    search = query.q.strip() if query.q else ""
    if search:
        statement = statement.where(text_search_condition(dialect, search))
    if query.category is not None:
        statement = statement.where(Course.category == query.category)
    if query.level is not None:
        statement = statement.where(Course.level == query.level)
    if query.tag is not None:
        statement = statement.where(json_array_contains(dialect, Course.tags, query.tag.strip().lower()))
    if query.skill is not None:
        statement = statement.where(json_array_contains(dialect, Course.skills, query.skill.strip().lower()))
    if query.instructor_id is not None:
        co_taught = select(CourseInstructor.course_id).where(CourseInstructor.user_id == query.instructor_id)
        statement = statement.where(or_(Course.owner_id == query.instructor_id, Course.id.in_(co_taught)))
    if query.organization_id is not None:
        statement = statement.where(Course.organization_id == query.organization_id)
    if query.free is not None:
        statement = statement.where(Course.price_cents == 0 if query.free else Course.price_cents > 0)
    order: list[Any]
    # Each order matches an index (status, key, id) read forwards or backwards.
    if query.sort == CatalogSort.TITLE:
        order = [Course.title, Course.id]
    elif query.sort == CatalogSort.POPULAR:
        order = [Course.enrollment_count.desc(), Course.id.desc()]
    else:
        order = [Course.published_at.desc(), Course.id.desc()]
    return statement.order_by(*order)


async def list_catalog(
    session: AsyncSession, user: User | None, query: CatalogQuery, params: PageParams
) -> Page[CourseRead]:
    """One page of the catalog in four queries at most, whatever the page size."""
    statement = catalog_statement(session.get_bind().dialect.name, user, query)
    courses, total = await fetch_page(session, statement, params)
    return Page[CourseRead].of(await course_cards(session, user, courses), total, params)


async def list_trash(session: AsyncSession, user: User, params: PageParams) -> Page[CourseRead]:
    """Deleted courses the caller may restore (owner, the organization's principal, admins)."""
    statement = select(Course).where(Course.deleted_at.is_not(None))
    if not is_admin(user):
        conditions: list[ColumnElement[bool]] = [Course.owner_id == user.id]
        if is_principal(user) and user.organization_id is not None:
            conditions.append(Course.organization_id == user.organization_id)
        statement = statement.where(or_(*conditions))
    courses, total = await fetch_page(
        session, statement.order_by(Course.deleted_at.desc(), Course.id), params
    )
    return Page[CourseRead].of(await course_cards(session, user, courses), total, params)


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
    emit(session, "course.created", {"course_id": course.id, "owner_id": user.id})
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
    for key, value in changes.items():
        setattr(course, key, value)
    course.updated_at = utcnow()
    await session.flush()
    return course


async def set_course_status(
    session: AsyncSession, user: User, course_id: uuid.UUID, status: CourseStatus
) -> Course:
    context = await staff_course(session, user, course_id, for_update=True)
    course = context.course
    if status == CourseStatus.PUBLISHED and course.lesson_count == 0:
        raise CourseEmpty()
    if course.status != status:
        course.status = status
        if status == CourseStatus.PUBLISHED and course.published_at is None:
            course.published_at = utcnow()
        course.updated_at = utcnow()
        await session.flush()
        emit(session, f"course.{_STATUS_EVENTS[status]}", {"course_id": course.id, "by": user.id})
    return course


_STATUS_EVENTS = {
    CourseStatus.PUBLISHED: "published",
    CourseStatus.DRAFT: "unpublished",
    CourseStatus.ARCHIVED: "archived",
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
    emit(session, "course.deleted", {"course_id": course_id, "by": user.id})


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
    emit(session, "course.restored", {"course_id": course_id, "by": user.id})
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
    """Bump `updated_at` (course ETags and caches key on it)."""
    await session.execute(
        update(Course)
        .where(Course.id == course_id)
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


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


async def lesson_read(session: AsyncSession, user: User | None, lesson: Lesson) -> LessonRead:
    completed = user is not None and bool(await completed_lesson_ids(session, user.id, lesson_id=lesson.id))
    return LessonRead(
        id=lesson.id,
        course_id=lesson.course_id,
        module_id=lesson.module_id,
        title=lesson.title,
        type=LessonType(lesson.type),
        order=lesson.position,
        content=lesson.content,
        content_html=render_markdown(lesson.content),
        duration_minutes=lesson.duration_minutes,
        is_preview=lesson.is_preview,
        version=lesson.version,
        is_completed=completed,
        extra=dict(lesson.extra or {}),
        created_at=lesson.created_at,
        updated_at=lesson.updated_at,
    )


async def get_lesson(session: AsyncSession, user: User | None, lesson_id: uuid.UUID) -> LessonRead:
    """Staff and enrolled students read any lesson; anyone who sees the course, its previews."""
    access = await lesson_access(session, user, lesson_id)
    if not access.lesson.is_preview:
        if user is None:
            raise Unauthenticated("Sign in and enroll to open this lesson")
        access.course.require_member("Enroll in the course to open this lesson")
    return await lesson_read(session, user, access.lesson)


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
    emit(session, "lesson.created", {"lesson_id": lesson.id, "course_id": course_id})
    return lesson


async def _new_version(session: AsyncSession, user: User, lesson: Lesson, title: str, content: str) -> None:
    """Make (title, content) current as the next version; the version number is bumped in SQL,
    and (lesson_id, version) is unique, so concurrent edits never share a number."""
    number = await session.scalar(
        update(Lesson)
        .where(Lesson.id == lesson.id)
        .values(version=Lesson.version + 1, title=title, content=content, updated_at=utcnow())
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
    if "module_id" in data.model_fields_set:
        await _check_module(session, course_id, data.module_id)
        lesson.module_id = data.module_id
    if data.duration_minutes is not None:
        lesson.duration_minutes = data.duration_minutes
    if data.is_preview is not None:
        lesson.is_preview = data.is_preview
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
    return lesson


async def reorder_lessons(
    session: AsyncSession, user: User, course_id: uuid.UUID, lesson_ids: Sequence[uuid.UUID]
) -> list[Lesson]:
    await staff_course(session, user, course_id, for_update=True)
    lessons = await _current_lessons(session, course_id)
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


def outline_of(lessons: Sequence[Lesson]) -> list[LessonOutline]:
    return _outline(lessons, set())


async def delete_lesson(session: AsyncSession, user: User, lesson_id: uuid.UUID) -> None:
    lesson, context = await _staff_lesson(session, user, lesson_id)
    lesson.deleted_at = utcnow()
    lesson.deletion_id = uuid.uuid4()
    await session.flush()
    await _after_structure_change(session, context.course.id)
    emit(session, "lesson.deleted", {"lesson_id": lesson_id, "course_id": context.course.id})


async def restore_lesson(session: AsyncSession, user: User, lesson_id: uuid.UUID) -> Lesson:
    lesson, context = await _staff_lesson(session, user, lesson_id, deleted=True)
    if lesson.module_id is not None:
        module_deleted = await session.scalar(select(Module.deleted_at).where(Module.id == lesson.module_id))
        if module_deleted is not None:
            raise ParentDeleted()
    lesson.deleted_at = None
    lesson.deletion_id = None
    lesson.updated_at = utcnow()
    await session.flush()
    await _after_structure_change(session, context.course.id)
    await session.refresh(lesson)
    return lesson


async def list_versions(
    session: AsyncSession, user: User, lesson_id: uuid.UUID, params: PageParams
) -> Page[LessonVersionSummary]:
    await _staff_lesson(session, user, lesson_id)
    statement = (
        select(LessonVersion)
        .where(LessonVersion.lesson_id == lesson_id)
        .order_by(LessonVersion.version.desc())
    )
    rows, total = await fetch_page(session, statement, params)
    items = [
        LessonVersionSummary(
            version=row.version, title=row.title, created_at=row.created_at, author_id=row.author_id
        )
        for row in rows
    ]
    return Page[LessonVersionSummary].of(items, total, params)


async def _version(session: AsyncSession, lesson_id: uuid.UUID, number: int) -> LessonVersion:
    version = await session.scalar(
        select(LessonVersion).where(LessonVersion.lesson_id == lesson_id, LessonVersion.version == number)
    )
    if version is None:
        raise VersionNotFound()
    return version


def version_read(version: LessonVersion) -> LessonVersionRead:
    return LessonVersionRead(
        lesson_id=version.lesson_id,
        version=version.version,
        title=version.title,
        created_at=version.created_at,
        author_id=version.author_id,
        content=version.content,
        content_html=render_markdown(version.content),
    )


async def get_version(
    session: AsyncSession, user: User, lesson_id: uuid.UUID, number: int
) -> LessonVersionRead:
    await _staff_lesson(session, user, lesson_id)
    return version_read(await _version(session, lesson_id, number))


async def restore_version(session: AsyncSession, user: User, lesson_id: uuid.UUID, number: int) -> Lesson:
    lesson, context = await _staff_lesson(session, user, lesson_id)
    old = await _version(session, lesson_id, number)
    await _new_version(session, user, lesson, old.title, old.content)
    await _touch(session, context.course.id)
    await session.refresh(lesson)
    return lesson
