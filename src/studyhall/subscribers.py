"""Every outbox subscriber, in one table: open this file to see what runs when an event is
delivered. Handlers live in their domain's `handlers.py` as plain functions; nothing
registers itself on import. docs/events.md describes the events and their payloads.
"""

from __future__ import annotations

from collections.abc import Mapping

from studyhall import event_types
from studyhall.analytics import handlers as analytics
from studyhall.certificates import handlers as certificates
from studyhall.core.events import Handler, HandlerRegistry
from studyhall.identity import handlers as identity
from studyhall.media import handlers as media
from studyhall.notifications import handlers as notifications
from studyhall.notifications import live

SUBSCRIBERS: Mapping[str, tuple[Handler, ...]] = {
    event_types.USER_REGISTERED: (identity.send_email_verification,),
    event_types.USER_EMAIL_VERIFICATION_REQUESTED: (identity.send_email_verification,),
    event_types.USER_PASSWORD_RESET_REQUESTED: (identity.send_password_reset,),
    event_types.ORGANIZATION_INVITATION_CREATED: (identity.send_invitation,),
    event_types.ENROLLMENT_CREATED: (
        notifications.notify_staff_of_enrollment,
        live.push_enrollment_created,
        analytics.record_enrollment,
    ),
    event_types.QUIZ_GRADED: (
        notifications.notify_student_of_quiz_grade,
        live.push_quiz_graded,
        analytics.record_quiz_grade,
    ),
    event_types.SUBMISSION_GRADED: (
        notifications.notify_student_of_submission_grade,
        live.push_submission_graded,
        analytics.record_submission_grade,
    ),
    event_types.COURSE_COMPLETED: (
        notifications.notify_student_of_completion,
        certificates.issue_certificate,
        analytics.record_course_completion,
    ),
    event_types.CERTIFICATE_ISSUED: (
        notifications.notify_student_of_certificate,
        live.push_certificate_issued,
    ),
    event_types.FILE_READY: (media.finish_local_video,),
    event_types.POST_CREATED: (notifications.notify_staff_of_post, live.push_post_change),
    event_types.POST_UPDATED: (live.push_post_change,),
    event_types.POST_DELETED: (live.push_post_deleted,),
    event_types.ANNOUNCEMENT_POSTED: (notifications.notify_students_of_announcement, live.push_post_change),
    event_types.COMMENT_CREATED: (notifications.notify_of_comment, live.push_comment_created),
    event_types.POST_RESTORED: (live.push_post_change,),
    event_types.LESSON_COMPLETED: (analytics.record_lesson_completion,),
    event_types.VIDEO_WATCHED: (analytics.record_video_watched,),
    event_types.QUIZ_ATTEMPT_SUBMITTED: (analytics.record_quiz_attempt,),
}


def handler_registry() -> HandlerRegistry:
    """A registry holding exactly the subscribers above (each application builds its own)."""
    registry = HandlerRegistry()
    for event_type, handlers in SUBSCRIBERS.items():
        for handler in handlers:
            registry.on(event_type)(handler)
    return registry
