"""Community events reach the right people through the notifications handlers, and only
them: an announcement its course's students, a course discussion its teachers, a comment the
post's author (and, for a reply, the comment it answers)."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

from studyhall.community.models import Post
from studyhall.notifications.models import Notification, NotificationEmail
from tests.community.conftest import Classroom
from tests.factories import (
    API,
    Actor,
    count_rows,
    create_comment,
    create_post,
    create_user,
    deliver_events,
    enroll_directly,
    mails_in,
    rows,
    set_course,
    text_of,
)

POSTS = f"{API}/posts"


def link(app: FastAPI, path: str) -> str:
    return f"{app.state.settings.app_url}/{path}"


def mail_dir(app: FastAPI) -> Path:
    path: Path = app.state.settings.mail_dir
    return path


async def notified(app: FastAPI, notification_type: str) -> dict[str, Notification]:
    """The notifications of one type, by recipient id."""
    found = await rows(app, Notification, Notification.type == notification_type)
    return {str(notification.user_id): notification for notification in found}


async def post(client: httpx.AsyncClient, author: Actor, **fields: object) -> dict[str, object]:
    response = await client.post(
        POSTS, json={"title": "Exam", "body": "On **Friday**.", **fields}, headers=author.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def test_an_announcement_notifies_and_mails_the_courses_students(
    app: FastAPI, client: httpx.AsyncClient, room: Classroom
) -> None:
    left = await create_user(app)
    await enroll_directly(app, left, room.course)
    assert (
        await client.delete(f"{API}/courses/{room.course.id}/enroll", headers=left.headers)
    ).status_code == 204
    await enroll_directly(app, room.co_teacher, room.course)  # staff enrolled too: a student as well
    announcement = await post(client, room.teacher, course_id=str(room.course.id), kind="announcement")
    await deliver_events(app)

    received = await notified(app, "announcement.posted")
    assert set(received) == {room.student.id, room.classmate.id, room.co_teacher.id}
    notification = received[room.student.id]
    assert notification.title == "Announcement in Compilers: Exam"
    assert notification.body == "On **Friday**."
    assert notification.data == {
        "course_id": str(room.course.id),
        "post_id": announcement["id"],
        "url": link(app, f"posts/{announcement['id']}"),
    }
    # Announcements are mailed by default.
    mailed = {message["To"]: message for message in mails_in(mail_dir(app))}
    assert set(mailed) == {room.student.user.email, room.classmate.user.email, room.co_teacher.user.email}
    assert "On **Friday**." in text_of(mailed[room.student.user.email])
    # The announcement is not also a `post.created` notice to its staff.
    assert await notified(app, "post.created") == {}
    # Redelivery changes nothing.
    assert await deliver_events(app) == 0
    assert await count_rows(app, NotificationEmail) == 3


async def test_no_announcement_notice_for_a_course_students_cannot_see_or_a_deleted_post(
    app: FastAPI, client: httpx.AsyncClient, room: Classroom
) -> None:
    await post(client, room.teacher, course_id=str(room.course.id), kind="announcement")
    await set_course(app, room.course, status="draft")
    await deliver_events(app)
    assert await count_rows(app, Notification) == 0
    await set_course(app, room.course, status="published")
    deleted = await post(client, room.teacher, course_id=str(room.course.id), kind="announcement")
    assert (await client.delete(f"{POSTS}/{deleted['id']}", headers=room.teacher.headers)).status_code == 204
    await deliver_events(app)
    assert await count_rows(app, Notification) == 0


async def test_a_course_discussion_notifies_its_teachers_not_its_author(
    app: FastAPI, client: httpx.AsyncClient, room: Classroom
) -> None:
    discussion = await post(client, room.student, course_id=str(room.course.id), title="Why LR?")
    await post(client, room.student, title="Open to all")  # open posts notify nobody
    await deliver_events(app)
    received = await notified(app, "post.created")
    assert set(received) == {room.teacher.id, room.co_teacher.id}
    notification = received[room.teacher.id]
    assert notification.title == "New post in Compilers: Why LR?"
    assert notification.body == "Ada Lovelace wrote: On **Friday**."
    assert notification.data["post_id"] == discussion["id"]
    assert mails_in(mail_dir(app)) == []  # not mailed by default
    # A teacher's own discussion notifies the other teacher only.
    await post(client, room.teacher, course_id=str(room.course.id))
    await deliver_events(app)
    assert [n.user_id for n in await rows(app, Notification, Notification.type == "post.created")].count(
        room.teacher.user.id
    ) == 1


async def test_a_comment_notifies_the_posts_author_and_a_reply_the_comments_author(
    app: FastAPI, client: httpx.AsyncClient, room: Classroom
) -> None:
    course_post: Post = await create_post(app, room.teacher, room.course, title="Grammars")
    top = await create_comment(app, room.student, course_post)
    reply = await client.post(
        f"{POSTS}/{course_post.id}/comments",
        json={"body": "See chapter 4.", "parent_id": str(top.id)},
        headers=room.classmate.headers,
    )
    assert reply.status_code == 201
    await deliver_events(app)
    received = await notified(app, "comment.created")
    assert set(received) == {room.teacher.id, room.student.id}
    assert received[room.teacher.id].title == "Edsger Dijkstra commented on “Grammars”"
    assert received[room.student.id].title == "Edsger Dijkstra replied to your comment on “Grammars”"
    assert received[room.student.id].body == "See chapter 4."
    assert received[room.student.id].data == {
        "post_id": str(course_post.id),
        "comment_id": reply.json()["id"],
        "course_id": str(room.course.id),
        "url": link(app, f"posts/{course_post.id}"),
    }
    # Commenting on one's own post notifies nobody.
    own = await client.post(
        f"{POSTS}/{course_post.id}/comments", json={"body": "Thanks"}, headers=room.teacher.headers
    )
    assert own.status_code == 201
    await deliver_events(app)
    assert await count_rows(app, Notification, Notification.type == "comment.created") == 2


async def test_a_comment_author_who_can_no_longer_see_the_post_is_not_told(
    app: FastAPI, client: httpx.AsyncClient, room: Classroom
) -> None:
    course_post = await create_post(app, room.student, room.course)
    assert (
        await client.delete(f"{API}/courses/{room.course.id}/enroll", headers=room.student.headers)
    ).status_code == 204
    comment = await client.post(
        f"{POSTS}/{course_post.id}/comments", json={"body": "Hm"}, headers=room.teacher.headers
    )
    assert comment.status_code == 201
    await deliver_events(app)
    assert await count_rows(app, Notification) == 0
