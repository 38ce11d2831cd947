"""The notifications handlers through the real flows: a request emits an event, delivering it
notifies the right people (and only them) in the app and by email, once."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from studyhall import event_types
from studyhall.core.clock import utcnow
from studyhall.core.events import Event, OutboxEvent, emit
from studyhall.identity.models import Role, User
from studyhall.notifications import handlers
from studyhall.notifications.models import Notification, NotificationEmail
from tests.assessment.conftest import TEXT, QuizCourse, hand_in, post_assignment, put_quiz, take
from tests.factories import (
    API,
    Actor,
    AppFactory,
    SmtpSink,
    client_for,
    complete,
    count_rows,
    course_lessons,
    create_course,
    create_lesson,
    create_user,
    deliver_events,
    enroll,
    enroll_directly,
    html_of,
    mails_in,
    rows,
    set_course,
    soft_delete_lesson,
    text_of,
)

PREFERENCES = f"{API}/me/notification-preferences"


async def classroom(app: FastAPI) -> QuizCourse:
    """A published course with a text and a quiz lesson, its owner and an enrolled student
    (enrolled behind the API's back: no enrollment event)."""
    owner = await create_user(app, Role.INSTRUCTOR, full_name="Grace Hopper")
    student = await create_user(app, full_name="Ada Lovelace")
    course = await create_course(app, owner, title="Compilers", lessons=1)
    quiz_lesson = await create_lesson(app, course, lesson_type="quiz")
    await enroll_directly(app, student, course)
    return QuizCourse(owner, student, course, quiz_lesson, (await course_lessons(app, course))[0])


async def notifications_of(app: FastAPI, actor: Actor) -> list[Notification]:
    return await rows(app, Notification, Notification.user_id == actor.user.id)


def mail_dir(app: FastAPI) -> Any:
    return app.state.settings.mail_dir


def link(app: FastAPI, path: str) -> str:
    return f"{app.state.settings.app_url}/{path}"


async def grade_submission(
    client: httpx.AsyncClient, qc: QuizCourse, student: Actor | None = None, points: float = 8
) -> dict[str, Any]:
    """The student hands in the course's essay (a new one) and the owner grades it."""
    assignment = await post_assignment(client, qc)
    handed_in = await hand_in(client, assignment["id"], student or qc.student)
    assert handed_in.status_code == 201, handed_in.text
    graded = await client.post(
        f"{API}/submissions/{handed_in.json()['id']}/grade",
        json={"points": points, "feedback": "Well argued <b>and</b> clear"},
        headers=qc.owner.headers,
    )
    assert graded.status_code == 200, graded.text
    return dict(graded.json())


async def set_preference(
    client: httpx.AsyncClient, actor: Actor, kind: str, *, email: bool, in_app: bool
) -> None:
    response = await client.put(
        PREFERENCES, json={kind: {"email": email, "in_app": in_app}}, headers=actor.headers
    )
    assert response.status_code == 200, response.text


# -- enrollment.created ----------------------------------------------------------------------


async def test_enrolling_notifies_the_staff_who_run_the_course(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    co, former = await create_user(app, Role.INSTRUCTOR), await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app, full_name="Ada Lovelace")
    course = await create_course(app, owner, title="Compilers", lessons=1)
    for teacher in (co, former):
        added = await client.post(
            f"{API}/courses/{course.id}/instructors", json={"user_id": teacher.id}, headers=owner.headers
        )
        assert added.status_code == 201
    enrollment = await enroll(client, student, course)
    # Removed after the enrollment, before the event is handled: no longer staff, not told.
    removed = await client.delete(f"{API}/courses/{course.id}/instructors/{former.id}", headers=owner.headers)
    assert removed.status_code == 204
    await deliver_events(app)

    assert {n.user_id for n in await rows(app, Notification)} == {owner.user.id, co.user.id}
    [notification] = await notifications_of(app, owner)
    assert (notification.type, notification.title) == ("enrollment.created", "New student in Compilers")
    assert notification.body == "Ada Lovelace enrolled in Compilers."
    assert notification.data == {
        "course_id": str(course.id),
        "enrollment_id": enrollment["id"],
        "student_id": student.id,
        "url": link(app, f"courses/{course.slug}/enrollments"),
    }
    listed = (await client.get(f"{API}/notifications", headers=co.headers)).json()
    assert [item["type"] for item in listed["items"]] == ["enrollment.created"]
    assert (await client.get(f"{API}/notifications", headers=student.headers)).json()["total"] == 0
    assert mails_in(mail_dir(app)) == []  # enrollments are not mailed by default


async def test_staff_who_ask_for_enrollment_emails_get_them(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR, full_name="Grace Hopper")
    student = await create_user(app, full_name="Ada Lovelace")
    course = await create_course(app, owner, title="Compilers", lessons=1)
    await set_preference(client, owner, "enrollment.created", email=True, in_app=True)
    await enroll(client, student, course)
    await deliver_events(app)

    [message] = mails_in(mail_dir(app))
    assert message["To"] == owner.user.email and message["Subject"] == "New student in Compilers"
    url = link(app, f"courses/{course.slug}/enrollments")
    assert "Hello Grace Hopper," in text_of(message)
    assert "Ada Lovelace enrolled in Compilers." in text_of(message) and url in text_of(message)
    assert f'href="{url}"' in html_of(message)
    assert link(app, "settings/notifications") in text_of(message)
    assert await count_rows(app, NotificationEmail) == 1


async def test_no_enrollment_notification_for_a_deleted_course_or_a_student_who_left(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    left = await create_course(app, owner, lessons=1)
    deleted = await create_course(app, owner, lessons=1)
    await enroll(client, student, left)
    assert (
        await client.delete(f"{API}/courses/{left.id}/enroll", headers=student.headers)
    ).status_code == 204
    await enroll(client, student, deleted)
    await set_course(app, deleted, deleted_at=utcnow())
    assert await deliver_events(app) == 2
    assert await count_rows(app, Notification) == 0


# -- quiz.graded -----------------------------------------------------------------------------


async def test_grading_a_quiz_notifies_and_mails_the_student_each_time(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    qc = await classroom(app)
    quiz = await put_quiz(client, qc, questions=[TEXT])
    text_id = quiz["questions"][0]["id"]
    attempt_id, submitted = await take(client, quiz, qc.student, {text_id: "A function calling itself."})
    assert submitted["status"] == "pending_review"
    await deliver_events(app)
    assert await count_rows(app, Notification) == 0  # submitting notifies nobody

    grade_url = f"{API}/attempts/{attempt_id}/grade"
    assert (await client.post(grade_url, json={text_id: 5}, headers=qc.owner.headers)).status_code == 200
    await deliver_events(app)
    [notification] = await notifications_of(app, qc.student)
    assert notification.type == "quiz.graded"
    assert notification.title == "Your quiz “Checkpoint” was graded"
    assert notification.body == "You scored 100 % in Compilers. You passed."
    url = link(app, f"courses/{qc.course.slug}/lessons/{qc.quiz_lesson.id}")
    assert notification.data == {
        "course_id": str(qc.course.id),
        "lesson_id": str(qc.quiz_lesson.id),
        "quiz_id": quiz["id"],
        "attempt_id": attempt_id,
        "status": "graded",
        "score_percent": 100.0,
        "passed": True,
        "url": url,
    }
    [message] = mails_in(mail_dir(app))
    assert message["To"] == qc.student.user.email and message["Subject"] == notification.title
    assert url in text_of(message) and "You scored 100 %" in html_of(message)

    # A re-grade is news again.
    assert (await client.post(grade_url, json={text_id: 1}, headers=qc.owner.headers)).status_code == 200
    await deliver_events(app)
    bodies = {n.body for n in await notifications_of(app, qc.student)}
    assert bodies == {notification.body, "You scored 20 % in Compilers. You did not pass this time."}
    assert len(mails_in(mail_dir(app))) == 2


async def test_no_quiz_notification_once_the_quiz_lesson_is_deleted(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    qc = await classroom(app)
    quiz = await put_quiz(client, qc, questions=[TEXT])
    text_id = quiz["questions"][0]["id"]
    attempt_id, _ = await take(client, quiz, qc.student, {text_id: "An answer"})
    graded = await client.post(
        f"{API}/attempts/{attempt_id}/grade", json={text_id: 5}, headers=qc.owner.headers
    )
    assert graded.status_code == 200
    await soft_delete_lesson(app, qc.quiz_lesson)
    await deliver_events(app)
    assert await count_rows(app, Notification) == 0
    assert mails_in(mail_dir(app)) == []


# -- submission.graded -----------------------------------------------------------------------


async def test_a_graded_submission_is_notified_and_mailed_over_smtp(
    make_app: AppFactory, smtp_sink: SmtpSink
) -> None:
    app = await make_app(smtp_url=smtp_sink.url)
    qc = await classroom(app)
    async with client_for(app) as client:
        graded = await grade_submission(client, qc)
        assert smtp_sink.messages == []  # nothing is sent inside the request
        await deliver_events(app)

    [notification] = await notifications_of(app, qc.student)
    assert notification.type == "submission.graded"
    assert notification.title == "Your work on “Essay” was graded"
    assert (
        notification.body == "You got 8 of 10 points in Compilers.\n\nFeedback: Well argued <b>and</b> clear"
    )
    url = link(app, f"courses/{qc.course.slug}/assignments/{graded['assignment_id']}")
    assert notification.data["url"] == url and notification.data["submission_id"] == graded["id"]
    assert [rcpt for _, rcpt in smtp_sink.envelopes] == [[qc.student.user.email]]
    [message] = smtp_sink.messages
    assert message["Subject"] == notification.title
    assert message["Message-ID"] == f"<{(await rows(app, OutboxEvent))[0].id}.{qc.student.id}@studyhall>"
    assert url in text_of(message) and "Feedback: Well argued <b>and</b> clear" in text_of(message)
    html = html_of(message)
    assert f'href="{url}"' in html and "Well argued &lt;b&gt;and&lt;/b&gt; clear" in html
    assert not mail_dir(app).exists()  # nothing written locally


@pytest.mark.parametrize(("email", "in_app"), [(False, False), (True, False), (False, True)])
async def test_the_students_preferences_choose_the_channels(
    app: FastAPI, client: httpx.AsyncClient, email: bool, in_app: bool
) -> None:
    qc = await classroom(app)
    await set_preference(client, qc.student, "submission.graded", email=email, in_app=in_app)
    await grade_submission(client, qc)
    await deliver_events(app)
    assert len(await notifications_of(app, qc.student)) == int(in_app)
    assert len(mails_in(mail_dir(app))) == int(email)
    assert await count_rows(app, NotificationEmail) == int(email)


async def test_no_grade_notification_in_a_course_the_student_can_no_longer_see(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    qc = await classroom(app)
    await grade_submission(client, qc)
    await set_course(app, qc.course, status="draft")
    assert await deliver_events(app) == 1
    assert await count_rows(app, Notification) == 0 and mails_in(mail_dir(app)) == []
    [event] = await rows(app, OutboxEvent)
    assert event.status == "done"


async def test_deactivated_students_get_no_email_and_deleted_ones_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    qc = await classroom(app)
    deleted = await create_user(app)
    await enroll_directly(app, deleted, qc.course)
    await grade_submission(client, qc)
    await grade_submission(client, qc, deleted)
    async with app.state.database.sessionmaker() as session, session.begin():
        await session.execute(update(User).where(User.id == qc.student.user.id).values(is_active=False))
        await session.execute(update(User).where(User.id == deleted.user.id).values(deleted_at=utcnow()))
    await deliver_events(app)
    assert len(await notifications_of(app, qc.student)) == 1  # seen if the account comes back
    assert await notifications_of(app, deleted) == []
    assert mails_in(mail_dir(app)) == [] and await count_rows(app, NotificationEmail) == 0


# -- course.completed and certificate.issued -------------------------------------------------


async def test_completing_a_course_notifies_the_student(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, owner, title="Compilers", lessons=1)
    await enroll(client, student, course)
    [lesson] = await course_lessons(app, course)
    assert (await complete(client, student, lesson)).status_code == 200
    await deliver_events(app)

    [notification] = await notifications_of(app, student)
    assert (notification.type, notification.title) == ("course.completed", "You completed Compilers")
    assert notification.data["url"] == link(app, f"courses/{course.slug}")
    assert [n.type for n in await notifications_of(app, owner)] == ["enrollment.created"]
    assert mails_in(mail_dir(app)) == []  # not mailed by default


async def issue_certificate(app: FastAPI, student: Actor, course_id: uuid.UUID, code: str) -> None:
    """What the certificates domain does when it issues one: the event, in its transaction."""
    async with app.state.database.sessionmaker() as session, session.begin():
        emit(
            session,
            event_types.CERTIFICATE_ISSUED,
            {
                "certificate_id": uuid.uuid4(),
                "enrollment_id": uuid.uuid4(),
                "user_id": student.user.id,
                "course_id": course_id,
                "verification_code": code,
            },
        )


async def test_an_issued_certificate_is_notified_and_mailed(app: FastAPI) -> None:
    qc = await classroom(app)
    await issue_certificate(app, qc.student, qc.course.id, "K7PM-Q2XR-9HTW")
    await deliver_events(app)
    [notification] = await notifications_of(app, qc.student)
    url = link(app, "certificates/verify/K7PM-Q2XR-9HTW")
    assert (notification.type, notification.title) == ("certificate.issued", "Your certificate for Compilers")
    assert notification.data["url"] == url and notification.data["verification_code"] == "K7PM-Q2XR-9HTW"
    [message] = mails_in(mail_dir(app))
    assert message["To"] == qc.student.user.email and url in text_of(message) and url in html_of(message)

    # A deleted course's certificate is not announced.
    await set_course(app, qc.course, deleted_at=utcnow())
    await issue_certificate(app, qc.student, qc.course.id, "ANOTHER-CODE")
    await deliver_events(app)
    assert len(await notifications_of(app, qc.student)) == 1


# -- at least once in, once in effect --------------------------------------------------------


async def test_a_redelivered_event_notifies_and_mails_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    qc = await classroom(app)
    await grade_submission(client, qc)
    assert await deliver_events(app) == 1
    # The same event delivered again, as after a lost acknowledgement.
    async with app.state.database.sessionmaker() as session, session.begin():
        await session.execute(
            update(OutboxEvent).values(status="pending", available_at=utcnow(), claim_token=None)
        )
    assert await deliver_events(app) == 1
    assert len(await notifications_of(app, qc.student)) == 1
    assert len(mails_in(mail_dir(app))) == 1
    assert await count_rows(app, NotificationEmail) == 1


@pytest.mark.postgresql_only
async def test_two_workers_handling_one_event_at_once_notify_and_mail_once(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    qc = await classroom(app)
    await grade_submission(client, qc)
    [row] = await rows(app, OutboxEvent)
    event = Event(id=row.id, type=row.event_type, payload=row.payload, created_at=row.created_at, attempt=1)

    async def handle() -> None:
        async with app.state.database.sessionmaker() as session, session.begin():
            await handlers.notify_student_of_submission_grade(event, session)

    await asyncio.gather(handle(), handle())
    assert len(await notifications_of(app, qc.student)) == 1
    assert len(mails_in(mail_dir(app))) == 1
