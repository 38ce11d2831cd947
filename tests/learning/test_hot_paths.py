"""The hot learning writes and `/auth/me` send the fewest statements the work allows: the
caller and their session in one SELECT, the lesson with its course, instructors and the
caller's enrollment in one more, then only the writes (no pre-ping, no second lookups)."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update

from studyhall.catalog.access import CourseRole, lesson_access
from studyhall.catalog.models import CourseInstructor
from studyhall.core.db import utcnow
from studyhall.identity.models import Role
from studyhall.learning.models import Enrollment, VideoPosition
from tests.factories import (
    API,
    Actor,
    complete,
    completion_count,
    course_lessons,
    create_course,
    create_user,
    enroll,
    enrollment_row,
)
from tests.statements import count_wire_statements, kinds, queries


async def add_instructor(app: FastAPI, course_id: object, instructor: Actor) -> None:
    async with app.state.database.sessionmaker() as session, session.begin():
        session.add(CourseInstructor(course_id=course_id, user_id=instructor.user.id))


async def test_auth_me_is_one_select_without_a_transaction(app: FastAPI, client: httpx.AsyncClient) -> None:
    student = await create_user(app)
    await client.get(f"{API}/auth/me", headers=student.headers)  # a pooled connection

    async with count_wire_statements(app) as statements:
        response = await client.get(f"{API}/auth/me", headers=student.headers)

    assert response.status_code == 200
    assert response.json()["id"] == student.id
    assert kinds(statements) == {"SELECT": 1}, statements
    assert "auth_sessions" in queries(statements)[0]


async def test_a_first_completion_is_seven_statements(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, owner, lessons=3)
    lessons = await course_lessons(app, course)
    await enroll(client, student, course)
    await complete(client, student, lessons[0])

    async with count_wire_statements(app) as statements:
        response = await complete(client, student, lessons[1])

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["completed_lessons"], body["total_lessons"], body["is_completed"]) == (2, 3, True)
    assert body["completed_at"] is None
    # user + session; lesson + course + instructors + enrollment; lock; insert; the
    # `lesson.completed` outbox row; count; stamp.
    assert kinds(statements) == {"BEGIN": 1, "SELECT": 4, "INSERT": 2, "UPDATE": 1, "COMMIT": 1}, statements
    user_lookup, lesson_lookup, *_ = queries(statements)
    assert "auth_sessions" in user_lookup
    for table in ("course_instructors", "enrollments", "lesson_completions"):
        assert table in lesson_lookup
    assert await completion_count(app, student, course) == 2
    row = await enrollment_row(app, student, course)
    assert row is not None
    assert row.last_activity_at is not None
    assert row.completed_at is None


async def test_a_heartbeat_is_six_statements(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, owner, lessons=1, lesson_type="video")
    lesson = (await course_lessons(app, course))[0]
    await enroll(client, student, course)
    url = f"{API}/lessons/{lesson.id}/position"
    await client.put(url, headers=student.headers, json={"position_seconds": 5, "duration_seconds": 600})

    async with count_wire_statements(app) as statements:
        response = await client.put(
            url, headers=student.headers, json={"position_seconds": 50, "duration_seconds": 600}
        )

    assert response.status_code == 200, response.text
    assert response.json()["position_seconds"] == 50
    # user + session; lesson + course + instructors + enrollment + completion; the video's
    # measured duration (by primary key); the previous position (by primary key); the
    # `video.watched` outbox row; the upsert.
    assert kinds(statements) == {"BEGIN": 1, "SELECT": 4, "INSERT": 2, "COMMIT": 1}, statements
    assert "lesson_videos" in queries(statements)[2]
    assert "video_positions" in queries(statements)[3]
    async with app.state.database.sessionmaker() as session:
        position = await session.scalar(select(VideoPosition.position_seconds))
    assert position == 50


async def test_a_heartbeat_after_a_minute_also_stamps_the_enrollment(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, owner, lessons=1, lesson_type="video")
    lesson = (await course_lessons(app, course))[0]
    await enroll(client, student, course)
    an_hour_ago = utcnow() - timedelta(hours=1)
    async with app.state.database.sessionmaker() as session, session.begin():
        await session.execute(update(Enrollment).values(last_activity_at=an_hour_ago))

    async with count_wire_statements(app) as statements:
        response = await client.put(
            f"{API}/lessons/{lesson.id}/position",
            headers=student.headers,
            json={"position_seconds": 50, "duration_seconds": 600},
        )

    assert response.status_code == 200, response.text
    # The first heartbeat: nothing watched yet, so no `video.watched`.
    assert kinds(statements) == {"BEGIN": 1, "SELECT": 4, "INSERT": 1, "UPDATE": 1, "COMMIT": 1}, statements
    row = await enrollment_row(app, student, course)
    assert row is not None
    assert row.last_activity_at is not None and row.last_activity_at > an_hour_ago


async def test_the_lesson_lookup_reads_every_instructor_and_the_callers_enrollment(app: FastAPI) -> None:
    """One row per instructor comes back; the role and the enrollment are decided as before."""
    owner = await create_user(app, Role.INSTRUCTOR)
    first, second = await create_user(app, Role.INSTRUCTOR), await create_user(app, Role.INSTRUCTOR)
    student, viewer = await create_user(app), await create_user(app)
    admin = await create_user(app, Role.ADMIN)
    course = await create_course(app, owner, lessons=2)
    lesson, other = await course_lessons(app, course)
    for instructor in (first, second):
        await add_instructor(app, course.id, instructor)
    async with app.state.database.sessionmaker() as session, session.begin():
        for learner in (student, admin):  # an admin may be enrolled too: staff all the same
            session.add(Enrollment(user_id=learner.user.id, course_id=course.id))
    async with app.state.database.sessionmaker() as session, session.begin():
        access = await lesson_access(session, student.user, lesson.id)
        from studyhall.learning import service

        await service.complete_lesson(session, student.user, access)

    async with app.state.database.sessionmaker() as session:
        found = {
            name: await lesson_access(session, actor.user, lesson_id)
            for name, actor, lesson_id in (
                ("owner", owner, lesson.id),
                ("first", first, lesson.id),
                ("second", second, lesson.id),
                ("student", student, lesson.id),
                ("student, other lesson", student, other.id),
                ("viewer", viewer, lesson.id),
                ("admin", admin, lesson.id),
            )
        }
        anonymous = await lesson_access(session, None, lesson.id)

    assert {name: access.course.role for name, access in found.items()} == {
        "owner": CourseRole.STAFF,
        "first": CourseRole.STAFF,
        "second": CourseRole.STAFF,
        "student": CourseRole.STUDENT,
        "student, other lesson": CourseRole.STUDENT,
        "viewer": CourseRole.VIEWER,
        "admin": CourseRole.STAFF,
    }
    assert found["owner"].course.context.instructor_ids == {first.user.id, second.user.id}
    assert {name for name, access in found.items() if access.enrollment is not None} == {
        "student",
        "student, other lesson",
        "admin",
    }
    assert {name for name, access in found.items() if access.lesson_completed} == {"student"}
    assert (anonymous.course.role, anonymous.enrollment, anonymous.lesson_completed) == (
        CourseRole.VIEWER,
        None,
        False,
    )
