"""Who may write posts and comments. Reading follows `community.access`: a course post is for
the course's members (enrolled students and staff), an open post for every signed-in user.

`moderates` is whether the caller runs the place a post lives in: the staff of its course
(owner, co-instructors, the organisation's principal, admins), or, for an open post, an admin.
"""

from __future__ import annotations

from studyhall.community.models import Comment, Post
from studyhall.identity.models import User
from studyhall.identity.policies import is_admin


def moderates(user: User, *, course_staff: bool | None) -> bool:
    """`course_staff`: the caller's standing in the post's course; None for an open post."""
    return course_staff if course_staff is not None else is_admin(user)


def can_edit_post(user: User, post: Post, *, moderator: bool) -> bool:
    """Editing, deleting and restoring: the author and moderators."""
    return moderator or post.author_id == user.id


def can_edit_comment(user: User, comment: Comment) -> bool:
    """Only the author rewrites what they said."""
    return comment.author_id == user.id


def can_delete_comment(user: User, comment: Comment, *, moderator: bool) -> bool:
    """The author, and moderators of the post's place."""
    return moderator or comment.author_id == user.id
