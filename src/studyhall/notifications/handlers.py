"""Notifications' outbox event handlers: an in-app notification and, when the recipient's
preferences ask for it, an email, for each person an event concerns.

`studyhall.subscribers` says which events each one handles. Handlers keep no state of their
own: they read what they need through the session, so any process (an API process's
dispatcher, a worker) can run them, any number of times:

- A notification is unique per (user, event) and the email record too; the email goes out
  only when its record was inserted, so a redelivered event neither notifies nor mails twice.
- Only people allowed to see what a notification is about get it, decided by the same access
  rules as the API, at the time the event is handled: staff who still run the course, a
  student who can still see the course (and the quiz lesson, or the assignment).
- Deleted accounts get nothing; deactivated ones get the in-app notification (they see it if
  they come back) but no email.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.assessment.access import assignment_access, attempt_course_access
from studyhall.assessment.models import Assignment, Quiz, QuizAttempt, Submission
from studyhall.catalog.access import CourseContext, course_access, load_course
from studyhall.catalog.models import Course
from studyhall.catalog.policies import can_view_course
from studyhall.community.access import PostAccess, post_access
from studyhall.community.models import Comment, Post, PostKind
from studyhall.core.errors import NotFound
from studyhall.core.events import Event
from studyhall.core.mail import MailService, mail_service
from studyhall.identity.models import User
from studyhall.learning.models import Enrollment, EnrollmentStatus
from studyhall.learning.queries import active_student_ids
from studyhall.notifications import service
from studyhall.notifications.models import NotificationType
from studyhall.notifications.service import Notice

logger = structlog.get_logger(__name__)


def _id(event: Event, key: str) -> uuid.UUID:
    return uuid.UUID(str(event.payload[key]))


async def _live_users(session: AsyncSession, user_ids: Collection[uuid.UUID]) -> list[User]:
    """The accounts among `user_ids` that are not deleted, in a stable order."""
    if not user_ids:
        return []
    found = await session.scalars(
        select(User).where(User.id.in_(user_ids), User.deleted_at.is_(None)).order_by(User.id)
    )
    return list(found.all())


async def _live_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    found = await _live_users(session, [user_id])
    return found[0] if found else None


async def _deliver(session: AsyncSession, event: Event, recipient: User, notice: Notice) -> None:
    """The notification and the email of one recipient, as their preferences ask, once."""
    channels = await service.channels_for(session, recipient.id, notice.type)
    if channels.in_app:
        await service.add_notification(session, recipient.id, event.id, notice)
    if not (channels.email and recipient.is_active):
        return
    if not await service.claim_email(session, recipient.id, event.id, notice.type):
        logger.info("notification_email_already_sent", event_id=str(event.id), event_type=event.type)
        return
    mail: MailService = mail_service(session)
    await mail.send(
        "notification",
        recipient.email,
        {
            "full_name": recipient.full_name,
            "title": notice.title,
            "body": notice.body,
            "link": notice.link,
            "action": notice.action,
            "preferences_link": mail.link("settings/notifications"),
        },
        # Stable per event and recipient, so a receiving side can recognise a repeat.
        message_id=f"{event.id}.{recipient.id}",
    )


def _course_link(session: AsyncSession, course: Course, *rest: str) -> str:
    return mail_service(session).link("/".join(("courses", course.slug, *rest)))


def _number(value: Any) -> str:
    """82.5 → "82.5", 80.0 → "80"."""
    return f"{float(value):g}"


# -- the handlers ------------------------------------------------------------------------


async def notify_staff_of_enrollment(event: Event, session: AsyncSession) -> None:
    """`enrollment.created` → the course's owner and co-instructors (as they are now), not
    the student; nothing when the student has left again or the course is deleted."""
    enrollment = await session.get(Enrollment, _id(event, "enrollment_id"))
    if enrollment is None or enrollment.status != EnrollmentStatus.ACTIVE:
        return
    student = await _live_user(session, enrollment.user_id)
    context = await _live_course(session, enrollment.course_id)
    if student is None or context is None:
        return
    course = context.course
    notice = Notice(
        type=NotificationType.ENROLLMENT_CREATED,
        title=f"New student in {course.title}",
        body=f"{student.full_name} enrolled in {course.title}.",
        link=_course_link(session, course, "enrollments"),
        action="See the students",
        data={
            "course_id": str(course.id),
            "enrollment_id": str(enrollment.id),
            "student_id": str(student.id),
        },
    )
    teachers = {course.owner_id, *context.instructor_ids} - {student.id}
    for teacher in await _live_users(session, teachers):
        await _deliver(session, event, teacher, notice)


async def _live_course(session: AsyncSession, course_id: uuid.UUID) -> CourseContext | None:
    try:
        return await load_course(session, course_id)
    except NotFound:
        return None


@dataclass(frozen=True, slots=True)
class GradedAttempt:
    """A `quiz.graded` event's attempt, its quiz and course, and its student."""

    student: User
    attempt: QuizAttempt
    quiz: Quiz
    course: Course


async def graded_attempt(session: AsyncSession, event: Event) -> GradedAttempt | None:
    """The event's attempt while its student (a live account) can see the quiz lesson."""
    attempt = await session.get(QuizAttempt, _id(event, "attempt_id"))
    student = await _live_user(session, attempt.user_id) if attempt is not None else None
    if attempt is None or student is None:
        return None
    try:
        access = await attempt_course_access(session, student, attempt)
    except NotFound:
        return None
    quiz = await session.get(Quiz, attempt.quiz_id)
    if quiz is None:
        return None
    return GradedAttempt(student, attempt, quiz, access.course.course)


async def notify_student_of_quiz_grade(event: Event, session: AsyncSession) -> None:
    """`quiz.graded` (staff graded or re-graded an attempt's text answers) → its student,
    while they can see the quiz lesson. The grade is the event's: a later re-grade is its own
    event and notification."""
    graded = await graded_attempt(session, event)
    if graded is None:
        return
    attempt, quiz, course = graded.attempt, graded.quiz, graded.course
    payload = event.payload
    if payload["status"] == "graded":
        title = f"Your quiz “{quiz.title}” was graded"
        outcome = "You passed." if payload["passed"] else "You did not pass this time."
        body = f"You scored {_number(payload['score_percent'])} % in {course.title}. {outcome}"
    else:
        title = f"Your quiz “{quiz.title}” was reviewed"
        body = f"Some of your answers in {course.title} were graded; others still await review."
    notice = Notice(
        type=NotificationType.QUIZ_GRADED,
        title=title,
        body=body,
        link=_course_link(session, course, "lessons", str(attempt.lesson_id)),
        action="See your results",
        data={
            "course_id": str(course.id),
            "lesson_id": str(attempt.lesson_id),
            "quiz_id": str(quiz.id),
            "attempt_id": str(attempt.id),
            "status": payload["status"],
            "score_percent": payload["score_percent"],
            "passed": payload["passed"],
        },
    )
    await _deliver(session, event, graded.student, notice)


@dataclass(frozen=True, slots=True)
class GradedSubmission:
    """A `submission.graded` event's submission, its assignment and course, and its student."""

    student: User
    submission: Submission
    assignment: Assignment
    course: Course


async def graded_submission(session: AsyncSession, event: Event) -> GradedSubmission | None:
    """The event's submission while its student (a live account) can see the assignment."""
    submission = await session.get(Submission, _id(event, "submission_id"))
    student = await _live_user(session, submission.user_id) if submission is not None else None
    if submission is None or student is None:
        return None
    try:
        access = await assignment_access(session, student, submission.assignment_id)
    except NotFound:
        return None
    return GradedSubmission(student, submission, access.assignment, access.course.course)


async def notify_student_of_submission_grade(event: Event, session: AsyncSession) -> None:
    """`submission.graded` → its student, while they can see the assignment."""
    graded = await graded_submission(session, event)
    if graded is None:
        return
    submission, assignment, course = graded.submission, graded.assignment, graded.course
    payload = event.payload
    body = (
        f"You got {_number(payload['points'])} of {_number(payload['max_points'])} points in {course.title}."
    )
    if submission.feedback:
        body += f"\n\nFeedback: {submission.feedback}"
    notice = Notice(
        type=NotificationType.SUBMISSION_GRADED,
        title=f"Your work on “{assignment.title}” was graded",
        body=body,
        link=_course_link(session, course, "assignments", str(assignment.id)),
        action="See your grade",
        data={
            "course_id": str(course.id),
            "assignment_id": str(assignment.id),
            "submission_id": str(submission.id),
            "points": payload["points"],
            "max_points": payload["max_points"],
        },
    )
    await _deliver(session, event, graded.student, notice)


async def notify_student_of_completion(event: Event, session: AsyncSession) -> None:
    """`course.completed` → the student, while they can see the course."""
    student = await _live_user(session, _id(event, "user_id"))
    if student is None:
        return
    try:
        access = await course_access(session, student, _id(event, "course_id"))
    except NotFound:
        return
    course = access.course
    notice = Notice(
        type=NotificationType.COURSE_COMPLETED,
        title=f"You completed {course.title}",
        body=f"Congratulations: you finished every lesson of {course.title}.",
        link=_course_link(session, course),
        action="Open the course",
        data={"course_id": str(course.id), "enrollment_id": str(event.payload["enrollment_id"])},
    )
    await _deliver(session, event, student, notice)


async def certificate_owner(session: AsyncSession, event: Event) -> tuple[User, Course] | None:
    """A `certificate.issued` event's owner (a live account) and course, unless the course
    is deleted; the owner may always see their certificate."""
    student = await _live_user(session, _id(event, "user_id"))
    context = await _live_course(session, _id(event, "course_id"))
    if student is None or context is None:
        return None
    return student, context.course


async def notify_student_of_certificate(event: Event, session: AsyncSession) -> None:
    """`certificate.issued` → its owner, who may always see their certificate; nothing once
    the course is deleted."""
    owner = await certificate_owner(session, event)
    if owner is None:
        return
    student, course = owner
    code = str(event.payload["verification_code"])
    notice = Notice(
        type=NotificationType.CERTIFICATE_ISSUED,
        title=f"Your certificate for {course.title}",
        body=f"Your certificate for {course.title} is ready. Its verification code is {code}.",
        link=mail_service(session).link(f"certificates/verify/{code}"),
        action="See your certificate",
        data={
            "course_id": str(course.id),
            "certificate_id": str(event.payload["certificate_id"]),
            "enrollment_id": str(event.payload["enrollment_id"]),
            "verification_code": code,
        },
    )
    await _deliver(session, event, student, notice)


# -- community ---------------------------------------------------------------------------


async def _post_seen_by(session: AsyncSession, user: User, post_id: uuid.UUID) -> PostAccess | None:
    """The live post as `user` may see it now; None when they may not."""
    try:
        return await post_access(session, user, post_id)
    except NotFound:
        return None


def _post_link(session: AsyncSession, post: Post) -> str:
    return mail_service(session).link(f"posts/{post.id}")


#: A notification's title fits its column; a community one quotes titles that may not.
TITLE_LENGTH = 300


def _excerpt(text: str, length: int = 280) -> str:
    """`text` on one line, cut to `length` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


async def notify_students_of_announcement(event: Event, session: AsyncSession) -> None:
    """`announcement.posted` → every student actively enrolled in the course who may still
    see it (the same rule as reading the post), not its author; nothing once the post or the
    course is deleted."""
    post = await session.get(Post, _id(event, "post_id"))
    context = await _live_course(session, _id(event, "course_id"))
    if post is None or post.deleted_at is not None or context is None:
        return
    course = context.course
    notice = Notice(
        type=NotificationType.ANNOUNCEMENT_POSTED,
        title=_excerpt(f"Announcement in {course.title}: {post.title}", TITLE_LENGTH),
        body=_excerpt(post.body),
        link=_post_link(session, post),
        action="Read the announcement",
        data={"course_id": str(course.id), "post_id": str(post.id)},
    )
    students = set((await session.scalars(active_student_ids(course.id))).all()) - {post.author_id}
    for student in await _live_users(session, students):
        if can_view_course(student, course, context.instructor_ids):
            await _deliver(session, event, student, notice)


async def notify_staff_of_post(event: Event, session: AsyncSession) -> None:
    """`post.created` of a discussion in a course → the course's owner and co-instructors
    (as they are now), not its author. Open posts and announcements notify nobody here (an
    announcement's students hear of it through `announcement.posted`)."""
    post = await session.get(Post, _id(event, "post_id"))
    if (
        post is None
        or post.deleted_at is not None
        or post.course_id is None
        or post.kind != PostKind.DISCUSSION
    ):
        return
    context = await _live_course(session, post.course_id)
    author = await _live_user(session, post.author_id)
    if context is None or author is None:
        return
    course = context.course
    notice = Notice(
        type=NotificationType.POST_CREATED,
        title=_excerpt(f"New post in {course.title}: {post.title}", TITLE_LENGTH),
        body=f"{author.full_name} wrote: {_excerpt(post.body)}",
        link=_post_link(session, post),
        action="Read the post",
        data={"course_id": str(course.id), "post_id": str(post.id), "author_id": str(author.id)},
    )
    for teacher in await _live_users(session, {course.owner_id, *context.instructor_ids} - {author.id}):
        await _deliver(session, event, teacher, notice)


async def notify_of_comment(event: Event, session: AsyncSession) -> None:
    """`comment.created` → the post's author and, for a reply, the author of the comment it
    answers; never the commenter, and only while they may see the post."""
    comment = await session.get(Comment, _id(event, "comment_id"))
    commenter = await _live_user(session, comment.author_id) if comment is not None else None
    if comment is None or comment.deleted_at is not None or commenter is None:
        return
    post = await session.get(Post, comment.post_id)
    parent = await session.get(Comment, comment.parent_id) if comment.parent_id is not None else None
    if post is None:
        return
    recipients = {post.author_id} | ({parent.author_id} if parent is not None else set())
    for recipient in await _live_users(session, recipients - {commenter.id}):
        if await _post_seen_by(session, recipient, post.id) is None:
            continue
        is_reply = parent is not None and recipient.id == parent.author_id
        what = "replied to your comment on" if is_reply else "commented on"
        notice = Notice(
            type=NotificationType.COMMENT_CREATED,
            title=_excerpt(f"{commenter.full_name} {what} “{post.title}”", TITLE_LENGTH),
            body=_excerpt(comment.body),
            link=_post_link(session, post),
            action="See the comment",
            data={
                "post_id": str(post.id),
                "comment_id": str(comment.id),
                "course_id": _str_or_none(post.course_id),
            },
        )
        await _deliver(session, event, recipient, notice)


def _str_or_none(value: uuid.UUID | None) -> str | None:
    return str(value) if value is not None else None
