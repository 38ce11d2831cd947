"""Which posts and comments a caller may see, decided in one place.

A course post follows its course's access rule (`catalog.access`): its members (actively
enrolled students who may still see the course, and its staff) see it; anyone else gets the
post's own 404, so a post in a course that was unpublished, archived, deleted or moved out of
the student's organisation opens nothing, while staff keep access. An open post (no course)
is for every signed-in user. `visible_posts` is the SQL twin used by every listing: change
the two together.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.catalog.access import CourseAccess, CourseRole, course_access, locked
from studyhall.catalog.models import Course
from studyhall.catalog.policies import listed_condition, staff_condition
from studyhall.community.errors import CommentNotFound, PostNotFound
from studyhall.community.models import Comment, Post
from studyhall.community.policies import can_edit_post, moderates
from studyhall.core.errors import DomainError
from studyhall.identity.models import User
from studyhall.learning.queries import active_course_ids


@dataclass(frozen=True, slots=True)
class PostAccess:
    """A post the caller may see (a deleted one only when they may restore it), the caller's
    access to its course (None for an open post), and what they may do with it."""

    post: Post
    course: CourseAccess | None
    #: Staff of the post's course, or an admin for an open post.
    is_moderator: bool
    can_edit: bool


@dataclass(frozen=True, slots=True)
class CommentAccess:
    comment: Comment
    post: PostAccess


async def post_access(
    session: AsyncSession,
    user: User,
    post_id: uuid.UUID,
    *,
    for_update: bool = False,
    include_deleted: bool = False,
    not_found: DomainError | None = None,
) -> PostAccess:
    """The post and the caller's access to it; `not_found` (default `post_not_found`) when it
    does not exist, is deleted (unless `include_deleted` and the caller may restore it) or is
    in a course they are not a member of. `for_update` locks the post row, so concurrent
    changes of one post run one after the other."""
    not_found = not_found or PostNotFound()
    statement = select(Post).where(Post.id == post_id)
    if not include_deleted:
        statement = statement.where(Post.deleted_at.is_(None))
    post = await session.scalar(locked(statement) if for_update else statement)
    if post is None:
        raise not_found
    course = await _member_access(session, user, post.course_id, not_found)
    moderator = moderates(user, course_staff=course.is_staff if course is not None else None)
    access = PostAccess(post, course, moderator, can_edit_post(user, post, moderator=moderator))
    if post.deleted_at is not None and not access.can_edit:
        raise not_found
    return access


async def _member_access(
    session: AsyncSession, user: User, course_id: uuid.UUID | None, not_found: DomainError
) -> CourseAccess | None:
    """Staff or an enrolled student of the course; None for no course; `not_found` else."""
    if course_id is None:
        return None
    access = await course_access(session, user, course_id, not_found=not_found)
    if access.role is CourseRole.VIEWER:
        raise not_found
    return access


async def comment_access(
    session: AsyncSession, user: User, comment_id: uuid.UUID, *, for_update: bool = False
) -> CommentAccess:
    """A live comment of a post the caller may see; `comment_not_found` otherwise."""
    statement = select(Comment).where(Comment.id == comment_id, Comment.deleted_at.is_(None))
    comment = await session.scalar(locked(statement) if for_update else statement)
    if comment is None:
        raise CommentNotFound()
    post = await post_access(session, user, comment.post_id, not_found=CommentNotFound())
    return CommentAccess(comment, post)


def member_courses(user: User) -> ColumnElement[bool]:
    """SQL: the live courses whose posts the caller sees (the courses they run, and those
    they may see and are actively enrolled in), as a condition on `Course`."""
    enrolled = and_(listed_condition(user), Course.id.in_(active_course_ids(user.id)))
    return and_(Course.deleted_at.is_(None), or_(staff_condition(user), enrolled))


def visible_posts(user: User) -> ColumnElement[bool]:
    """SQL twin of `post_access` for listings: live posts the caller may see."""
    courses = select(Course.id).where(member_courses(user))
    return and_(Post.deleted_at.is_(None), or_(Post.course_id.is_(None), Post.course_id.in_(courses)))
