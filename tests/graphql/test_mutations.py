"""GraphQL mutations change what their REST twins change and emit the same outbox events;
a failed one changes nothing, and its error carries the REST code."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from studyhall.community.models import Post
from studyhall.identity.models import Role
from studyhall.learning.models import Enrollment, LessonCompletion
from studyhall.notifications.models import Notification
from tests.factories import (
    API,
    Actor,
    AppFactory,
    assert_graphql_error,
    client_for,
    count_rows,
    course_lessons,
    create_course,
    create_notification,
    create_user,
    enroll_directly,
    enrollment_row,
    fresh_row,
    graphql,
    graphql_data,
    outbox_events,
)

ENROLL = """
mutation($courseId: ID!) {
  enroll(courseId: $courseId) {
    id courseId status completedLessons totalLessons progressPercent course { id isEnrolled }
  }
}
"""
COMPLETE = """
mutation($lessonId: ID!) {
  completeLesson(lessonId: $lessonId) {
    courseId lessonId isCompleted completedLessons totalLessons progressPercent completedAt
  }
}
"""
CREATE_POST = """
mutation($input: PostInput!) {
  createPost(input: $input) { id title body bodyHtml kind courseId authorId author { id } }
}
"""
MARK_READ = "mutation($id: ID!) { markNotificationRead(id: $id) { id readAt } }"


async def new_events(app: FastAPI, action: Callable[[], Awaitable[Any]]) -> list[tuple[str, dict[str, Any]]]:
    """The outbox events `action` added."""
    before = len(await outbox_events(app))
    await action()
    return (await outbox_events(app))[before:]


def shapes(events: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, list[str]]]:
    """Event types with their payload keys: what must be the same whichever API ran it."""
    return [(event_type, sorted(payload)) for event_type, payload in events]


# -- enroll -------------------------------------------------------------------------------


async def test_enroll_writes_and_emits_what_rest_does(app: FastAPI, client: httpx.AsyncClient) -> None:
    teacher = await create_user(app, Role.INSTRUCTOR)
    by_rest, by_graphql = await create_user(app), await create_user(app)
    course = await create_course(app, teacher, lessons=2)

    async def enroll_by_rest() -> None:
        response = await client.post(f"{API}/courses/{course.id}/enroll", headers=by_rest.headers)
        assert response.status_code == 201

    body: dict[str, Any] = {}

    async def enroll_by_graphql() -> None:
        body.update(await graphql(client, ENROLL, {"courseId": str(course.id)}, actor=by_graphql))

    rest_events = await new_events(app, enroll_by_rest)
    graphql_events = await new_events(app, enroll_by_graphql)
    assert (
        shapes(graphql_events)
        == shapes(rest_events)
        == [("enrollment.created", ["course_id", "enrollment_id", "user_id"])]
    )
    enrollment = await enrollment_row(app, by_graphql, course)
    assert enrollment is not None and enrollment.status == "active"
    assert graphql_events[0][1] == {
        "enrollment_id": str(enrollment.id),
        "course_id": str(course.id),
        "user_id": by_graphql.id,
    }
    assert graphql_data(body)["enroll"] == {
        "id": str(enrollment.id),
        "courseId": str(course.id),
        "status": "active",
        "completedLessons": 0,
        "totalLessons": 2,
        "progressPercent": 0.0,
        "course": {"id": str(course.id), "isEnrolled": True},
    }
    assert (await fresh_row(app, type(course), course.id)).enrollment_count == 2


async def test_enroll_refusals_carry_rest_codes_and_change_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    teacher = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    open_course = await create_course(app, teacher, lessons=1)
    draft = await create_course(app, teacher, lessons=1, status="draft")
    paid = await create_course(app, teacher, lessons=1, price_cents=1000)
    await enroll_directly(app, student, open_course)

    for caller, course_id, code in (
        (student, str(open_course.id), "already_enrolled"),
        (student, str(draft.id), "course_not_found"),  # a draft is invisible to students
        (teacher, str(draft.id), "course_not_published"),  # its staff see it
        (student, str(paid.id), "payment_required"),
        (student, str(uuid.uuid4()), "course_not_found"),
        (student, "not-an-id", "validation_error"),
        (None, str(open_course.id), "unauthenticated"),
    ):
        before = await outbox_events(app)
        rows = await count_rows(app, Enrollment)
        body = await graphql(client, ENROLL, {"courseId": course_id}, actor=caller)
        assert_graphql_error(body, code, ["enroll"])
        assert body["data"] is None
        assert await outbox_events(app) == before
        assert await count_rows(app, Enrollment) == rows
        if caller is not None and code != "validation_error":
            response = await client.post(f"{API}/courses/{course_id}/enroll", headers=caller.headers)
            assert response.json()["code"] == code


async def test_a_failed_mutation_keeps_the_ones_before_it(app: FastAPI, client: httpx.AsyncClient) -> None:
    """Each mutation field runs in a savepoint: the first enrollment stays, the second (a
    duplicate) leaves neither a row nor an event."""
    teacher = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, teacher, lessons=1)
    twice = "mutation($c: ID!) { first: enroll(courseId: $c) { id } second: enroll(courseId: $c) { id } }"
    body = await graphql(client, twice, {"c": str(course.id)}, actor=student)
    assert_graphql_error(body, "already_enrolled", ["second"])
    enrollment = await enrollment_row(app, student, course)
    assert enrollment is not None
    # `enroll` is non-null, so the failure nulls `data` (GraphQL's rule); the first still happened.
    assert body["data"] is None
    assert await count_rows(app, Enrollment) == 1
    assert [event_type for event_type, _ in await outbox_events(app)] == ["enrollment.created"]
    assert (await fresh_row(app, type(course), course.id)).enrollment_count == 1


# -- completeLesson -----------------------------------------------------------------------


async def test_complete_lesson_emits_course_completed_like_rest(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    teacher = await create_user(app, Role.INSTRUCTOR)
    by_rest, by_graphql = await create_user(app), await create_user(app)
    course = await create_course(app, teacher, lessons=2)
    first, last = await course_lessons(app, course)
    for student in (by_rest, by_graphql):
        await enroll_directly(app, student, course)

    async def complete_by_rest(lesson_id: uuid.UUID) -> None:
        response = await client.post(f"{API}/lessons/{lesson_id}/complete", headers=by_rest.headers)
        assert response.status_code == 200

    answers: list[dict[str, Any]] = []

    async def complete_by_graphql(lesson_id: uuid.UUID) -> None:
        body = await graphql(client, COMPLETE, {"lessonId": str(lesson_id)}, actor=by_graphql)
        answers.append(graphql_data(body)["completeLesson"])

    for lesson in (first, last, last):  # the last one twice: idempotent, one event
        rest_events = await new_events(app, lambda lesson=lesson: complete_by_rest(lesson.id))
        graphql_events = await new_events(app, lambda lesson=lesson: complete_by_graphql(lesson.id))
        assert shapes(graphql_events) == shapes(rest_events)
    events = await outbox_events(app)
    # Each student: a first completion of each lesson, then the course's completion, once.
    assert (
        sorted(event_type for event_type, _ in events) == ["course.completed"] * 2 + ["lesson.completed"] * 4
    )
    completed = [payload for event_type, payload in events if event_type == "course.completed"]
    assert sorted(payload["user_id"] for payload in completed) == sorted([by_rest.id, by_graphql.id])
    assert [(a["completedLessons"], a["progressPercent"], a["isCompleted"]) for a in answers] == [
        (1, 50.0, True),
        (2, 100.0, True),
        (2, 100.0, True),
    ]
    assert answers[0]["completedAt"] is None and answers[1]["completedAt"] is not None
    assert await count_rows(app, LessonCompletion, LessonCompletion.user_id == by_graphql.user.id) == 2
    enrollment = await enrollment_row(app, by_graphql, course)
    assert enrollment is not None and enrollment.completed_at is not None


async def test_complete_lesson_refusals_carry_rest_codes(app: FastAPI, client: httpx.AsyncClient) -> None:
    teacher = await create_user(app, Role.INSTRUCTOR)
    student, outsider = await create_user(app), await create_user(app)
    course = await create_course(app, teacher, lessons=1)
    quiz_course = await create_course(app, teacher, lessons=1, lesson_type="quiz")
    hidden = await create_course(app, teacher, lessons=1, status="draft")
    await enroll_directly(app, student, course)
    await enroll_directly(app, student, quiz_course)
    [lesson] = await course_lessons(app, course)
    [quiz_lesson] = await course_lessons(app, quiz_course)
    [hidden_lesson] = await course_lessons(app, hidden)

    for caller, lesson_id, code in (
        (outsider, str(lesson.id), "not_enrolled"),
        (student, str(quiz_lesson.id), "completed_by_activity"),
        (student, str(hidden_lesson.id), "lesson_not_found"),
        (student, str(uuid.uuid4()), "lesson_not_found"),
        (student, "x", "validation_error"),
        (None, str(lesson.id), "unauthenticated"),
    ):
        body = await graphql(client, COMPLETE, {"lessonId": lesson_id}, actor=caller)
        assert_graphql_error(body, code, ["completeLesson"])
        if caller is not None and code != "validation_error":
            response = await client.post(f"{API}/lessons/{lesson_id}/complete", headers=caller.headers)
            assert response.json()["code"] == code
    assert await count_rows(app, LessonCompletion) == 0
    assert await outbox_events(app) == []


# -- createPost ---------------------------------------------------------------------------


async def test_create_post_emits_what_rest_emits(app: FastAPI, client: httpx.AsyncClient) -> None:
    teacher = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, teacher, lessons=1)
    await enroll_directly(app, student, course)

    cases: list[tuple[Actor, dict[str, Any], list[str]]] = [
        (student, {"title": "Hello", "body": "*Hi*"}, ["post.created"]),
        (student, {"title": "Q", "body": "Why?", "course_id": str(course.id)}, ["post.created"]),
        (
            teacher,
            {"title": "Exam", "body": "Friday", "course_id": str(course.id), "kind": "announcement"},
            ["post.created", "announcement.posted"],
        ),
    ]
    for author, fields, expected in cases:
        before = len(await outbox_events(app))
        response = await client.post(f"{API}/posts", json=fields, headers=author.headers)
        assert response.status_code == 201, response.text
        after_rest = len(await outbox_events(app))
        graphql_input = {("courseId" if key == "course_id" else key): value for key, value in fields.items()}
        body = await graphql(client, CREATE_POST, {"input": graphql_input}, actor=author)
        found = graphql_data(body)["createPost"]
        events = await outbox_events(app)
        rest_events, graphql_events = events[before:after_rest], events[after_rest:]
        assert [event_type for event_type, _ in graphql_events] == expected
        assert shapes(graphql_events) == shapes(rest_events)
        post = await fresh_row(app, Post, found["id"])
        assert (post.title, post.author_id, post.kind) == (fields["title"], author.user.id, found["kind"])
        assert graphql_events[0][1]["post_id"] == found["id"]
        assert found["author"] == {"id": author.id} and found["authorId"] == author.id
    assert found["bodyHtml"].startswith("<p>")


async def test_create_post_refusals_carry_rest_codes(app: FastAPI, client: httpx.AsyncClient) -> None:
    teacher = await create_user(app, Role.INSTRUCTOR)
    student, outsider = await create_user(app), await create_user(app)
    course = await create_course(app, teacher, lessons=1)
    draft = await create_course(app, teacher, lessons=1, status="draft")
    await enroll_directly(app, student, course)

    for caller, fields, code in (
        (outsider, {"title": "Hi", "body": "x", "course_id": str(course.id)}, "not_enrolled"),
        (student, {"title": "Hi", "body": "x", "course_id": str(draft.id)}, "course_not_found"),
        (
            student,
            {"title": "Hi", "body": "x", "course_id": str(course.id), "kind": "announcement"},
            "announcement_staff_only",
        ),
        (teacher, {"title": "Hi", "body": "x", "kind": "announcement"}, "announcement_needs_course"),
        (student, {"title": " ", "body": "x"}, "validation_error"),
        (student, {"title": "Hi", "body": "x", "kind": "rant"}, "validation_error"),
        (None, {"title": "Hi", "body": "x"}, "unauthenticated"),
    ):
        graphql_input = {("courseId" if key == "course_id" else key): value for key, value in fields.items()}
        body = await graphql(client, CREATE_POST, {"input": graphql_input}, actor=caller)
        error = assert_graphql_error(body, code, ["createPost"])
        if caller is not None:
            response = await client.post(f"{API}/posts", json=fields, headers=caller.headers)
            assert response.json()["code"] == code
        if code == "validation_error":
            assert error["extensions"]["errors"][0]["loc"][0] == "input"
    assert await count_rows(app, Post) == 0
    assert await outbox_events(app) == []


@pytest.mark.sqlite_only
async def test_create_post_is_rate_limited_like_rest(make_app: AppFactory) -> None:
    app = await make_app(rate_limit_posts="2/minute")
    student = await create_user(app)
    async with client_for(app) as client:
        first = await graphql(client, CREATE_POST, {"input": {"title": "1", "body": "x"}}, actor=student)
        graphql_data(first)
        response = await client.post(
            f"{API}/posts", json={"title": "2", "body": "x"}, headers=student.headers
        )
        assert response.status_code == 201
        third = await graphql(client, CREATE_POST, {"input": {"title": "3", "body": "x"}}, actor=student)
        assert_graphql_error(third, "rate_limited", ["createPost"])
    assert await count_rows(app, Post) == 2


# -- markNotificationRead -----------------------------------------------------------------


async def test_mark_notification_read_marks_only_the_callers(app: FastAPI, client: httpx.AsyncClient) -> None:
    student, other = await create_user(app), await create_user(app)
    mine = await create_notification(app, student)
    by_rest = await create_notification(app, student)
    theirs = await create_notification(app, other)

    async def read_by_rest() -> None:
        response = await client.post(f"{API}/notifications/{by_rest.id}/read", headers=student.headers)
        assert response.status_code == 200

    answer: dict[str, Any] = {}

    async def read_by_graphql() -> None:
        answer.update(await graphql(client, MARK_READ, {"id": str(mine.id)}, actor=student))

    assert await new_events(app, read_by_rest) == await new_events(app, read_by_graphql) == []
    marked = await fresh_row(app, Notification, mine.id)
    assert marked.read_at is not None
    assert graphql_data(answer)["markNotificationRead"]["id"] == str(mine.id)
    again = graphql_data(await graphql(client, MARK_READ, {"id": str(mine.id)}, actor=student))
    assert again["markNotificationRead"]["readAt"] == answer["data"]["markNotificationRead"]["readAt"]

    refused = await graphql(client, MARK_READ, {"id": str(theirs.id)}, actor=student)
    assert_graphql_error(refused, "notification_not_found", ["markNotificationRead"])
    response = await client.post(f"{API}/notifications/{theirs.id}/read", headers=student.headers)
    assert response.json()["code"] == "notification_not_found"
    assert (await fresh_row(app, Notification, theirs.id)).read_at is None
    assert_graphql_error(
        await graphql(client, MARK_READ, {"id": str(mine.id)}), "unauthenticated", ["markNotificationRead"]
    )
    assert_graphql_error(
        await graphql(client, MARK_READ, {"id": "1"}, actor=student),
        "validation_error",
        ["markNotificationRead"],
    )
