"""The GraphQL object types, each made from what a service returned (an ORM row, a Core row
of the catalog's reads, or a service result), the way REST schemas are.

Fields that depend on the caller (`isEnrolled`, `progressPercent`, `isCompleted`) and nested
lists (`instructors`, `modules`, `lessons`, `author`) resolve through the request's
dataloaders (`graphql.loaders`), never with a query per object.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

import strawberry
from sqlalchemy import Row
from strawberry.scalars import JSON

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
)
from studyhall.catalog.reads import shared_cards
from studyhall.catalog.schemas import CourseRead
from studyhall.catalog.service import CourseOutline
from studyhall.community.models import Post as PostRow
from studyhall.core.pagination import PageParams
from studyhall.graphql.context import GraphQLContext
from studyhall.identity.models import User as UserRow
from studyhall.identity.people import PublicCard, public_cards
from studyhall.identity.policies import can_view_user
from studyhall.learning import service as learning
from studyhall.learning.service import CompletionState, EnrollmentProgress
from studyhall.notifications.models import Notification as NotificationRow

Info = strawberry.Info[GraphQLContext, None]
ItemT = TypeVar("ItemT")
T = TypeVar("T")


def graphql_id(value: uuid.UUID) -> strawberry.ID:
    return strawberry.ID(str(value))


@strawberry.type(description="A person. Private fields are null unless the caller may see the user's account")
class User:
    id: strawberry.ID
    full_name: str
    bio: str | None
    role: str
    #: The account, for the private fields; None for a public card (see `with_related`).
    row: strawberry.Private[UserRow | None]

    @classmethod
    def of(cls, user: UserRow) -> User:
        return cls(id=graphql_id(user.id), full_name=user.full_name, bio=user.bio, role=user.role, row=user)

    #: Set on the users made from public cards, which every request shares: the values read
    #: from them, kept (`graphql.execution`).
    graphql_memo: strawberry.Private[dict[Any, Any] | None] = None

    @staticmethod
    @functools.lru_cache(maxsize=4096)
    def of_card(card: PublicCard) -> User:
        """The user of a public card, made once per card (a changed card is a new card)."""
        user = User(id=graphql_id(card.id), full_name=card.full_name, bio=card.bio, role=card.role, row=None)
        user.graphql_memo = {}
        return user

    async def _visible(self, info: Info) -> bool:
        """`GET /users/{id}`'s rule: the user themselves, admins, their organisation's principal."""
        if self.row is None:
            return False
        viewer = await info.context.viewer()
        return viewer is not None and can_view_user(viewer, self.row)

    @strawberry.field(description="Private")
    async def email(self, info: Info) -> str | None:
        return self.row.email if self.row is not None and await self._visible(info) else None

    @strawberry.field(description="Private")
    async def organization_id(self, info: Info) -> strawberry.ID | None:
        if self.row is None or self.row.organization_id is None or not await self._visible(info):
            return None
        return graphql_id(self.row.organization_id)

    @strawberry.field(description="Private")
    async def email_verified(self, info: Info) -> bool | None:
        return self.row.email_verified if self.row is not None and await self._visible(info) else None

    @strawberry.field(description="Private")
    async def created_at(self, info: Info) -> datetime | None:
        return self.row.created_at if self.row is not None and await self._visible(info) else None


#: The fields of `User` a public card answers (anything else needs the account).
PUBLIC_USER_FIELDS = frozenset({"id", "fullName", "bio", "role", "__typename"})


async def users_of(info: Info, user_ids: list[uuid.UUID]) -> list[User]:
    users = await info.context.loaders.users.load_many(user_ids)
    return [User.of(user) for user in users if user is not None]


@strawberry.type(description="A lesson in a course's outline (the content is on the REST lesson page)")
class Lesson:
    id: strawberry.ID
    module_id: strawberry.ID | None
    title: str
    type: str
    order: int
    duration_minutes: int
    is_preview: bool
    course_id: strawberry.Private[uuid.UUID]
    lesson_id: strawberry.Private[uuid.UUID]

    @classmethod
    def of(cls, row: Row[Any]) -> Lesson:
        return cls(
            id=graphql_id(row.id),
            module_id=graphql_id(row.module_id) if row.module_id is not None else None,
            title=row.title,
            type=row.type,
            order=row.order,
            duration_minutes=row.duration_minutes,
            is_preview=row.is_preview,
            course_id=row.course_id,
            lesson_id=row.id,
        )

    @strawberry.field(description="Whether the caller completed it (false when not enrolled)")
    async def is_completed(self, info: Info) -> bool:
        completed = await info.context.loaders.completions.load(self.course_id)
        return completed is not None and self.lesson_id in completed


@strawberry.type
class Module:
    id: strawberry.ID
    title: str
    description: str | None
    order: int
    outline: strawberry.Private[list[Row[Any]]]

    @classmethod
    def of(cls, row: Row[Any], outline: CourseOutline) -> Module:
        return cls(
            id=graphql_id(row.id),
            title=row.title,
            description=row.description,
            order=row.order,
            outline=[lesson for lesson in outline.lessons if lesson.module_id == row.id],
        )

    @strawberry.field(description="The module's current lessons, in course order")
    def lessons(self) -> list[Lesson]:
        return [Lesson.of(lesson) for lesson in self.outline]


@strawberry.type(description="A course the caller may see, as the catalog and course detail show it")
class Course:
    id: strawberry.ID
    slug: str
    title: str
    subtitle: str | None
    description: str
    category: str | None
    tags: list[str]
    skills: list[str]
    level: str
    language: str
    status: str
    visibility: str
    duration_minutes: int
    price_cents: int
    currency: str
    certificate_enabled: bool
    lesson_count: int
    enrollment_count: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    course_id: strawberry.Private[uuid.UUID]
    instructor_ids: strawberry.Private[list[uuid.UUID]]
    # Filled by `with_related` for the courses of one answer, as far as the operation asks
    # for them: plain values then, not a resolver per course. Unfilled, a non-null field
    # fails loudly rather than answering a wrong value.
    is_enrolled: bool | None = strawberry.field(
        default=None,
        graphql_type=bool,
        description="Whether the caller is actively enrolled (false when anonymous)",
    )
    progress_percent: float | None = strawberry.field(
        default=None, description="The caller's progress (0-100); null when not enrolled"
    )
    instructors: list[User] | None = strawberry.field(
        default=None,
        graphql_type=list[User],
        description="The owner first, then the co-instructors in the order they were added",
    )
    #: Whether the caller's flags came with the card (`CourseRead`): no loader then.
    has_flags: strawberry.Private[bool] = False
    #: Set on a course shared by the requests that show one cached catalog page
    #: (`shared_courses`): the values read from it, kept (`graphql.execution`).
    graphql_memo: strawberry.Private[dict[Any, Any] | None] = None
    #: What differs between the callers' copies of a shared course.
    GRAPHQL_VARYING: ClassVar[frozenset[str]] = frozenset({"is_enrolled", "progress_percent", "instructors"})

    @classmethod
    def of(cls, row: Row[Any] | CourseRead) -> Course:
        """From a course card: a row of `catalog.queries.CARD_COLUMNS` and `instructor_ids`,
        or the REST schema of one."""
        return cls(
            id=graphql_id(row.id),
            slug=row.slug,
            title=row.title,
            subtitle=row.subtitle,
            description=row.description,
            category=row.category,
            tags=list(row.tags),
            skills=list(row.skills),
            level=row.level,
            language=row.language,
            status=row.status,
            visibility=row.visibility,
            duration_minutes=row.duration_minutes,
            price_cents=row.price_cents,
            currency=row.currency,
            certificate_enabled=row.certificate_enabled,
            lesson_count=row.lesson_count,
            enrollment_count=row.enrollment_count,
            created_at=row.created_at,
            updated_at=row.updated_at,
            published_at=row.published_at,
            course_id=row.id,
            instructor_ids=[row.owner_id, *row.instructor_ids],
        )

    @classmethod
    def of_card(cls, card: CourseRead, progress: learning.CourseProgress | None) -> Course:
        """From a card of the REST catalog page, with the caller's progress in the course."""
        course = cls.of(card)
        course._set_progress(progress)
        return course

    def for_caller(self, progress: learning.CourseProgress | None) -> Course:
        """A copy with the caller's progress in the course (a shared course is never changed)."""
        course = object.__new__(Course)  # a plain copy: `copy.copy` costs four times as much
        course.__dict__.update(self.__dict__)
        course._set_progress(progress)
        return course

    def _set_progress(self, progress: learning.CourseProgress | None) -> None:
        self.is_enrolled = progress is not None
        self.progress_percent = progress.progress_percent if progress is not None else None
        self.has_flags = True

    @strawberry.field(description="Current modules, in order")
    async def modules(self, info: Info) -> list[Module]:
        outline = await info.context.loaders.outlines.load(self.course_id)
        return [Module.of(module, outline) for module in outline.modules]

    @strawberry.field(description="Every current lesson, in course order (the outline)")
    async def lessons(self, info: Info) -> list[Lesson]:
        outline = await info.context.loaders.outlines.load(self.course_id)
        return [Lesson.of(lesson) for lesson in outline.lessons]


@functools.lru_cache(maxsize=128)
def shared_courses(body: bytes) -> tuple[Course, ...]:
    """The courses of a shared catalog page (by its cached body, as `catalog.reads` keeps its
    cards), built once and copied for each caller with `for_caller`."""
    courses = tuple(Course.of(card) for card in shared_cards(body).items)
    for course in courses:
        course.graphql_memo = {}
    return courses


async def with_related(info: Info, courses: list[Course], *path: str) -> list[Course]:
    """Fills the courses' instructors and the caller's flags where the operation asks for them
    (under `path`: `items` for a page), one batched statement each for all the courses.
    Instructors asked for only by public fields come from the cached public cards."""
    if asks_for(info, *path, "instructors"):
        wanted = list(dict.fromkeys(user_id for course in courses for user_id in course.instructor_ids))
        public = asks_only_for(info, (*path, "instructors"), PUBLIC_USER_FIELDS)
        users = await _instructors(info, wanted, public=public, together=len(courses) > 1)
        for course in courses:
            course.instructors = [users[user_id] for user_id in course.instructor_ids if user_id in users]
    unflagged = [course for course in courses if not course.has_flags]
    if unflagged and (asks_for(info, *path, "isEnrolled") or asks_for(info, *path, "progressPercent")):
        progress = await info.context.loaders.progress.load_many([course.course_id for course in unflagged])
        for course, mine in zip(unflagged, progress, strict=True):
            course.is_enrolled = mine is not None
            course.progress_percent = mine.progress_percent if mine is not None else None
    return courses


async def _instructors(
    info: Info, user_ids: list[uuid.UUID], *, public: bool, together: bool
) -> dict[uuid.UUID, User]:
    if public and together:
        # A page's courses come together: the loader would batch nothing more, and its
        # futures (one per user) cost more than the cached lookup itself.
        cards = await info.context.run(lambda session: public_cards(session, user_ids))
        return {user_id: User.of_card(card) for user_id, card in cards.items()}
    if public:  # one course of many siblings (each enrollment's): the loader batches them
        loaded = await info.context.loaders.cards.load_many(user_ids)
        return {card.id: User.of_card(card) for card in loaded if card is not None}
    found = await info.context.loaders.users.load_many(user_ids)
    return {user.id: User.of(user) for user in found if user is not None}


def asks_for(info: Info, *path: str) -> bool:
    """Whether the operation asks, below the current field, for the field at `path`.

    Reads graphql-core's nodes: strawberry's `selected_fields` converts the whole
    sub-selection on every call, which costs more than the fields it saves."""
    raw = info._raw_info
    return any(_selects(node.selection_set, path, raw.fragments) for node in raw.field_nodes)


def asks_only_for(info: Info, path: tuple[str, ...], allowed: frozenset[str]) -> bool:
    """Whether every selection of the field at `path` (below the current field) asks only for
    fields named in `allowed`."""
    raw = info._raw_info
    return all(_selects_only(node.selection_set, path, allowed, raw.fragments) for node in raw.field_nodes)


def _selects(
    selection_set: SelectionSetNode | None,
    path: tuple[str, ...],
    fragments: dict[str, FragmentDefinitionNode],
) -> bool:
    name, rest = path[0], path[1:]
    return any(
        node.name.value == name and (not rest or _selects(node.selection_set, rest, fragments))
        for node in _field_nodes(selection_set, fragments)
    )


def _selects_only(
    selection_set: SelectionSetNode | None,
    path: tuple[str, ...],
    allowed: frozenset[str],
    fragments: dict[str, FragmentDefinitionNode],
) -> bool:
    for node in _field_nodes(selection_set, fragments):
        if not path:
            if node.name.value not in allowed:
                return False
        elif node.name.value == path[0] and not _selects_only(
            node.selection_set, path[1:], allowed, fragments
        ):
            return False
    return True


def _field_nodes(
    selection_set: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode]
) -> Iterator[FieldNode]:
    """The fields of a selection set, those of its fragments included."""
    if selection_set is None:
        return
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _field_nodes(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                yield from _field_nodes(fragment.selection_set, fragments)


async def visible_course(info: Info, course_id: uuid.UUID) -> Course | None:
    row = await info.context.loaders.courses.load(course_id)
    if row is None:
        return None
    (course,) = await with_related(info, [Course.of(row)])
    return course


@strawberry.type(description="An enrollment of the caller's with its progress")
class Enrollment:
    id: strawberry.ID
    course_id: strawberry.ID
    status: str
    enrolled_at: datetime
    completed_at: datetime | None
    last_activity_at: datetime | None
    completed_lessons: int
    total_lessons: int
    progress_percent: float
    course_key: strawberry.Private[uuid.UUID]

    @classmethod
    def of(cls, item: EnrollmentProgress) -> Enrollment:
        enrollment = item.enrollment
        return cls(
            id=graphql_id(enrollment.id),
            course_id=graphql_id(enrollment.course_id),
            status=enrollment.status,
            enrolled_at=enrollment.enrolled_at,
            completed_at=enrollment.completed_at,
            last_activity_at=enrollment.last_activity_at,
            completed_lessons=item.progress.completed_lessons,
            total_lessons=item.progress.total_lessons,
            progress_percent=item.progress.progress_percent,
            course_key=enrollment.course_id,
        )

    @strawberry.field(description="The course (null if the caller may no longer see it)")
    async def course(self, info: Info) -> Course | None:
        return await visible_course(info, self.course_key)


@strawberry.type(description="The caller's progress in a course after marking a lesson")
class CourseProgress:
    course_id: strawberry.ID
    lesson_id: strawberry.ID
    is_completed: bool
    completed_lessons: int
    total_lessons: int
    progress_percent: float
    completed_at: datetime | None = strawberry.field(description="When the course was completed, if it is")
    last_activity_at: datetime | None
    course_key: strawberry.Private[uuid.UUID]

    @classmethod
    def of(cls, state: CompletionState, lesson_id: uuid.UUID, *, is_completed: bool) -> CourseProgress:
        return cls(
            course_id=graphql_id(state.course_id),
            lesson_id=graphql_id(lesson_id),
            is_completed=is_completed,
            completed_lessons=state.progress.completed_lessons,
            total_lessons=state.progress.total_lessons,
            progress_percent=state.progress.progress_percent,
            completed_at=state.completed_at,
            last_activity_at=state.last_activity_at,
            course_key=state.course_id,
        )

    @strawberry.field
    async def course(self, info: Info) -> Course | None:
        return await visible_course(info, self.course_key)


@strawberry.type
class Post:
    id: strawberry.ID
    course_id: strawberry.ID | None
    author_id: strawberry.ID
    kind: str
    title: str
    body: str = strawberry.field(description="Markdown, as written")
    body_html: str = strawberry.field(description="The body rendered to sanitised HTML")
    created_at: datetime
    updated_at: datetime
    author_key: strawberry.Private[uuid.UUID]

    @classmethod
    def of(cls, post: PostRow) -> Post:
        return cls(
            id=graphql_id(post.id),
            course_id=graphql_id(post.course_id) if post.course_id is not None else None,
            author_id=graphql_id(post.author_id),
            kind=post.kind,
            title=post.title,
            body=post.body,
            body_html=post.body_html,
            created_at=post.created_at,
            updated_at=post.updated_at,
            author_key=post.author_id,
        )

    @strawberry.field
    async def author(self, info: Info) -> User | None:
        user = await info.context.loaders.users.load(self.author_key)
        return User.of(user) if user is not None else None


@strawberry.type
class Notification:
    id: strawberry.ID
    type: str = strawberry.field(description="What it is about, e.g. `submission.graded`")
    title: str
    body: str
    data: JSON = strawberry.field(description="Ids of what it is about and `url`, the page to open")
    created_at: datetime
    read_at: datetime | None = strawberry.field(description="When it was first read; null while unread")

    @classmethod
    def of(cls, notification: NotificationRow) -> Notification:
        return cls(
            id=graphql_id(notification.id),
            type=notification.type,
            title=notification.title,
            body=notification.body,
            data=JSON(notification.data),
            created_at=notification.created_at,
            read_at=notification.read_at,
        )


@strawberry.type(description="One page of a list, as REST's `{items, total, limit, offset}`")
class Page(Generic[ItemT]):
    items: list[ItemT]
    total: int
    limit: int
    offset: int

    @classmethod
    def of(cls, items: list[ItemT], total: int, params: PageParams) -> Page[ItemT]:
        return cls(items=items, total=total, limit=params.limit, offset=params.offset)


@strawberry.type(description="A page of the caller's notifications")
class NotificationPage:
    items: list[Notification]
    total: int
    limit: int
    offset: int
    unread_count: int = strawberry.field(description="All the caller's unread ones, whatever the filter")


@strawberry.input(description="A new post: open to all without `courseId`; `kind: announcement` is for staff")
class PostInput:
    title: str
    body: str
    course_id: strawberry.ID | None = None
    kind: str = "discussion"
