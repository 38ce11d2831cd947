"""A video lesson's `video` in lesson reads, and the heartbeat trusting the video's measured
duration over the player's."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from studyhall.catalog.models import Course, Lesson
from studyhall.identity.models import Role
from studyhall.learning.models import LessonCompletion, VideoPosition
from tests.factories import (
    API,
    Actor,
    assert_problem,
    count_rows,
    course_lessons,
    create_course,
    create_lesson,
    create_lesson_video,
    create_user,
    enroll_directly,
    fresh_row,
)
from tests.statements import count_wire_statements, kinds


async def video_course(app: FastAPI) -> tuple[Actor, Actor, Lesson]:
    owner, student = await create_user(app, Role.INSTRUCTOR), await create_user(app)
    course = await create_course(app, owner, lessons=1, lesson_type="video")
    await enroll_directly(app, student, course)
    return owner, student, (await course_lessons(app, course))[0]


# -- lesson reads --------------------------------------------------------------------------


async def test_lesson_reads_show_the_video(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner, student, lesson = await video_course(app)
    url = f"{API}/lessons/{lesson.id}"
    assert (await client.get(url, headers=student.headers)).json()["video"] is None  # no upload yet

    await create_lesson_video(
        app,
        lesson,
        status="ready",
        upload_id="up-1",
        asset_id="asset-1",
        playback_id="play-1",
        playback_policy="public",
        duration_seconds=61.5,
    )
    body = (await client.get(url, headers=student.headers)).json()
    video = body["video"]
    assert {
        key: video[key] for key in ("provider", "status", "asset_id", "playback_id", "duration_seconds")
    } == {
        "provider": "mux",
        "status": "ready",
        "asset_id": "asset-1",
        "playback_id": "play-1",
        "duration_seconds": 61.5,
    }
    assert video["error"] is None

    # An authoring route answers the lesson with its video too.
    edited = await client.patch(url, headers=owner.headers, json={"title": "Renamed"})
    assert edited.status_code == 200, edited.text
    assert edited.json()["video"]["asset_id"] == "asset-1"


async def test_a_video_lesson_page_is_one_more_query_and_a_text_lesson_none(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _owner, student, lesson = await video_course(app)
    text = await create_lesson(app, await _course_of(app, lesson), lesson_type="text")
    await create_lesson_video(app, lesson, status="processing")
    await client.get(f"{API}/lessons/{text.id}", headers=student.headers)  # a pooled connection

    async with count_wire_statements(app) as text_statements:
        text_page = await client.get(f"{API}/lessons/{text.id}", headers=student.headers)
    async with count_wire_statements(app) as video_statements:
        video_page = await client.get(f"{API}/lessons/{lesson.id}", headers=student.headers)

    assert (text_page.json()["video"], video_page.json()["video"]["status"]) == (None, "processing")
    assert kinds(text_statements) == {"SELECT": 2}, text_statements  # the caller; the lesson page
    assert kinds(video_statements) == {"SELECT": 3}, video_statements  # ... and its video
    assert "lesson_videos" in video_statements[-1]


async def _course_of(app: FastAPI, lesson: Lesson) -> Course:
    return await fresh_row(app, Course, lesson.course_id)


# -- the heartbeat -------------------------------------------------------------------------


async def send_position(
    client: httpx.AsyncClient, student: Actor, lesson: Lesson, position: float, duration: float
) -> httpx.Response:
    return await client.put(
        f"{API}/lessons/{lesson.id}/position",
        headers=student.headers,
        json={"position_seconds": position, "duration_seconds": duration},
    )


async def stored_position(app: FastAPI) -> tuple[float, float] | None:
    async with app.state.database.sessionmaker() as session:
        row = (
            await session.execute(select(VideoPosition.position_seconds, VideoPosition.duration_seconds))
        ).first()
    return (row[0], row[1]) if row else None


async def test_the_measured_duration_decides_completion(app: FastAPI, client: httpx.AsyncClient) -> None:
    _owner, student, lesson = await video_course(app)
    await create_lesson_video(
        app, lesson, status="ready", asset_id="a", playback_id="p", duration_seconds=600
    )

    # The player claims a short video: 100 s would be 90 % of it, not of the real 600 s.
    response = await send_position(client, student, lesson, 100, 110)
    assert response.status_code == 200, response.text
    assert (response.json()["duration_seconds"], response.json()["is_completed"]) == (600, False)
    assert await stored_position(app) == (100, 600)
    assert await count_rows(app, LessonCompletion) == 0

    # Claiming a longer video does not keep 540 s (90 % of 600) from completing it.
    response = await send_position(client, student, lesson, 540, 10_000)
    assert response.status_code == 200, response.text
    assert (response.json()["duration_seconds"], response.json()["is_completed"]) == (600, True)
    assert await count_rows(app, LessonCompletion) == 1


async def test_positions_past_the_measured_duration_are_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _owner, student, lesson = await video_course(app)
    await create_lesson_video(
        app, lesson, status="ready", asset_id="a", playback_id="p", duration_seconds=600
    )
    assert (await send_position(client, student, lesson, 30, 700)).status_code == 200

    body = assert_problem(await send_position(client, student, lesson, 650, 700), 422, "validation_error")
    assert body["errors"][0]["loc"] == ["body", "position_seconds"]
    assert await stored_position(app) == (30, 600)
    assert await count_rows(app, LessonCompletion) == 0

    # Within a second of the end (players round): accepted, and the end completes it.
    response = await send_position(client, student, lesson, 600.8, 601)
    assert response.status_code == 200, response.text
    assert response.json()["is_completed"] is True


@pytest.mark.parametrize(
    "video", [None, {"status": "processing"}, {"status": "ready", "duration_seconds": None}]
)
async def test_without_a_measured_duration_the_players_counts(
    app: FastAPI, client: httpx.AsyncClient, video: dict[str, object] | None
) -> None:
    _owner, student, lesson = await video_course(app)
    if video is not None:
        await create_lesson_video(app, lesson, **video)  # type: ignore[arg-type]

    response = await send_position(client, student, lesson, 99, 110)

    assert response.status_code == 200, response.text
    assert (response.json()["duration_seconds"], response.json()["is_completed"]) == (110, True)
    assert await stored_position(app) == (99, 110)
