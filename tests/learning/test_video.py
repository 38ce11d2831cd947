"""Video heartbeats: one upsert, validation, the 90 % completion threshold."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, select

from studyhall.catalog.access import lesson_access
from studyhall.core.clock import utcnow
from studyhall.identity.models import Role
from studyhall.learning import service
from studyhall.learning.models import VideoPosition
from tests.factories import (
    API,
    Actor,
    assert_problem,
    completion_count,
    course_lessons,
    create_course,
    create_user,
    enroll,
    enrollment_row,
    events,
)


async def put_position(
    client: httpx.AsyncClient, actor: Actor, lesson_id: object, position: object, duration: object
) -> httpx.Response:
    return await client.put(
        f"{API}/lessons/{lesson_id}/position",
        headers=actor.headers,
        json={"position_seconds": position, "duration_seconds": duration},
    )


async def stored_positions(app: FastAPI) -> list[tuple[float, float]]:
    async with app.state.database.sessionmaker() as session:
        rows = await session.execute(select(VideoPosition.position_seconds, VideoPosition.duration_seconds))
        return [(float(p), float(d)) for p, d in rows.all()]


async def test_heartbeat_saves_and_resumes(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, owner, lessons=2, lesson_type="video")
    lesson = (await course_lessons(app, course))[0]
    await enroll(client, student, course)

    first = await put_position(client, student, lesson.id, 30, 600)
    second = await put_position(client, student, lesson.id, 120.5, 600)

    assert first.status_code == second.status_code == 200
    body = second.json()
    assert body["lesson_id"] == str(lesson.id)
    assert body["position_seconds"] == 120.5
    assert body["duration_seconds"] == 600
    assert body["is_completed"] is False
    assert await stored_positions(app) == [(120.5, 600.0)]
    assert await completion_count(app, student, course) == 0
    progress = (await client.get(f"{API}/courses/{course.id}/progress", headers=student.headers)).json()
    assert progress["lessons"][0]["position_seconds"] == 120.5
    assert progress["completed_lessons"] == 0
    row = await enrollment_row(app, student, course)
    assert row is not None
    assert row.last_activity_at is not None


async def test_ninety_percent_completes_the_lesson(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, owner, lessons=1, lesson_type="video")
    lesson = (await course_lessons(app, course))[0]
    await enroll(client, student, course)

    below = await put_position(client, student, lesson.id, 539.9, 600)
    assert below.json()["is_completed"] is False
    assert await completion_count(app, student, course) == 0

    reached = await put_position(client, student, lesson.id, 540, 600)
    assert reached.json()["is_completed"] is True
    assert await completion_count(app, student, course) == 1
    row = await enrollment_row(app, student, course)
    assert row is not None
    assert row.completed_at is not None
    assert len(await events(app, "course.completed")) == 1

    # Later heartbeats (even rewinding) keep the completion and emit nothing more.
    again = await put_position(client, student, lesson.id, 10, 600)
    assert again.json()["is_completed"] is True
    await put_position(client, student, lesson.id, 600, 600)
    assert len(await events(app, "course.completed")) == 1


@pytest.mark.parametrize(
    ("position", "duration"),
    [(-1, 600), (601, 600), (0, 0), (10, -5), ("x", 600), (None, 600), (1, 10**9)],
)
async def test_invalid_positions_are_422(
    app: FastAPI, client: httpx.AsyncClient, position: object, duration: object
) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, owner, lessons=1, lesson_type="video")
    lesson = (await course_lessons(app, course))[0]
    await enroll(client, student, course)

    response = await put_position(client, student, lesson.id, position, duration)

    body = assert_problem(response, 422, "validation_error")
    assert body["errors"]
    assert await stored_positions(app) == []


async def test_heartbeat_refusals(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    stranger = await create_user(app)
    course = await create_course(app, owner, lessons=1, lesson_type="video")
    text_course = await create_course(app, owner, lessons=1)
    lesson = (await course_lessons(app, course))[0]
    text_lesson = (await course_lessons(app, text_course))[0]
    await enroll(client, student, course)
    await enroll(client, student, text_course)

    assert_problem(await put_position(client, student, text_lesson.id, 1, 10), 409, "lesson_not_video")
    assert_problem(await put_position(client, stranger, lesson.id, 1, 10), 403, "not_enrolled")
    assert_problem(await put_position(client, student, course.id, 1, 10), 404, "lesson_not_found")
    response = await client.put(
        f"{API}/lessons/{lesson.id}/position", json={"position_seconds": 1, "duration_seconds": 10}
    )
    assert_problem(response, 401, "not_authenticated")
    assert await stored_positions(app) == []


async def test_heartbeats_refresh_last_activity_at_most_once_a_minute(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, owner, lessons=1, lesson_type="video")
    lesson = (await course_lessons(app, course))[0]
    await enroll(client, student, course)
    start = utcnow().replace(microsecond=0)

    async def beat(at_seconds: int, position: float) -> None:
        async with app.state.database.sessionmaker() as session, session.begin():
            access = await lesson_access(session, student.user, lesson.id)
            await service.save_video_position(
                session, student.user, access, position, 600, now=start + timedelta(seconds=at_seconds)
            )

    await beat(0, 10)
    await beat(30, 20)
    row = await enrollment_row(app, student, course)
    assert row is not None
    assert row.last_activity_at == start
    await beat(61, 30)
    row = await enrollment_row(app, student, course)
    assert row is not None
    assert row.last_activity_at == start + timedelta(seconds=61)
    assert await stored_positions(app) == [(30.0, 600.0)]


async def test_a_heartbeat_is_one_small_write(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, owner, lessons=1, lesson_type="video")
    lesson = (await course_lessons(app, course))[0]
    await enroll(client, student, course)
    await put_position(client, student, lesson.id, 5, 600)  # first activity stamps the enrollment
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement.lstrip().split()[0].upper())

    engine = app.state.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        response = await put_position(client, student, lesson.id, 50, 600)
    finally:
        event.remove(engine, "before_cursor_execute", record)

    assert response.status_code == 200
    # The `video.watched` outbox row, then the position's upsert.
    assert [s for s in statements if s in {"INSERT", "UPDATE", "DELETE"}] == ["INSERT", "INSERT"]
    assert await completion_count(app, student, course) == 0
