"""Every event type StudyHall emits: the names `emit()` writes to the outbox and the
subscribers (`studyhall.subscribers`) listen for. docs/events.md lists each with its payload.

Plain strings that import nothing, at the package root rather than in a domain: several
domains emit and subscribe, and `core` (which imports no domain) needs none of them. A
constant is its value upper-cased with dots as underscores. Payloads carry ids, not rows:
handlers load what they need.
"""

from __future__ import annotations

from typing import Final

# -- identity ---------------------------------------------------------------------------
USER_REGISTERED: Final = "user.registered"
USER_EMAIL_VERIFICATION_REQUESTED: Final = "user.email_verification_requested"
USER_PASSWORD_RESET_REQUESTED: Final = "user.password_reset_requested"  # noqa: S105
USER_ACTIVATED: Final = "user.activated"
USER_DEACTIVATED: Final = "user.deactivated"
USER_DELETED: Final = "user.deleted"
USER_RESTORED: Final = "user.restored"
ORGANIZATION_INVITATION_CREATED: Final = "organization.invitation_created"
ORGANIZATION_MEMBER_ADDED: Final = "organization.member_added"
ORGANIZATION_MEMBER_REMOVED: Final = "organization.member_removed"

# -- catalog ----------------------------------------------------------------------------
COURSE_CREATED: Final = "course.created"
COURSE_PUBLISHED: Final = "course.published"
COURSE_UNPUBLISHED: Final = "course.unpublished"
COURSE_ARCHIVED: Final = "course.archived"
COURSE_DELETED: Final = "course.deleted"
COURSE_RESTORED: Final = "course.restored"
LESSON_CREATED: Final = "lesson.created"
LESSON_DELETED: Final = "lesson.deleted"

# -- learning ---------------------------------------------------------------------------
ENROLLMENT_CREATED: Final = "enrollment.created"
COURSE_COMPLETED: Final = "course.completed"
LESSON_COMPLETED: Final = "lesson.completed"
VIDEO_WATCHED: Final = "video.watched"

# -- assessment -------------------------------------------------------------------------
QUIZ_GRADED: Final = "quiz.graded"
SUBMISSION_GRADED: Final = "submission.graded"
QUIZ_ATTEMPT_SUBMITTED: Final = "quiz.attempt_submitted"

# -- media ------------------------------------------------------------------------------
FILE_READY: Final = "file.ready"
FILE_DELETED: Final = "file.deleted"
LESSON_VIDEO_READY: Final = "lesson.video_ready"

# -- certificates -----------------------------------------------------------------------
CERTIFICATE_ISSUED: Final = "certificate.issued"
CERTIFICATE_REVOKED: Final = "certificate.revoked"

# -- community --------------------------------------------------------------------------
POST_CREATED: Final = "post.created"
POST_UPDATED: Final = "post.updated"
POST_DELETED: Final = "post.deleted"
POST_RESTORED: Final = "post.restored"
ANNOUNCEMENT_POSTED: Final = "announcement.posted"
COMMENT_CREATED: Final = "comment.created"
