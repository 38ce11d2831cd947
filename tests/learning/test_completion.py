"""Lesson completion, exact progress, completed_at and the course.completed event."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI

from studyhall.catalog.access import load_lesson
from studyhall.catalog.errors import NotEnrolled
from studyhall.identity.models import Role
from studyhall.learning.service import record_lesson_completion
from tests.factories import (
    API,
    assert_problem,
    complete,
    completion_count,
    course_lessons,
    create_course,
    create_lesson,
    create_user,
    enroll,
    enrollment_row,
    events,
    set_course,
    soft_delete_lesson,
)


async def test_complete_is_idempotent_and_returns_progress(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, owner, lessons=3)
    lessons = await course_lessons(app, course)
    await enroll(client, student, course)

    first = await complete(client, student, lessons[0])
    second = await complete(client, student, lessons[0])

    assert first.status_code == second.status_code == 200
    body = second.json()
    assert body["lesson_id"] == str(lessons[0].id)
    assert body["course_id"] == str(course.id)
    assert body["is_completed"] is True
    assert body["completed_lessons"] == 1
    assert body["total_lessons"] == 3
    assert body["progress_percent"] == 33.33
    assert body["completed_at"] is None
    assert await completion_count(app, student, course) == 1
    row = await enrollment_row(app, student, course)
    assert row is not None
    assert row.last_activity_at is not None


async def test_last_lesson_completes_the_course_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, owner, lessons=2)
    lessons = await course_lessons(app, course)
    enrollment = await enroll(client, student, course)
    await complete(client, student, lessons[0])

    done = (await complete(client, student, lessons[1])).json()

    assert done["progress_percent"] == 100.0
    assert done["completed_at"] is not None
    row = await enrollment_row(app, student, course)
    assert row is not None
    assert row.completed_at is not None
    assert row.completion_emitted_at == row.completed_at
    assert await events(app, "course.completed") == [
        {
            "enrollment_id": enrollment["id"],
            "course_id": str(course.id),
            "user_id": student.id,
            "completed_at": row.completed_at.isoformat().replace("+00:00", "Z"),
        }
    ]

    # Un-marking clears completed_at; completing again sets it but emits nothing more.
    undone = await client.delete(f"{API}/lessons/{lessons[1].id}/complete", headers=student.headers)
    assert undone.status_code == 200
    assert undone.json()["completed_at"] is None
    assert undone.json()["is_completed"] is False
    assert undone.json()["completed_lessons"] == 1
    row = await enrollment_row(app, student, course)
    assert row is not None
    assert row.completed_at is None
    assert row.completion_emitted_at is not None

    again = (await complete(client, student, lessons[1])).json()
    assert again["completed_at"] is not None
    assert len(await events(app, "course.completed")) == 1
    # Completing an already completed lesson of a completed course changes nothing either.
    await complete(client, student, lessons[0])
    assert len(await events(app, "course.completed")) == 1


async def test_uncomplete_is_idempotent(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, owner, lessons=2)
    lessons = await course_lessons(app, course)
    await enroll(client, student, course)
    response = await client.delete(f"{API}/lessons/{lessons[0].id}/complete", headers=student.headers)
    assert response.status_code == 200
    assert response.json()["completed_lessons"] == 0
    assert await completion_count(app, student, course) == 0


async def test_progress_follows_lesson_add_delete_restore(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, owner, lessons=4)
    lessons = await course_lessons(app, course)
    await enroll(client, student, course)
    for lesson in lessons[:2]:
        await complete(client, student, lesson)

    async def progress() -> dict[str, object]:
        response = await client.get(f"{API}/courses/{course.id}/progress", headers=student.headers)
        assert response.status_code == 200
        body: dict[str, object] = response.json()
        return body

    assert (await progress())["progress_percent"] == 50.0

    added = await create_lesson(app, course)
    body = await progress()
    assert (body["completed_lessons"], body["total_lessons"]) == (2, 5)
    assert body["progress_percent"] == 40.0

    await soft_delete_lesson(app, lessons[0])  # a completed lesson goes away
    body = await progress()
    assert (body["completed_lessons"], body["total_lessons"]) == (1, 4)
    assert str(lessons[0].id) not in {entry["lesson_id"] for entry in body["lessons"]}  # type: ignore[attr-defined]

    await soft_delete_lesson(app, lessons[0], restore=True)
    body = await progress()
    assert (body["completed_lessons"], body["total_lessons"]) == (2, 5)

    mine = (await client.get(f"{API}/enrollments/me", headers=student.headers)).json()["items"][0]
    assert (mine["completed_lessons"], mine["total_lessons"]) == (2, 5)

    # Deleting the remaining uncompleted lessons leaves 2/2; completing any lesson again
    # notices the course is complete.
    for lesson in [*lessons[2:], added]:
        await soft_delete_lesson(app, lesson)
    body = await progress()
    assert body["progress_percent"] == 100.0
    assert body["completed_at"] is None
    assert (await complete(client, student, lessons[1])).json()["completed_at"] is not None
    assert len(await events(app, "course.completed")) == 1


async def test_progress_lists_every_lesson(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    stranger = await create_user(app)
    course = await create_course(app, owner, lessons=3)
    lessons = await course_lessons(app, course)
    await enroll(client, student, course)
    await complete(client, student, lessons[1])

    body = (await client.get(f"{API}/courses/{course.id}/progress", headers=student.headers)).json()

    assert [entry["lesson_id"] for entry in body["lessons"]] == [str(lesson.id) for lesson in lessons]
    assert [entry["is_completed"] for entry in body["lessons"]] == [False, True, False]
    assert body["lessons"][1]["completed_at"] is not None
    assert body["lessons"][0]["position_seconds"] is None
    assert body["course_id"] == str(course.id)
    assert_problem(
        await client.get(f"{API}/courses/{course.id}/progress", headers=stranger.headers), 403, "not_enrolled"
    )
    assert_problem(
        await client.get(f"{API}/courses/{uuid.uuid4()}/progress", headers=student.headers),
        404,
        "course_not_found",
    )
    assert_problem(await client.get(f"{API}/courses/{course.id}/progress"), 401, "not_authenticated")


async def test_completion_refused_outside_an_enrollment(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, owner, lessons=2)
    draft = await create_course(app, owner, status="draft", lessons=1)
    lessons = await course_lessons(app, course)
    draft_lesson = (await course_lessons(app, draft))[0]

    assert_problem(await complete(client, student, lessons[0]), 403, "not_enrolled")
    assert_problem(await complete(client, owner, lessons[0]), 403, "not_enrolled")
    assert_problem(await complete(client, student, draft_lesson), 404, "lesson_not_found")
    assert_problem(await complete(client, owner, draft_lesson), 409, "course_not_published")
    assert_problem(
        await client.post(f"{API}/lessons/{uuid.uuid4()}/complete", headers=student.headers),
        404,
        "lesson_not_found",
    )
    assert_problem(
        await client.delete(f"{API}/lessons/{lessons[0].id}/complete", headers=student.headers),
        403,
        "not_enrolled",
    )
    assert_problem(await client.post(f"{API}/lessons/{lessons[0].id}/complete"), 401, "not_authenticated")

    await enroll(client, student, course)
    await soft_delete_lesson(app, lessons[0])
    assert_problem(await complete(client, student, lessons[0]), 404, "lesson_not_found")
    await set_course(app, course, status="archived")
    assert_problem(await complete(client, student, lessons[1]), 404, "lesson_not_found")
    assert await completion_count(app, student, course) == 0


async def test_record_lesson_completion_for_other_domains(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    stranger = await create_user(app)
    course = await create_course(app, owner, lessons=1, lesson_type="quiz")
    lesson = (await course_lessons(app, course))[0]
    await enroll(client, student, course)

    async with app.state.database.sessionmaker() as session, session.begin():
        context = await load_lesson(session, lesson.id)
        await record_lesson_completion(session, student.user.id, context)
        await record_lesson_completion(session, student.user.id, context)

    assert await completion_count(app, student, course) == 1
    row = await enrollment_row(app, student, course)
    assert row is not None
    assert row.completed_at is not None
    assert len(await events(app, "course.completed")) == 1

    async with app.state.database.sessionmaker() as session:
        context = await load_lesson(session, lesson.id)
        with pytest.raises(NotEnrolled):
            await record_lesson_completion(session, stranger.user.id, context)
    assert await completion_count(app, stranger, course) == 0


@pytest.mark.parametrize("lesson_type", ["quiz", "assignment"])
async def test_activity_lessons_are_not_marked_by_hand(
    app: FastAPI, client: httpx.AsyncClient, lesson_type: str
) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, owner, lessons=1, lesson_type=lesson_type)
    lesson = (await course_lessons(app, course))[0]
    await enroll(client, student, course)

    body = assert_problem(await complete(client, student, lesson), 409, "completed_by_activity")
    assert body["type"].endswith("#completed_by_activity")
    position = await client.put(
        f"{API}/lessons/{lesson.id}/position",
        json={"position_seconds": 600, "duration_seconds": 600},
        headers=student.headers,
    )
    assert_problem(position, 409, "lesson_not_video")
    assert await completion_count(app, student, course) == 0
    row = await enrollment_row(app, student, course)
    assert row is not None
    assert row.completed_at is None
    assert await events(app, "course.completed") == []

    # Completed through its activity, it cannot be un-marked by hand either.
    async with app.state.database.sessionmaker() as session, session.begin():
        await record_lesson_completion(session, student.user.id, await load_lesson(session, lesson.id))
    undo = await client.delete(f"{API}/lessons/{lesson.id}/complete", headers=student.headers)
    assert_problem(undo, 409, "completed_by_activity")
    assert await completion_count(app, student, course) == 1
    row = await enrollment_row(app, student, course)
    assert row is not None
    assert row.completed_at is not None
