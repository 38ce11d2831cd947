"""The root queries: each calls the service its REST twin calls, with the same rules."""

from __future__ import annotations

import strawberry

from studyhall.catalog import reads
from studyhall.catalog import service as catalog
from studyhall.catalog.errors import CourseNotFound
from studyhall.catalog.queries import CatalogQuery
from studyhall.community import service as community
from studyhall.core.errors import InvalidInput
from studyhall.graphql.arguments import CatalogArguments, page_params, parse_id, validated
from studyhall.graphql.types import (
    Course,
    Enrollment,
    Info,
    Notification,
    NotificationPage,
    Page,
    Post,
    User,
    shared_courses,
    with_related,
)
from studyhall.learning import service as learning
from studyhall.notifications import service as notifications


@strawberry.type
class Query:
    @strawberry.field(description="The signed-in caller (`unauthenticated` without a token)")
    async def me(self, info: Info) -> User | None:
        return User.of(await info.context.require_viewer())

    @strawberry.field(
        description=(
            "The catalog: published courses visible to the caller, as `GET /api/v1/courses`. "
            "`sort`: newest, title or popular; `level`: beginner, intermediate or advanced."
        )
    )
    async def courses(
        self,
        info: Info,
        q: str | None = None,
        category: str | None = None,
        level: str | None = None,
        tag: str | None = None,
        skill: str | None = None,
        instructor_id: strawberry.ID | None = None,
        free: bool | None = None,
        sort: str | None = None,
        limit: int | None = 20,
        offset: int | None = 0,
    ) -> Page[Course]:
        params = page_params(limit, offset)
        values = {
            "q": q,
            "category": category,
            "level": level,
            "tag": tag,
            "skill": skill,
            "instructor_id": instructor_id,
            "free": free,
            "sort": sort,
        }
        filters = validated(CatalogArguments, "args", {k: v for k, v in values.items() if v is not None})
        query = CatalogQuery(**filters.model_dump())
        viewer = await info.context.viewer()
        # REST's own page (the shared part from the catalog cache, the caller's flags over it).
        cards = await info.context.run(lambda session: reads.catalog_cards(session, viewer, query, params))
        if cards.shared_body is None:
            courses = [Course.of_card(card, cards.progress.get(card.id)) for card in cards.page.items]
        else:
            shared = shared_courses(cards.shared_body)
            courses = [course.for_caller(cards.progress.get(course.course_id)) for course in shared]
        return Page.of(await with_related(info, courses, "items"), cards.page.total, params)

    @strawberry.field(description="A course by `id` or `slug`; null when there is none the caller may see")
    async def course(
        self, info: Info, id: strawberry.ID | None = None, slug: str | None = None
    ) -> Course | None:
        if (id is None) == (slug is None):
            raise InvalidInput("Give exactly one of `id` and `slug`")
        key = str(parse_id(id, "id")) if id is not None else str(slug)
        viewer = await info.context.viewer()
        row = await info.context.run(lambda session: catalog.find_course(session, key))
        if row is None:
            return None
        try:
            catalog.require_visible(viewer, row, row.instructor_ids)
        except CourseNotFound:
            return None
        (found,) = await with_related(info, [Course.of(row)])
        return found

    @strawberry.field(description="The caller's active enrollments, newest first, as `GET /enrollments/me`")
    async def my_enrollments(
        self, info: Info, limit: int | None = 20, offset: int | None = 0
    ) -> Page[Enrollment]:
        params = page_params(limit, offset)
        user = await info.context.require_viewer()
        items, total = await info.context.run(lambda session: learning.my_enrollments(session, user, params))
        return Page.of([Enrollment.of(item) for item in items], total, params)

    @strawberry.field(description="The caller's notifications, newest first; `unread: true` keeps the unread")
    async def notifications(
        self, info: Info, unread: bool | None = None, limit: int | None = 20, offset: int | None = 0
    ) -> NotificationPage:
        params = page_params(limit, offset)
        user = await info.context.require_viewer()
        result = await info.context.run(
            lambda session: notifications.list_notifications(session, user, params, unread_only=bool(unread))
        )
        return NotificationPage(
            items=[Notification.of(item) for item in result.items],
            total=result.total,
            limit=params.limit,
            offset=params.offset,
            unread_count=result.unread_count,
        )

    @strawberry.field(
        description="Posts the caller may see, newest first: open posts and their courses' posts"
    )
    async def posts(
        self,
        info: Info,
        course_id: strawberry.ID | None = None,
        author_id: strawberry.ID | None = None,
        limit: int | None = 20,
        offset: int | None = 0,
    ) -> Page[Post]:
        params = page_params(limit, offset)
        course = parse_id(course_id, "courseId") if course_id is not None else None
        author = parse_id(author_id, "authorId") if author_id is not None else None
        user = await info.context.require_viewer()
        items, total = await info.context.run(
            lambda session: community.list_posts(session, user, params, course_id=course, author_id=author)
        )
        return Page.of([Post.of(item) for item in items], total, params)
