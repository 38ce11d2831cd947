"""Live community and enrollment messages on `WS /ws/notifications`, against a live server with
a real WebSocket client: each reaches exactly those who may see what it is about.

"Nothing arrived" is shown by pushing the socket a notification afterwards: the first message
it receives must be that notification, not the event."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from studyhall.assessment.models import Submission
from studyhall.catalog.models import CourseInstructor
from studyhall.community.models import Post
from studyhall.core.events import Event, OutboxEvent
from studyhall.core.pubsub import wait_for_publishes
from studyhall.identity.models import Role
from studyhall.learning.models import Enrollment
from studyhall.notifications import live
from studyhall.notifications.models import Notification
from tests.assessment.conftest import TEXT, QuizCourse, hand_in, post_assignment, put_quiz, take
from tests.conftest import apps_on
from tests.factories import (
    API,
    Actor,
    Socket,
    assert_notification_message,
    client_for,
    count_statements,
    course_lessons,
    create_course,
    create_lesson,
    create_post,
    create_user,
    deliver,
    deliver_events,
    enroll,
    enroll_directly,
    enrollment_row,
    fresh_row,
    issue_certificate_directly,
    live_server,
    notify,
    receive,
    rows,
    set_course,
    signed_in,
    soft_delete_lesson,
)
from tests.servers import RedisServer

POSTS = f"{API}/posts"


@pytest.fixture
async def server(app: FastAPI) -> AsyncIterator[str]:
    async with live_server(app) as url:
        yield url


@dataclass
class Room:
    teacher: Actor
    co_teacher: Actor
    student: Actor
    #: Signed in and able to see the course, not enrolled in it.
    outsider: Actor
    #: Enrolled once, unenrolled since.
    former: Actor


async def make_room(app: FastAPI, client: httpx.AsyncClient) -> tuple[Room, Any]:
    teacher = await create_user(app, Role.INSTRUCTOR)
    co_teacher = await create_user(app, Role.INSTRUCTOR)
    student, outsider, former = await create_user(app), await create_user(app), await create_user(app)
    course = await create_course(app, teacher, title="Compilers", lessons=1)
    async with app.state.database.sessionmaker() as session, session.begin():
        session.add(CourseInstructor(course_id=course.id, user_id=co_teacher.user.id))
    await enroll_directly(app, student, course)
    await enroll_directly(app, former, course)
    left = await client.delete(f"{API}/courses/{course.id}/enroll", headers=former.headers)
    assert left.status_code == 204, left.text
    return Room(teacher, co_teacher, student, outsider, former), course


async def settle(app: FastAPI) -> None:
    """Runs the pending outbox handlers and waits for what their commits publish."""
    await deliver_events(app)
    await wait_for_publishes()


async def receive_live(socket: Socket) -> dict[str, Any]:
    """The next live event message, past the stored notifications the same event made."""
    while (message := await receive(socket))["type"] == "notification.created":
        pass
    return message


async def assert_nothing_arrived(app: FastAPI, actor: Actor, socket: Socket) -> None:
    row = await notify(app, actor, "Only this")
    assert_notification_message(await receive(socket), row)


async def write_post(client: httpx.AsyncClient, author: Actor, **fields: object) -> dict[str, Any]:
    response = await client.post(
        POSTS, json={"title": "Exam", "body": "On **Friday**.", **fields}, headers=author.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def collect(client: httpx.AsyncClient, owner: Actor, post_id: str) -> None:
    made = await client.post(f"{API}/collections", json={"name": "Later"}, headers=owner.headers)
    assert made.status_code == 201, made.text
    added = await client.post(
        f"{API}/collections/{made.json()['id']}/posts", json={"post_id": post_id}, headers=owner.headers
    )
    assert added.status_code == 201, added.text


async def event_id(app: FastAPI, event_type: str, key: str, value: str) -> str:
    found = [
        row
        for row in await rows(app, OutboxEvent, OutboxEvent.event_type == event_type)
        if row.payload[key] == value
    ]
    assert len(found) == 1
    return str(found[0].id)


def assert_message(message: dict[str, Any], event_type: str, event_id: str, data: dict[str, Any]) -> None:
    """A live event's message; its `id` is the number of a notification the socket had."""
    assert (message["type"], message["event_id"], message["data"]) == (event_type, event_id, data)
    assert isinstance(message["created_at"], str)
    assert isinstance(message["id"], int) and message["id"] >= 0


async def test_a_course_post_reaches_its_members_and_nobody_else(
    app: FastAPI, client: httpx.AsyncClient, server: str
) -> None:
    room, course = await make_room(app, client)
    async with (
        await signed_in(server, room.student) as student,
        await signed_in(server, room.co_teacher) as co_teacher,
        await signed_in(server, room.outsider) as outsider,
        await signed_in(server, room.former) as former,
    ):
        body = await write_post(client, room.teacher, course_id=str(course.id))
        await settle(app)
        the_id = await event_id(app, "post.created", "post_id", body["id"])
        expected = {
            "post_id": body["id"],
            "course_id": str(course.id),
            "author_id": room.teacher.id,
            "kind": "discussion",
            "title": "Exam",
        }
        for socket in (student, co_teacher):
            assert_message(await receive_live(socket), "post.created", the_id, expected)
        await assert_nothing_arrived(app, room.outsider, outsider)
        await assert_nothing_arrived(app, room.former, former)
    assert (await fresh_row(app, Post, body["id"])).course_id == course.id


async def test_comments_and_announcements_reach_the_members(
    app: FastAPI, client: httpx.AsyncClient, server: str
) -> None:
    room, course = await make_room(app, client)
    announcement = await write_post(client, room.teacher, course_id=str(course.id), kind="announcement")
    await deliver_events(app)
    async with (
        await signed_in(server, room.student) as student,
        await signed_in(server, room.teacher) as teacher,
        await signed_in(server, room.outsider) as outsider,
    ):
        commented = await client.post(
            f"{POSTS}/{announcement['id']}/comments", json={"body": "Thanks"}, headers=room.student.headers
        )
        assert commented.status_code == 201, commented.text
        await settle(app)
        comment_id = commented.json()["id"]
        expected = {
            "comment_id": comment_id,
            "post_id": announcement["id"],
            "course_id": str(course.id),
            "author_id": room.student.id,
            "parent_id": None,
        }
        the_id = await event_id(app, "comment.created", "comment_id", comment_id)
        for socket in (student, teacher):
            assert_message(await receive_live(socket), "comment.created", the_id, expected)
        await assert_nothing_arrived(app, room.outsider, outsider)

        second = await write_post(client, room.teacher, course_id=str(course.id), kind="announcement")
        await settle(app)
        got = {(await receive_live(student))["type"], (await receive_live(student))["type"]}
        assert got == {"post.created", "announcement.posted"}
        await assert_nothing_arrived(app, room.outsider, outsider)
    [posted] = [
        row
        for row in await rows(app, OutboxEvent, OutboxEvent.event_type == "announcement.posted")
        if row.payload["post_id"] == second["id"]
    ]
    assert posted.payload["course_id"] == str(course.id)


async def test_a_collection_holder_hears_of_updates_and_deletion_of_an_open_post(
    app: FastAPI, client: httpx.AsyncClient, server: str
) -> None:
    author, holder, bystander = await create_user(app), await create_user(app), await create_user(app)
    body = await write_post(client, author, title="Open thoughts", body="A secret body")
    await collect(client, holder, body["id"])
    await deliver_events(app)
    async with (
        await signed_in(server, holder) as holders,
        await signed_in(server, bystander) as bystanders,
    ):
        edited = await client.patch(f"{POSTS}/{body['id']}", json={"title": "Edited"}, headers=author.headers)
        assert edited.status_code == 200, edited.text
        await settle(app)
        expected = {"post_id": body["id"], "course_id": None, "author_id": author.id, "kind": "discussion"}
        updated_id = await event_id(app, "post.updated", "post_id", body["id"])
        assert_message(
            await receive_live(holders), "post.updated", updated_id, expected | {"title": "Edited"}
        )

        deleted = await client.delete(f"{POSTS}/{body['id']}", headers=author.headers)
        assert deleted.status_code == 204, deleted.text
        await settle(app)
        deleted_id = await event_id(app, "post.deleted", "post_id", body["id"])
        message = await receive_live(holders)
        assert_message(message, "post.deleted", deleted_id, expected | {"deleted_by": author.id})
        assert "secret" not in str(message) and "Edited" not in str(message)
        await assert_nothing_arrived(app, bystander, bystanders)
    assert (await fresh_row(app, Post, body["id"])).deleted_at is not None


async def test_a_holder_who_left_the_course_hears_nothing_more(
    app: FastAPI, client: httpx.AsyncClient, server: str
) -> None:
    room, course = await make_room(app, client)
    body = await write_post(client, room.teacher, course_id=str(course.id))
    await collect(client, room.student, body["id"])
    left = await client.delete(f"{API}/courses/{course.id}/enroll", headers=room.student.headers)
    assert left.status_code == 204, left.text
    await deliver_events(app)
    async with (
        await signed_in(server, room.student) as student,
        await signed_in(server, room.teacher) as teacher,
    ):
        edited = await client.patch(
            f"{POSTS}/{body['id']}", json={"body": "New"}, headers=room.teacher.headers
        )
        assert edited.status_code == 200, edited.text
        await settle(app)
        assert (await receive_live(teacher))["type"] == "post.updated"
        await assert_nothing_arrived(app, room.student, student)


async def test_students_of_an_unpublished_course_hear_nothing_and_its_staff_do(
    app: FastAPI, client: httpx.AsyncClient, server: str
) -> None:
    room, course = await make_room(app, client)
    await set_course(app, course, status="draft")
    async with (
        await signed_in(server, room.student) as student,
        await signed_in(server, room.co_teacher) as co_teacher,
    ):
        body = await write_post(client, room.teacher, course_id=str(course.id))
        await settle(app)
        message = await receive_live(co_teacher)
        assert (message["type"], message["data"]["post_id"]) == ("post.created", body["id"])
        await assert_nothing_arrived(app, room.student, student)
    assert (await enrollment_row(app, room.student, course)) is not None  # still enrolled


async def test_staff_hear_of_an_enrollment_and_the_student_does_not(
    app: FastAPI, client: httpx.AsyncClient, server: str
) -> None:
    room, course = await make_room(app, client)
    newcomer = await create_user(app)
    async with (
        await signed_in(server, room.teacher) as teacher,
        await signed_in(server, room.co_teacher) as co_teacher,
        await signed_in(server, newcomer) as newcomers,
        await signed_in(server, room.student) as student,
    ):
        enrolled = await enroll(client, newcomer, course)
        await settle(app)
        the_id = await event_id(app, "enrollment.created", "enrollment_id", enrolled["id"])
        expected = {"enrollment_id": enrolled["id"], "course_id": str(course.id), "user_id": newcomer.id}
        for socket in (teacher, co_teacher):
            assert_message(await receive_live(socket), "enrollment.created", the_id, expected)
        await assert_nothing_arrived(app, newcomer, newcomers)
        await assert_nothing_arrived(app, room.student, student)
    assert (await fresh_row(app, Enrollment, enrolled["id"])).user_id == newcomer.user.id


async def test_the_audience_costs_the_same_queries_however_large(app: FastAPI) -> None:
    teacher = await create_user(app, Role.INSTRUCTOR)
    counts = []
    for students in (1, 6):
        course = await create_course(app, teacher, lessons=1)
        for _ in range(students):
            await enroll_directly(app, await create_user(app), course)
        post = await create_post(app, teacher, course)
        event = Event(uuid.uuid4(), "post.updated", {"post_id": str(post.id)}, post.created_at, 1)
        with count_statements(app) as statements:
            await deliver(app, live.push_post_change, event)
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 8


# -- across processes ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url


async def test_a_post_made_through_one_process_reaches_a_member_on_another(
    database_url: str, redis_url: str, tmp_path: Any
) -> None:
    async with apps_on(database_url, tmp_path, redis_url=redis_url) as make:
        process_a, process_b = await make(), await make()
        async with client_for(process_a) as client_a:
            room, course = await make_room(process_a, client_a)
            async with (
                live_server(process_b) as url,
                await signed_in(url, room.student) as student,
                await signed_in(url, room.outsider) as outsider,
            ):
                await asyncio.sleep(0.2)
                body = await write_post(client_a, room.teacher, course_id=str(course.id))
                await settle(process_a)
                message = await receive_live(student)
                assert (message["type"], message["data"]["post_id"]) == ("post.created", body["id"])
                await assert_nothing_arrived(process_a, room.outsider, outsider)


# -- grades and certificates: the student concerned only -----------------------------------------


async def graded_room(app: FastAPI, client: httpx.AsyncClient) -> tuple[QuizCourse, Actor]:
    """A course with a quiz lesson, its owner, an enrolled student and a classmate."""
    owner = await create_user(app, Role.INSTRUCTOR)
    student, classmate = await create_user(app), await create_user(app)
    course = await create_course(app, owner, title="Compilers", lessons=1, certificate_enabled=True)
    quiz_lesson = await create_lesson(app, course, lesson_type="quiz")
    for actor in (student, classmate):
        await enroll_directly(app, actor, course)
    text_lesson = (await course_lessons(app, course))[0]
    return QuizCourse(owner, student, course, quiz_lesson, text_lesson), classmate


async def test_a_graded_quiz_reaches_its_student_only(
    app: FastAPI, client: httpx.AsyncClient, server: str
) -> None:
    qc, classmate = await graded_room(app, client)
    quiz = await put_quiz(client, qc, questions=[TEXT])
    text_id = quiz["questions"][0]["id"]
    attempt_id, _ = await take(client, quiz, qc.student, {text_id: "A function calling itself."})
    await take(client, quiz, classmate, {text_id: "Mine."})
    await deliver_events(app)
    async with (
        await signed_in(server, qc.student) as student,
        await signed_in(server, classmate) as classmates,
        await signed_in(server, qc.owner) as owner,
    ):
        graded = await client.post(
            f"{API}/attempts/{attempt_id}/grade", json={text_id: 5}, headers=qc.owner.headers
        )
        assert graded.status_code == 200, graded.text
        await settle(app)
        expected = {
            "attempt_id": attempt_id,
            "quiz_id": quiz["id"],
            "lesson_id": str(qc.quiz_lesson.id),
            "course_id": str(qc.course.id),
            "status": "graded",
            "score_percent": 100.0,
            "passed": True,
        }
        the_id = await event_id(app, "quiz.graded", "attempt_id", attempt_id)
        assert_message(await receive_live(student), "quiz.graded", the_id, expected)
        await assert_nothing_arrived(app, classmate, classmates)
        await assert_nothing_arrived(app, qc.owner, owner)
    [notification] = await rows(app, Notification, Notification.user_id == qc.student.user.id)
    assert notification.type == "quiz.graded"


async def test_a_graded_quiz_of_a_lesson_deleted_meanwhile_reaches_nobody(
    app: FastAPI, client: httpx.AsyncClient, server: str
) -> None:
    qc, _ = await graded_room(app, client)
    quiz = await put_quiz(client, qc, questions=[TEXT])
    text_id = quiz["questions"][0]["id"]
    attempt_id, _ = await take(client, quiz, qc.student, {text_id: "An answer"})
    async with await signed_in(server, qc.student) as student:
        graded = await client.post(
            f"{API}/attempts/{attempt_id}/grade", json={text_id: 5}, headers=qc.owner.headers
        )
        assert graded.status_code == 200, graded.text
        await soft_delete_lesson(app, qc.quiz_lesson)
        await settle(app)
        await assert_nothing_arrived(app, qc.student, student)
    assert await rows(app, Notification, Notification.type == "quiz.graded") == []


async def test_a_graded_submission_reaches_its_student_only(
    app: FastAPI, client: httpx.AsyncClient, server: str
) -> None:
    qc, classmate = await graded_room(app, client)
    assignment = await post_assignment(client, qc)
    handed_in = await hand_in(client, assignment["id"], qc.student)
    assert handed_in.status_code == 201, handed_in.text
    assert (await hand_in(client, assignment["id"], classmate)).status_code == 201
    await deliver_events(app)
    async with (
        await signed_in(server, qc.student) as student,
        await signed_in(server, classmate) as classmates,
        await signed_in(server, qc.owner) as owner,
    ):
        submission_id = handed_in.json()["id"]
        graded = await client.post(
            f"{API}/submissions/{submission_id}/grade",
            json={"points": 8, "feedback": "Clear"},
            headers=qc.owner.headers,
        )
        assert graded.status_code == 200, graded.text
        await settle(app)
        expected = {
            "submission_id": submission_id,
            "assignment_id": assignment["id"],
            "course_id": str(qc.course.id),
            "points": 8.0,
            "max_points": 10.0,
        }
        the_id = await event_id(app, "submission.graded", "submission_id", submission_id)
        message = await receive_live(student)
        assert_message(message, "submission.graded", the_id, expected)
        assert "Clear" not in str(message)  # the feedback is in the notification, not here
        await assert_nothing_arrived(app, classmate, classmates)
        await assert_nothing_arrived(app, qc.owner, owner)
    assert (await fresh_row(app, Submission, submission_id)).points == 8


async def test_an_issued_certificate_reaches_its_owner_only(
    app: FastAPI, client: httpx.AsyncClient, server: str
) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    graduate, classmate = await create_user(app), await create_user(app)
    course = await create_course(app, owner, lessons=1, certificate_enabled=True)
    await enroll_directly(app, classmate, course)
    async with (
        await signed_in(server, graduate) as student,
        await signed_in(server, classmate) as classmates,
        await signed_in(server, owner) as owners,
    ):
        await asyncio.sleep(0.2)
        certificate = await issue_certificate_directly(app, graduate, course)
        await settle(app)
        expected = {
            "certificate_id": str(certificate.id),
            "course_id": str(course.id),
            "enrollment_id": str(certificate.enrollment_id),
            "verification_code": certificate.verification_code,
        }
        the_id = await event_id(app, "certificate.issued", "certificate_id", str(certificate.id))
        assert_message(await receive_live(student), "certificate.issued", the_id, expected)
        await assert_nothing_arrived(app, classmate, classmates)
        await assert_nothing_arrived(app, owner, owners)


# -- post.restored -------------------------------------------------------------------------------


async def test_a_restored_post_reaches_the_audience_of_a_new_one(
    app: FastAPI, client: httpx.AsyncClient, server: str
) -> None:
    room, course = await make_room(app, client)
    body = await write_post(client, room.student, course_id=str(course.id))
    deleted = await client.delete(f"{POSTS}/{body['id']}", headers=room.teacher.headers)
    assert deleted.status_code == 204, deleted.text
    await deliver_events(app)
    async with (
        await signed_in(server, room.student) as student,
        await signed_in(server, room.co_teacher) as co_teacher,
        await signed_in(server, room.outsider) as outsider,
        await signed_in(server, room.former) as former,
    ):
        restored = await client.post(f"{POSTS}/{body['id']}/restore", headers=room.teacher.headers)
        assert restored.status_code == 200, restored.text
        await settle(app)
        the_id = await event_id(app, "post.restored", "post_id", body["id"])
        expected = {
            "post_id": body["id"],
            "course_id": str(course.id),
            "author_id": room.student.id,
            "kind": "discussion",
            "title": "Exam",
            "restored_by": room.teacher.id,
        }
        for socket in (student, co_teacher):
            assert_message(await receive_live(socket), "post.restored", the_id, expected)
        await assert_nothing_arrived(app, room.outsider, outsider)
        await assert_nothing_arrived(app, room.former, former)
    assert (await fresh_row(app, Post, body["id"])).deleted_at is None


# -- ids: a client resumes from the last message it saw ------------------------------------------


async def test_a_live_event_carries_the_last_notification_number_to_resume_from(
    app: FastAPI, client: httpx.AsyncClient, server: str
) -> None:
    """A live event's id is the number of the last notification the socket sent; a client
    that reconnects with it gets the notifications that came after, none before."""
    room, course = await make_room(app, client)
    await notify(app, room.student, "Before")
    async with await signed_in(server, room.student) as socket:
        await asyncio.sleep(0.2)
        first = await notify(app, room.student, "Seen")
        assert_notification_message(await receive(socket), first)
        await write_post(client, room.teacher, course_id=str(course.id))
        await settle(app)
        live_message = await receive(socket)
    assert (live_message["type"], live_message["id"]) == ("post.created", first.seq) == ("post.created", 2)
    missed = await notify(app, room.student, "Missed")
    async with await signed_in(server, room.student, f"&since={live_message['id']}") as socket:
        assert_notification_message(await receive(socket), missed)
        await assert_nothing_arrived(app, room.student, socket)
