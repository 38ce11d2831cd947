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
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.assessment.access import assignment_access, attempt_course_access
from studyhall.assessment.models import Quiz, QuizAttempt, Submission
from studyhall.catalog.access import CourseContext, course_access, load_course
from studyhall.catalog.models import Course
from studyhall.core.errors import NotFound
from studyhall.core.events import Event
from studyhall.core.mail import MailService, mail_service
from studyhall.identity.models import User
from studyhall.learning.models import Enrollment, EnrollmentStatus
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


async def notify_student_of_quiz_grade(event: Event, session: AsyncSession) -> None:
    """`quiz.graded` (staff graded or re-graded an attempt's text answers) → its student,
    while they can see the quiz lesson. The grade is the event's: a later re-grade is its own
    event and notification."""
    attempt = await session.get(QuizAttempt, _id(event, "attempt_id"))
    student = await _live_user(session, attempt.user_id) if attempt is not None else None
    if attempt is None or student is None:
        return
    try:
        access = await attempt_course_access(session, student, attempt)
    except NotFound:
        return
    quiz = await session.get(Quiz, attempt.quiz_id)
    if quiz is None:
        return
    course = access.course.course
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
    await _deliver(session, event, student, notice)


async def notify_student_of_submission_grade(event: Event, session: AsyncSession) -> None:
    """`submission.graded` → its student, while they can see the assignment."""
    submission = await session.get(Submission, _id(event, "submission_id"))
    student = await _live_user(session, submission.user_id) if submission is not None else None
    if submission is None or student is None:
        return
    try:
        access = await assignment_access(session, student, submission.assignment_id)
    except NotFound:
        return
    assignment, course = access.assignment, access.course.course
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
    await _deliver(session, event, student, notice)


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


async def notify_student_of_certificate(event: Event, session: AsyncSession) -> None:
    """`certificate.issued` → its owner, who may always see their certificate; nothing once
    the course is deleted."""
    student = await _live_user(session, _id(event, "user_id"))
    context = await _live_course(session, _id(event, "course_id"))
    if student is None or context is None:
        return
    course, code = context.course, str(event.payload["verification_code"])
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
