"""The root mutations: each runs its REST twin's access function and service, in a savepoint
of the request's transaction (`GraphQLContext.mutate`), and so emits the same events."""

from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.catalog.access import course_access, lesson_access
from studyhall.community import service as community
from studyhall.community.schemas import PostCreate
from studyhall.graphql.arguments import parse_id, validated
from studyhall.graphql.types import CourseProgress, Enrollment, Info, Notification, Post, PostInput
from studyhall.learning import service as learning
from studyhall.notifications import service as notifications


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description=(
            "`POST /courses/{id}/enroll`: a published course the caller can see "
            "(`course_not_found`, `course_not_published`, `already_enrolled`, `payment_required`)"
        )
    )
    async def enroll(self, info: Info, course_id: strawberry.ID) -> Enrollment:
        course = parse_id(course_id, "courseId")
        user = await info.context.require_viewer()

        async def enroll_caller(session: AsyncSession) -> learning.EnrollmentProgress:
            return await learning.enroll(session, user, await course_access(session, user, course))

        return Enrollment.of(await info.context.mutate(enroll_caller))

    @strawberry.mutation(
        description=(
            "`POST /lessons/{id}/complete`: marks a text, video or file lesson done (idempotent); "
            "the last one completes the course (`course.completed`)"
        )
    )
    async def complete_lesson(self, info: Info, lesson_id: strawberry.ID) -> CourseProgress:
        lesson = parse_id(lesson_id, "lessonId")
        user = await info.context.require_viewer()

        async def complete(session: AsyncSession) -> learning.CompletionState:
            return await learning.complete_lesson(session, user, await lesson_access(session, user, lesson))

        return CourseProgress.of(await info.context.mutate(complete), lesson, is_completed=True)

    @strawberry.mutation(
        description=(
            "`POST /posts`: course posts for its members, announcements for its staff; "
            "rate limited per user like REST (`RATE_LIMIT_POSTS`)"
        )
    )
    async def create_post(self, info: Info, input: PostInput) -> Post:
        user = await info.context.require_viewer()
        settings = info.context.settings
        await info.context.rate_limiter.hit("post-user", settings.rate_limit_posts, str(user.id))
        data = validated(
            PostCreate,
            "input",
            {"title": input.title, "body": input.body, "course_id": input.course_id, "kind": input.kind},
        )
        return Post.of(await info.context.mutate(lambda session: community.create_post(session, user, data)))

    @strawberry.mutation(description="`POST /notifications/{id}/read`: one of the caller's notifications")
    async def mark_notification_read(self, info: Info, id: strawberry.ID) -> Notification:
        notification_id = parse_id(id, "id")
        user = await info.context.require_viewer()
        return Notification.of(
            await info.context.mutate(lambda session: notifications.mark_read(session, user, notification_id))
        )
