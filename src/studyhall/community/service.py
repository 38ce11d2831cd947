"""Posts and comments: reading what the caller may see, writing as the policies allow, and
the events that tell the rest of the system (notifications, and real-time fan-out) about it.

Deletes are soft. A change loads its post or comment locked (`for_update`), so concurrent
deletes of one post run one after the other: the first flags it and emits `post.deleted`, the
second no longer finds it (`post_not_found`).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall import event_types
from studyhall.analytics import audit
from studyhall.catalog.access import CourseRole, course_access
from studyhall.catalog.errors import NotDeleted
from studyhall.catalog.models import Course
from studyhall.catalog.rendering import render_markdown
from studyhall.community.access import comment_access, post_access, visible_posts
from studyhall.community.errors import (
    AnnouncementNeedsCourse,
    AnnouncementStaffOnly,
    CannotEditComment,
    CannotEditPost,
    CommentNestingTooDeep,
    CommentParentInvalid,
)
from studyhall.community.models import Comment, Post, PostKind
from studyhall.community.policies import can_delete_comment, can_edit_comment
from studyhall.community.schemas import CommentCreate, PostCreate
from studyhall.core.clock import utcnow
from studyhall.core.events import emit
from studyhall.core.pagination import PageParams, fetch_page
from studyhall.identity.models import User

# -- posts --------------------------------------------------------------------------------


async def list_posts(
    session: AsyncSession,
    user: User,
    params: PageParams,
    *,
    course_id: uuid.UUID | None = None,
    author_id: uuid.UUID | None = None,
    kind: PostKind | None = None,
) -> tuple[list[Post], int]:
    """The posts the caller may see, newest first; a course they are not a member of lists
    nothing. Two queries whatever the page size."""
    statement = select(Post).where(visible_posts(user))
    if course_id is not None:
        statement = statement.where(Post.course_id == course_id)
    if author_id is not None:
        statement = statement.where(Post.author_id == author_id)
    if kind is not None:
        statement = statement.where(Post.kind == kind)
    return await fetch_page(session, statement.order_by(Post.created_at.desc(), Post.id.desc()), params)


async def create_post(session: AsyncSession, user: User, data: PostCreate) -> Post:
    """Open posts: any signed-in user. Course posts: its members (`not_enrolled` for those
    who only see the course, `course_not_found` for the rest). Announcements: course staff."""
    if data.kind is PostKind.ANNOUNCEMENT and data.course_id is None:
        raise AnnouncementNeedsCourse()
    if data.course_id is not None:
        access = await course_access(session, user, data.course_id)
        access.require_member("Only the course's students and staff post in it")
        if data.kind is PostKind.ANNOUNCEMENT and access.role is not CourseRole.STAFF:
            raise AnnouncementStaffOnly()
    post = Post(
        author_id=user.id,
        course_id=data.course_id,
        kind=data.kind,
        title=data.title,
        body=data.body,
        body_html=render_markdown(data.body),
    )
    session.add(post)
    await session.flush()
    emit(session, event_types.POST_CREATED, _post_payload(post))
    if post.kind == PostKind.ANNOUNCEMENT:
        emit(session, event_types.ANNOUNCEMENT_POSTED, _post_payload(post))
    return post


async def get_post(session: AsyncSession, user: User, post_id: uuid.UUID) -> Post:
    return (await post_access(session, user, post_id)).post


async def update_post(session: AsyncSession, user: User, post_id: uuid.UUID, changes: dict[str, Any]) -> Post:
    """`changes`: `title` and/or `body` (None values are ignored). A change that changes
    nothing emits nothing."""
    post = await _editable_post(session, user, post_id)
    changes = {key: value for key, value in changes.items() if value is not None}
    if all(getattr(post, key) == value for key, value in changes.items()):
        return post
    if "title" in changes:
        post.title = changes["title"]
    if "body" in changes:
        post.body = changes["body"]
        post.body_html = render_markdown(post.body)
    post.updated_at = utcnow()
    await session.flush()
    emit(session, event_types.POST_UPDATED, {**_post_payload(post), "editor_id": user.id})
    return post


async def delete_post(session: AsyncSession, user: User, post_id: uuid.UUID) -> None:
    post = await _editable_post(session, user, post_id)
    post.deleted_at = utcnow()
    post.deletion_id = uuid.uuid4()
    await _record_post(session, audit.POST_DELETED, user, post)
    await session.flush()
    emit(session, event_types.POST_DELETED, {**_post_payload(post), "deleted_by": user.id})


async def restore_post(session: AsyncSession, user: User, post_id: uuid.UUID) -> Post:
    """A deleted post is found only by those who may restore it; `not_deleted` (409) when it
    is live."""
    access = await post_access(session, user, post_id, for_update=True, include_deleted=True)
    post = access.post
    if not access.can_edit:
        raise CannotEditPost()
    if post.deleted_at is None:
        raise NotDeleted("The post is not deleted")
    post.deleted_at = None
    post.deletion_id = None
    post.updated_at = utcnow()
    await _record_post(session, audit.POST_RESTORED, user, post)
    await session.flush()
    emit(session, event_types.POST_RESTORED, {**_post_payload(post), "restored_by": user.id})
    return post


async def _record_post(session: AsyncSession, action: str, user: User, post: Post) -> None:
    """A post's entry belongs to its course's organisation (none for an open post)."""
    organization_id = (
        await session.scalar(select(Course.organization_id).where(Course.id == post.course_id))
        if post.course_id is not None
        else None
    )
    audit.record(
        session,
        action,
        actor=user,
        resource_type="post",
        resource_id=post.id,
        organization_id=organization_id,
    )


async def _editable_post(session: AsyncSession, user: User, post_id: uuid.UUID) -> Post:
    access = await post_access(session, user, post_id, for_update=True)
    if not access.can_edit:
        raise CannotEditPost()
    return access.post


def _post_payload(post: Post) -> dict[str, Any]:
    return {"post_id": post.id, "course_id": post.course_id, "author_id": post.author_id, "kind": post.kind}


# -- comments -------------------------------------------------------------------------------


async def list_comments(
    session: AsyncSession, user: User, post_id: uuid.UUID, params: PageParams
) -> tuple[list[Comment], int]:
    """The post's live comments and replies, oldest first (a reply names its `parent_id`)."""
    await post_access(session, user, post_id)
    statement = (
        select(Comment)
        .where(Comment.post_id == post_id, Comment.deleted_at.is_(None))
        .order_by(Comment.created_at, Comment.id)
    )
    return await fetch_page(session, statement, params)


async def create_comment(
    session: AsyncSession, user: User, post_id: uuid.UUID, data: CommentCreate
) -> Comment:
    """Whoever may see the post comments on it."""
    access = await post_access(session, user, post_id)
    if data.parent_id is not None:
        await _check_parent(session, post_id, data.parent_id)
    comment = Comment(
        post_id=post_id,
        author_id=user.id,
        parent_id=data.parent_id,
        body=data.body,
        body_html=render_markdown(data.body),
    )
    session.add(comment)
    await session.flush()
    emit(
        session,
        event_types.COMMENT_CREATED,
        {
            "comment_id": comment.id,
            "post_id": post_id,
            "course_id": access.post.course_id,
            "author_id": user.id,
            "parent_id": comment.parent_id,
        },
    )
    return comment


async def _check_parent(session: AsyncSession, post_id: uuid.UUID, parent_id: uuid.UUID) -> None:
    parent = await session.scalar(
        select(Comment).where(
            Comment.id == parent_id, Comment.post_id == post_id, Comment.deleted_at.is_(None)
        )
    )
    if parent is None:
        raise CommentParentInvalid()
    if parent.parent_id is not None:
        raise CommentNestingTooDeep("Reply to the top-level comment instead")


async def update_comment(session: AsyncSession, user: User, comment_id: uuid.UUID, body: str) -> Comment:
    """Only its author edits a comment."""
    comment = (await comment_access(session, user, comment_id, for_update=True)).comment
    if not can_edit_comment(user, comment):
        raise CannotEditComment("Only the author edits a comment")
    comment.body = body
    comment.body_html = render_markdown(body)
    comment.updated_at = utcnow()
    await session.flush()
    return comment


async def delete_comment(session: AsyncSession, user: User, comment_id: uuid.UUID) -> None:
    """Its author, and the moderators of its post (course staff; admins)."""
    access = await comment_access(session, user, comment_id, for_update=True)
    comment = access.comment
    if not can_delete_comment(user, comment, moderator=access.post.is_moderator):
        raise CannotEditComment("Only the author, the course's staff and admins delete a comment")
    comment.deleted_at = utcnow()
    comment.deletion_id = uuid.uuid4()
    await session.flush()
