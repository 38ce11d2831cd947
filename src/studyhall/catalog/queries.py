"""The catalog's SQL: statements built once and run with bound parameters.

The hot reads (the catalog page, course detail, the lesson page) select only the columns
their responses show, from the tables themselves (Core): rows come back as plain rows, with
no entity loading and no identity map. Each statement is built once per database dialect (the
catalog page: once per audience and combination of filters) and kept, so SQLAlchemy computes
its cache key once and finds its compiled form in the engine's cache on every run; the values
travel as bound parameters.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Dialect,
    Integer,
    Label,
    Row,
    Select,
    String,
    Table,
    Text,
    and_,
    any_,
    bindparam,
    exists,
    func,
    literal_column,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import TypeDecorator, TypeEngine, Uuid

from studyhall.catalog.models import (
    Course,
    CourseInstructor,
    CourseLevel,
    CourseStatus,
    Lesson,
    Module,
)
from studyhall.catalog.policies import Audience, audience_condition
from studyhall.catalog.schemas import CatalogSort
from studyhall.core.pagination import PageParams
from studyhall.learning.models import Enrollment, EnrollmentStatus, LessonCompletion

courses = cast(Table, Course.__table__)
lessons = cast(Table, Lesson.__table__)
modules = cast(Table, Module.__table__)
course_instructors = cast(Table, CourseInstructor.__table__)
enrollments = cast(Table, Enrollment.__table__)
completions = cast(Table, LessonCompletion.__table__)

Params = dict[str, Any]


async def fetch_all(
    session: AsyncSession, statement: Select[Any], params: Mapping[str, Any]
) -> list[Row[Any]]:
    """Rows of a Core select, run on the session's connection (inside its transaction)."""
    connection = await session.connection()
    return list((await connection.execute(statement, params)).all())


async def fetch_one(
    session: AsyncSession, statement: Select[Any], params: Mapping[str, Any]
) -> Row[Any] | None:
    return next(iter(await fetch_all(session, statement, params)), None)


def dialect_of(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


# ---------------------------------------------------------------- shared pieces


class UUIDList(TypeDecorator[list[uuid.UUID]]):
    """UUIDs aggregated in SQL (`instructor_ids_of`): a `uuid[]` on PostgreSQL, a JSON array
    of hex strings on SQLite; a list of UUIDs in Python either way."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(ARRAY(Uuid()))
        return dialect.type_descriptor(Text())

    def process_result_value(self, value: Any, dialect: Dialect) -> list[uuid.UUID]:
        if value is None:
            return []
        if isinstance(value, str):
            return [uuid.UUID(hex=item) for item in json.loads(value)]
        return list(value)


def instructor_ids_of(dialect: str, course_id: ColumnElement[Any]) -> Label[list[uuid.UUID]]:
    """A course's co-instructors as one column (`instructor_ids`), in the order they were
    added: no second query for them."""
    ordered = (
        select(course_instructors.c.user_id)
        .where(course_instructors.c.course_id == course_id)
        .order_by(course_instructors.c.added_at, course_instructors.c.user_id)
    )
    if dialect == "postgresql":
        aggregated: ColumnElement[Any] = func.array(ordered.scalar_subquery())
    else:
        rows = ordered.correlate(courses).subquery()
        aggregated = select(func.json_group_array(rows.c.user_id)).scalar_subquery()
    return type_coerce(aggregated, UUIDList()).label("instructor_ids")


def in_list(dialect: str, column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
    """`column` is one of the values bound as `name` (a list): `= ANY(array)` on PostgreSQL,
    one statement whatever the list's length; an expanding `IN` elsewhere."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(Uuid())))
    return column.in_(bindparam(name, expanding=True))


#: A course as the API shows it (`CourseRead` without the caller's flags), in field order.
CARD_COLUMNS = tuple(
    courses.c[name]
    for name in (
        "id",
        "slug",
        "title",
        "subtitle",
        "description",
        "category",
        "tags",
        "level",
        "language",
        "duration_minutes",
        "price_cents",
        "currency",
        "visibility",
        "status",
        "organization_id",
        "owner_id",
        "skills",
        "certificate_enabled",
        "created_at",
        "updated_at",
        "published_at",
        "lesson_count",
        "enrollment_count",
    )
)


def _card_columns(dialect: str) -> tuple[ColumnElement[Any], ...]:
    return (*CARD_COLUMNS, instructor_ids_of(dialect, courses.c.id))


@cache
def card_select(dialect: str) -> Select[Any]:
    """Course cards, to be filtered and ordered."""
    return select(*_card_columns(dialect))


async def fetch_rows_page(
    session: AsyncSession, statement: Select[Any], params: PageParams
) -> tuple[list[Row[Any]], int]:
    """Rows of one page of a Core select and the total: two statements."""
    counted = select(func.count()).select_from(statement.order_by(None).subquery())
    total = await fetch_one(session, counted, {})
    rows = await fetch_all(session, statement.limit(params.limit).offset(params.offset), {})
    return rows, int(total[0]) if total is not None else 0


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

    @property
    def for_staff(self) -> bool:
        """`mine` and `status` list what the caller runs: not the same for any two callers."""
        return self.mine or self.status is not None

    def filter_values(self) -> Params:
        """The filters' bound values, by parameter name (absent filters are absent)."""
        values: Params = {
            "q": (self.q.strip() if self.q else None) or None,
            "category": self.category,
            "level": self.level,
            "tag": self.tag.strip().lower() if self.tag is not None else None,
            "skill": self.skill.strip().lower() if self.skill is not None else None,
            "instructor_id": self.instructor_id,
            "organization_id": self.organization_id,
            "status": self.status,
        }
        return {name: value for name, value in values.items() if value is not None}


@dataclass(frozen=True, slots=True)
class CatalogStatements:
    #: A page of course cards, each row also carrying the `total` of the whole listing (an
    #: uncorrelated subquery the database evaluates once): one statement for page and total.
    page: Select[Any]
    #: The total alone, for a page past the end (no row to carry it).
    count: Select[Any]


def catalog_statements(
    dialect: str, listed: Audience | ColumnElement[bool], query: CatalogQuery
) -> tuple[CatalogStatements, Params]:
    """The page and count statements of a catalog query and their parameters (add `limit`
    and `offset`). `listed` is the audience whose catalog it is (statements kept per audience
    and filter combination), or, for staff listings, the caller's own condition (built anew)."""
    values = query.filter_values()
    search = values.pop("q", None)
    words: tuple[str, ...] = ()
    if search is not None:
        if dialect == "postgresql":
            values["q"] = search
        else:
            words = tuple(search.lower().split()[:10])
            values.update({f"q_{n}": _like_pattern(word) for n, word in enumerate(words)})
    shape = _Shape(
        filters=frozenset(values) - {f"q_{n}" for n in range(len(words))},
        words=len(words),
        free=query.free,
        sort=query.sort,
    )
    if isinstance(listed, Audience):
        return _kept_catalog_statements(dialect, listed, shape), values
    return _catalog_statements(dialect, listed, shape), values


@dataclass(frozen=True, slots=True)
class _Shape:
    """What a catalog statement looks like, without the values: which filters are set."""

    filters: frozenset[str]
    words: int
    free: bool | None
    sort: CatalogSort


@lru_cache(maxsize=512)  # audiences x filter combinations in use; an organisation is an audience
def _kept_catalog_statements(dialect: str, audience: Audience, shape: _Shape) -> CatalogStatements:
    return _catalog_statements(dialect, audience_condition(audience), shape)


def _catalog_statements(dialect: str, listed: ColumnElement[Any], shape: _Shape) -> CatalogStatements:
    conditions = [courses.c.deleted_at.is_(None), listed, *_filter_conditions(dialect, shape)]
    count = select(func.count()).select_from(courses).where(*conditions)
    page = (
        select(*_card_columns(dialect), count.correlate(None).scalar_subquery().label("total"))
        .where(*conditions)
        .order_by(*_ORDER[shape.sort])
        .limit(bindparam("limit", type_=Integer()))
        .offset(bindparam("offset", type_=Integer()))
    )
    return CatalogStatements(page=page, count=count)


#: Each order matches an index (status, key, id) read forwards or backwards.
_ORDER: dict[CatalogSort, tuple[ColumnElement[Any], ...]] = {
    CatalogSort.TITLE: (courses.c.title, courses.c.id),
    CatalogSort.POPULAR: (courses.c.enrollment_count.desc(), courses.c.id.desc()),
    CatalogSort.NEWEST: (courses.c.published_at.desc(), courses.c.id.desc()),
}


def _filter_conditions(dialect: str, shape: _Shape) -> list[ColumnElement[Any]]:
    conditions: list[ColumnElement[Any]] = []
    filters = shape.filters
    for name in ("status", "category", "level", "organization_id"):
        if name in filters:
            conditions.append(courses.c[name] == bindparam(name))
    if "q" in filters or shape.words:
        conditions.append(text_search_condition(dialect, shape.words))
    for name in ("tag", "skill"):
        if name in filters:
            term = bindparam(name, type_=String())
            conditions.append(json_array_contains(dialect, courses.c[f"{name}s"], term))
    if "instructor_id" in filters:
        instructor = bindparam("instructor_id", type_=Uuid())
        co_taught = select(course_instructors.c.course_id).where(course_instructors.c.user_id == instructor)
        conditions.append(or_(courses.c.owner_id == instructor, courses.c.id.in_(co_taught)))
    if shape.free is not None:
        conditions.append(courses.c.price_cents == 0 if shape.free else courses.c.price_cents > 0)
    return conditions


def text_search_condition(dialect: str, words: int) -> ColumnElement[bool]:
    """Course search over title, description and tags, on the bound parameter `q`.

    PostgreSQL: full-text search on the same expression as the GIN index
    `ix_courses_search` (migration 0005). Elsewhere: each of the `words` patterns
    `q_0`, `q_1`, ... (`catalog_statements` makes them) must match (LIKE)."""
    if dialect == "postgresql":
        # A materialized CTE: PostgreSQL finds the matches once through the GIN index instead
        # of walking a sort index and computing every course's tsvector (EXPLAIN-checked).
        matches = search_vector().bool_op("@@")(
            func.websearch_to_tsquery(literal_column("'english'::regconfig"), bindparam("q", type_=String()))
        )
        found = select(courses.c.id).where(matches).cte("search_matches").prefix_with("MATERIALIZED")
        return courses.c.id.in_(select(found.c.id))
    conditions = []
    for n in range(words):
        pattern: ColumnElement[str] = bindparam(f"q_{n}")
        conditions.append(
            or_(
                func.lower(courses.c.title).like(pattern, escape="\\"),
                func.lower(courses.c.description).like(pattern, escape="\\"),
                func.lower(sql_cast(courses.c.tags, Text)).like(pattern, escape="\\"),
            )
        )
    return and_(*conditions) if conditions else true()


def _like_pattern(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search_vector() -> ColumnElement[Any]:
    """`to_tsvector('english', title || ' ' || description || ' ' || tags::text)`; keep it identical
    to the expression of the index in migration 0005, or PostgreSQL will not use the index."""
    space: ColumnElement[str] = literal_column("' '")
    document = (
        courses.c.title.op("||")(space)
        .op("||")(courses.c.description)
        .op("||")(space)
        .op("||")(sql_cast(courses.c.tags, Text))
    )
    return func.to_tsvector(literal_column("'english'::regconfig"), document)


def json_array_contains(dialect: str, column: Any, value: Any) -> ColumnElement[bool]:
    """`value` is an element of the JSON array `column` (indexed by GIN on PostgreSQL)."""
    if dialect == "postgresql":
        return sql_cast(column, JSONB).contains(func.jsonb_build_array(value))
    element = func.json_each(column).table_valued("value").alias("element")
    return exists(select(1).select_from(element).where(element.c.value == value))


# ---------------------------------------------------------------- hot reads


@dataclass(frozen=True, slots=True)
class HotReads:
    """The statements of the hot reads for one dialect."""

    #: A live course's card with `deleted_at` (for the access rule), by `course_id` or `slug`.
    course_by_id: Select[Any]
    course_by_slug: Select[Any]
    #: A course's current modules and lessons (the outline), in order.
    modules: Select[Any]
    outline: Select[Any]
    #: The caller's progress (`done` of `lesson_count`) in those of `course_ids` they are
    #: actively enrolled in: the catalog page's flags in one statement.
    progress: Select[Any]
    #: The caller's active enrollment in `course_id` and the lessons they completed there
    #: (one row per completion; `lesson_id` NULL when none; no row when not enrolled).
    course_completions: Select[Any]
    #: A live lesson of a live course with what the access rule needs and the caller's
    #: `enrolled` and `is_completed` (`user_id` NULL for anonymous callers).
    lesson_page: Select[Any]


@cache
def hot_reads(dialect: str) -> HotReads:
    card = select(*_card_columns(dialect), courses.c.deleted_at).where(courses.c.deleted_at.is_(None))
    return HotReads(
        course_by_id=card.where(courses.c.id == bindparam("course_id", type_=Uuid())),
        course_by_slug=card.where(courses.c.slug == bindparam("slug")),
        modules=select(
            modules.c.id,
            modules.c.course_id,
            modules.c.title,
            modules.c.description,
            modules.c.position.label("order"),
            modules.c.created_at,
            modules.c.updated_at,
        )
        .where(modules.c.course_id == bindparam("course_id", type_=Uuid()), modules.c.deleted_at.is_(None))
        .order_by(modules.c.position, modules.c.created_at, modules.c.id),
        outline=select(
            lessons.c.id,
            lessons.c.module_id,
            lessons.c.title,
            lessons.c.type,
            lessons.c.position.label("order"),
            lessons.c.duration_minutes,
            lessons.c.is_preview,
        )
        .where(lessons.c.course_id == bindparam("course_id", type_=Uuid()), lessons.c.deleted_at.is_(None))
        .order_by(lessons.c.position, lessons.c.created_at, lessons.c.id),
        progress=_progress_statement(dialect),
        course_completions=_course_completions_statement(),
        lesson_page=_lesson_page_statement(dialect),
    )


def _progress_statement(dialect: str) -> Select[Any]:
    """Completions of current lessons over `courses.lesson_count`, as `learning` counts
    progress (`learning.service.CourseProgress`)."""
    done = (
        select(func.count())
        .select_from(completions.join(lessons, lessons.c.id == completions.c.lesson_id))
        .where(
            completions.c.user_id == enrollments.c.user_id,
            completions.c.course_id == enrollments.c.course_id,
            lessons.c.deleted_at.is_(None),
        )
        .scalar_subquery()
    )
    return (
        select(enrollments.c.course_id, courses.c.lesson_count, done.label("done"))
        .join(courses, courses.c.id == enrollments.c.course_id)
        .where(
            enrollments.c.user_id == bindparam("user_id", type_=Uuid()),
            in_list(dialect, enrollments.c.course_id, "course_ids"),
            enrollments.c.status == EnrollmentStatus.ACTIVE,
        )
    )


def _course_completions_statement() -> Select[Any]:
    return (
        select(enrollments.c.id.label("enrollment_id"), completions.c.lesson_id)
        .select_from(
            enrollments.outerjoin(
                completions,
                and_(
                    completions.c.user_id == enrollments.c.user_id,
                    completions.c.course_id == enrollments.c.course_id,
                ),
            )
        )
        .where(
            enrollments.c.user_id == bindparam("user_id", type_=Uuid()),
            enrollments.c.course_id == bindparam("course_id", type_=Uuid()),
            enrollments.c.status == EnrollmentStatus.ACTIVE,
        )
    )


def _lesson_page_statement(dialect: str) -> Select[Any]:
    caller = bindparam("user_id", type_=Uuid())
    enrolled = exists().where(
        enrollments.c.course_id == courses.c.id,
        enrollments.c.user_id == caller,
        enrollments.c.status == EnrollmentStatus.ACTIVE,
    )
    completed = exists().where(completions.c.lesson_id == lessons.c.id, completions.c.user_id == caller)
    return (
        select(
            lessons.c.id,
            lessons.c.course_id,
            lessons.c.module_id,
            lessons.c.title,
            lessons.c.type,
            lessons.c.position.label("order"),
            lessons.c.content,
            lessons.c.content_html,
            lessons.c.duration_minutes,
            lessons.c.is_preview,
            lessons.c.version,
            lessons.c.extra,
            lessons.c.created_at,
            lessons.c.updated_at,
            courses.c.owner_id,
            courses.c.organization_id,
            courses.c.status,
            courses.c.visibility,
            courses.c.deleted_at,
            instructor_ids_of(dialect, courses.c.id),
            enrolled.label("enrolled"),
            completed.label("is_completed"),
        )
        .join(courses, courses.c.id == lessons.c.course_id)
        .where(
            lessons.c.id == bindparam("lesson_id", type_=Uuid()),
            lessons.c.deleted_at.is_(None),
            courses.c.deleted_at.is_(None),
        )
    )


def course_lookup(id_or_slug: str) -> tuple[str, Any]:
    """How `GET /courses/{id_or_slug}` finds its course: (`"id"`, UUID) or (`"slug"`, slug)."""
    try:
        return "id", uuid.UUID(id_or_slug)
    except ValueError:
        return "slug", id_or_slug.lower()


# ---------------------------------------------------------------- authoring reads


def current_lessons_statement(course_id: uuid.UUID) -> Select[Any]:
    """A course's current lessons (entities), in order: what authoring and the outline page read."""
    return (
        select(Lesson)
        .where(Lesson.course_id == course_id, Lesson.deleted_at.is_(None))
        .order_by(Lesson.position, Lesson.created_at, Lesson.id)
    )


# ---------------------------------------------------------------- batched reads (GraphQL)


@dataclass(frozen=True, slots=True)
class BatchReads:
    """The hot reads' statements for many courses at once (`course_ids`, a list): what the
    GraphQL dataloaders run, one statement per kind whatever the number of courses."""

    #: Live courses' cards with `deleted_at`, by id.
    cards: Select[Any]
    #: Their current modules and lessons, each row with its `course_id`, in course order.
    modules: Select[Any]
    outline: Select[Any]
    #: The caller's (`user_id`) completed lessons in the courses they are actively enrolled
    #: in: one row per completion, `lesson_id` NULL for an enrollment without any.
    completions: Select[Any]


@cache
def batch_reads(dialect: str) -> BatchReads:
    single = hot_reads(dialect)
    courses_listed = in_list(dialect, courses.c.id, "course_ids")
    return BatchReads(
        cards=select(*_card_columns(dialect), courses.c.deleted_at).where(
            courses.c.deleted_at.is_(None), courses_listed
        ),
        modules=select(*single.modules.selected_columns)
        .where(in_list(dialect, modules.c.course_id, "course_ids"), modules.c.deleted_at.is_(None))
        .order_by(modules.c.course_id, modules.c.position, modules.c.created_at, modules.c.id),
        outline=select(*single.outline.selected_columns, lessons.c.course_id)
        .where(in_list(dialect, lessons.c.course_id, "course_ids"), lessons.c.deleted_at.is_(None))
        .order_by(lessons.c.course_id, lessons.c.position, lessons.c.created_at, lessons.c.id),
        completions=select(enrollments.c.course_id, completions.c.lesson_id)
        .select_from(
            enrollments.outerjoin(
                completions,
                and_(
                    completions.c.user_id == enrollments.c.user_id,
                    completions.c.course_id == enrollments.c.course_id,
                ),
            )
        )
        .where(
            enrollments.c.user_id == bindparam("user_id", type_=Uuid()),
            in_list(dialect, enrollments.c.course_id, "course_ids"),
            enrollments.c.status == EnrollmentStatus.ACTIVE,
        ),
    )
