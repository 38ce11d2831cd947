"""Community's domain errors."""

from __future__ import annotations

from studyhall.core.errors import InvalidInput, NotFound, PermissionDenied


class PostNotFound(NotFound):
    """No such post, a deleted one, or one in a course the caller is not a member of."""

    code = "post_not_found"
    title = "Post not found"


class CommentNotFound(NotFound):
    """No such comment, a deleted one, or one on a post the caller may not see."""

    code = "comment_not_found"
    title = "Comment not found"


class CollectionNotFound(NotFound):
    """No such collection of the caller's: every collection is visible to its owner only."""

    code = "collection_not_found"
    title = "Collection not found"


class PostNotInCollection(NotFound):
    """The post is not in this collection (never added, or removed already)."""

    code = "post_not_in_collection"
    title = "Post not in collection"


class CannotEditPost(PermissionDenied):
    """The caller sees the post but is neither its author, staff of its course, nor an admin."""

    code = "cannot_edit_post"
    title = "Only the author, the course's staff and admins may change this post"


class CannotEditComment(PermissionDenied):
    """Only a comment's author edits it; its author, the course's staff and admins delete it."""

    code = "cannot_edit_comment"
    title = "Not allowed to change this comment"


class AnnouncementStaffOnly(PermissionDenied):
    """Announcements are posted by the course's staff (and admins) only."""

    code = "announcement_staff_only"
    title = "Only the course's staff may post announcements"


class AnnouncementNeedsCourse(InvalidInput):
    """An announcement goes to a course's students, so it needs a `course_id`."""

    code = "announcement_needs_course"
    title = "An announcement needs a course"


class CommentParentInvalid(InvalidInput):
    """`parent_id` is not a live comment of the same post."""

    code = "comment_parent_invalid"
    title = "The parent comment is not a comment of this post"


class CommentNestingTooDeep(InvalidInput):
    """Replies go one level deep: a reply to a reply is refused (reply to its parent)."""

    code = "comment_nesting_too_deep"
    title = "Replies cannot be nested further"


class ChatMessageNotFound(NotFound):
    """No such chat message, a deleted one, or one in a course the caller is not a member of."""

    code = "chat_message_not_found"
    title = "Chat message not found"


class CannotDeleteChatMessage(PermissionDenied):
    """Only a message's author and the course's staff delete it."""

    code = "cannot_delete_chat_message"
    title = "Only the author and the course's staff delete this message"


class ChatMessageInvalid(InvalidInput):
    """A chat message is 1 to `CHAT_BODY_MAX` characters of text (after trimming)."""

    code = "chat_message_invalid"
    title = "The message must be 1 to 2000 characters"
