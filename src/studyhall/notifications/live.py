"""Live socket messages for community, enrollment, grading and certificate events, pushed on
`WS /ws/notifications`.

Each handler works out who may see what the event is about, with a bounded number of
queries whatever the audience, and queues ONE message for all the recipients' channels
(`realtime.channel_of`); the hub fans it out once the handler's transaction commits.

- A course post (and its comments) goes to the course's members as the access rules have
  them now (its staff, and the actively enrolled students who may still see the course), and
  to anyone else who holds it in a collection and may see it (an admin, say).
- An open post goes only to the users who hold it in a collection: it is visible to every
  signed-in user, and pushing each one to everybody would not scale.
- `enrollment.created` goes to the course's owner and co-instructors.
- `quiz.graded`, `submission.graded` and `certificate.issued` go to the student concerned
  only, while they may see it (the rule of the notification the same event makes:
  `handlers.graded_attempt`, `graded_submission`, `certificate_owner`).

The message carries the outbox event's id as `event_id`, and no `id`: each socket stamps
it with the number of the last notification it sent (`realtime.Stream`). These messages
are live-only: `?since=` replays stored notifications (`notification.created`) only, and
the notifications some of these events also create are what a reconnecting client gets
back.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.catalog.access import CourseContext, load_course
from studyhall.catalog.policies import can_view_course
from studyhall.community.models import Collection as PostCollection
from studyhall.community.models import CollectionPost, Comment, Post
from studyhall.core.errors import NotFound
from studyhall.core.events import Event
from studyhall.core.pubsub import fan_out_after_commit
from studyhall.identity.models import User
from studyhall.learning.models import Enrollment, EnrollmentStatus
from studyhall.learning.queries import active_student_ids
from studyhall.notifications.handlers import certificate_owner, graded_attempt, graded_submission
from studyhall.notifications.realtime import channel_of


def _id(event: Event, key: str) -> uuid.UUID:
    return uuid.UUID(str(event.payload[key]))


def _str_or_none(value: uuid.UUID | None) -> str | None:
    return str(value) if value is not None else None


def _push(
    session: AsyncSession, event: Event, recipients: Collection[uuid.UUID], data: dict[str, Any]
) -> None:
    if not recipients:
        return
    message = json.dumps(
        {
            "type": event.type,
            "event_id": str(event.id),
            "created_at": event.created_at.isoformat(),
            "data": data,
        }
    )
    fan_out_after_commit(session, [channel_of(user_id) for user_id in sorted(recipients)], message)


async def _course(session: AsyncSession, course_id: uuid.UUID) -> CourseContext | None:
    try:
        return await load_course(session, course_id)
    except NotFound:
        return None


async def _live_users(session: AsyncSession, user_ids: Collection[uuid.UUID]) -> list[User]:
    if not user_ids:
        return []
    found = await session.scalars(select(User).where(User.id.in_(user_ids), User.deleted_at.is_(None)))
    return list(found.all())


async def _holders(session: AsyncSession, post_id: uuid.UUID) -> set[uuid.UUID]:
    """Owners of a live collection holding the post."""
    statement = (
        select(PostCollection.owner_id)
        .join(CollectionPost, CollectionPost.collection_id == PostCollection.id)
        .where(CollectionPost.post_id == post_id, PostCollection.deleted_at.is_(None))
    )
    return set((await session.scalars(statement)).all())


async def _course_members(
    session: AsyncSession, context: CourseContext, also: Collection[uuid.UUID] = ()
) -> set[uuid.UUID]:
    """The course's staff and its active students who may still see it (the rule of
    `community.access.member_courses`), plus those of `also` who are its staff (admins,
    principals of its organisation)."""
    course = context.course
    students = set((await session.scalars(active_student_ids(course.id))).all())
    staff = {course.owner_id, *context.instructor_ids}
    members: set[uuid.UUID] = set()
    for user in await _live_users(session, staff | students | set(also)):
        if context.is_staff(user) or (
            user.id in students and can_view_course(user, course, context.instructor_ids)
        ):
            members.add(user.id)
    return members


async def _post_audience(session: AsyncSession, post: Post) -> set[uuid.UUID]:
    """Who may see the post now and hears of it: see the module's description."""
    holders = await _holders(session, post.id)
    if post.course_id is None:
        return {user.id for user in await _live_users(session, holders)}
    context = await _course(session, post.course_id)
    if context is None:
        return set()
    return await _course_members(session, context, also=holders)


def _post_data(post: Post, *, with_title: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "post_id": str(post.id),
        "course_id": _str_or_none(post.course_id),
        "author_id": str(post.author_id),
        "kind": post.kind,
    }
    if with_title:
        data["title"] = post.title
    return data


# -- the handlers ------------------------------------------------------------------------


async def push_post_change(event: Event, session: AsyncSession) -> None:
    """`post.created`, `post.updated`, `post.restored` and `announcement.posted` → the post's
    audience, while it is live (an announcement's audience is its course's members). A
    restored post also says who restored it."""
    post = await session.get(Post, _id(event, "post_id"))
    if post is None or post.deleted_at is not None:
        return
    data = _post_data(post)
    if "restored_by" in event.payload:
        data["restored_by"] = str(event.payload["restored_by"])
    _push(session, event, await _post_audience(session, post), data)


async def push_post_deleted(event: Event, session: AsyncSession) -> None:
    """`post.deleted` → those who could see the post: ids only, no title or body."""
    post = await session.get(Post, _id(event, "post_id"))
    if post is None:
        return
    data = _post_data(post, with_title=False) | {"deleted_by": str(event.payload["deleted_by"])}
    _push(session, event, await _post_audience(session, post), data)


async def push_comment_created(event: Event, session: AsyncSession) -> None:
    """`comment.created` → the audience of its post, while both are live."""
    comment = await session.get(Comment, _id(event, "comment_id"))
    if comment is None or comment.deleted_at is not None:
        return
    post = await session.get(Post, comment.post_id)
    if post is None or post.deleted_at is not None:
        return
    data = {
        "comment_id": str(comment.id),
        "post_id": str(post.id),
        "course_id": _str_or_none(post.course_id),
        "author_id": str(comment.author_id),
        "parent_id": _str_or_none(comment.parent_id),
    }
    _push(session, event, await _post_audience(session, post), data)


async def push_enrollment_created(event: Event, session: AsyncSession) -> None:
    """`enrollment.created` → the course's owner and co-instructors, while the enrollment is
    active and the course live."""
    enrollment = await session.get(Enrollment, _id(event, "enrollment_id"))
    if enrollment is None or enrollment.status != EnrollmentStatus.ACTIVE:
        return
    context = await _course(session, enrollment.course_id)
    if context is None:
        return
    staff = {
        user.id for user in await _live_users(session, {context.course.owner_id, *context.instructor_ids})
    }
    data = {
        "enrollment_id": str(enrollment.id),
        "course_id": str(enrollment.course_id),
        "user_id": str(enrollment.user_id),
    }
    _push(session, event, staff, data)


async def push_quiz_graded(event: Event, session: AsyncSession) -> None:
    """`quiz.graded` → the attempt's student, while they can see the quiz lesson."""
    graded = await graded_attempt(session, event)
    if graded is None:
        return
    attempt = graded.attempt
    data = {
        "attempt_id": str(attempt.id),
        "quiz_id": str(graded.quiz.id),
        "lesson_id": str(attempt.lesson_id),
        "course_id": str(graded.course.id),
        "status": event.payload["status"],
        "score_percent": event.payload["score_percent"],
        "passed": event.payload["passed"],
    }
    _push(session, event, [graded.student.id], data)


async def push_submission_graded(event: Event, session: AsyncSession) -> None:
    """`submission.graded` → the submission's student, while they can see the assignment."""
    graded = await graded_submission(session, event)
    if graded is None:
        return
    data = {
        "submission_id": str(graded.submission.id),
        "assignment_id": str(graded.assignment.id),
        "course_id": str(graded.course.id),
        "points": event.payload["points"],
        "max_points": event.payload["max_points"],
    }
    _push(session, event, [graded.student.id], data)


async def push_certificate_issued(event: Event, session: AsyncSession) -> None:
    """`certificate.issued` → the certificate's owner, unless the course is deleted."""
    owner = await certificate_owner(session, event)
    if owner is None:
        return
    student, course = owner
    data = {
        "certificate_id": str(event.payload["certificate_id"]),
        "course_id": str(course.id),
        "enrollment_id": str(event.payload["enrollment_id"]),
        "verification_code": str(event.payload["verification_code"]),
    }
    _push(session, event, [student.id], data)
