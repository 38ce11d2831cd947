"""Exactness under real parallel connections (PostgreSQL: row locks, ON CONFLICT)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from studyhall.catalog.models import Course
from studyhall.identity.models import Role
from tests.factories import (
    API,
    complete,
    completion_count,
    course_lessons,
    create_course,
    create_user,
    enroll,
    enrollment_row,
    events,
    fresh_row,
)

pytestmark = pytest.mark.postgresql_only


async def test_hundred_concurrent_completions_end_exact(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, owner, lessons=100)
    lessons = await course_lessons(app, course)
    await enroll(client, student, course)

    responses = await asyncio.gather(*(complete(client, student, lesson) for lesson in lessons))

    assert [r.status_code for r in responses] == [200] * 100
    assert await completion_count(app, student, course) == 100
    assert max(r.json()["completed_lessons"] for r in responses) == 100
    # Each request counted after its own insert, under the enrollment lock: all distinct.
    assert sorted(r.json()["completed_lessons"] for r in responses) == list(range(1, 101))
    row = await enrollment_row(app, student, course)
    assert row is not None
    assert row.completed_at is not None
    assert len(await events(app, "course.completed")) == 1
    progress = (await client.get(f"{API}/courses/{course.id}/progress", headers=student.headers)).json()
    assert progress["progress_percent"] == 100.0


async def test_concurrent_duplicates_create_one_completion(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, owner, lessons=1)
    lesson = (await course_lessons(app, course))[0]
    await enroll(client, student, course)

    responses = await asyncio.gather(*(complete(client, student, lesson) for _ in range(30)))

    assert {r.status_code for r in responses} == {200}
    assert await completion_count(app, student, course) == 1
    assert len(await events(app, "course.completed")) == 1


async def test_concurrent_last_lessons_complete_each_course_once(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, owner, lessons=2)
    lessons = await course_lessons(app, course)
    students = [await create_user(app) for _ in range(8)]
    for student in students:
        await enroll(client, student, course)

    await asyncio.gather(*(complete(client, s, lesson) for s in students for lesson in lessons))

    completed = await events(app, "course.completed")
    assert sorted(e["user_id"] for e in completed) == sorted(s.id for s in students)
    for student in students:
        row = await enrollment_row(app, student, course)
        assert row is not None
        assert row.completed_at is not None


async def test_concurrent_enrollments_enroll_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, owner, lessons=1)

    responses = await asyncio.gather(
        *(client.post(f"{API}/courses/{course.id}/enroll", headers=student.headers) for _ in range(15))
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 14
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"already_enrolled"}
    assert (await fresh_row(app, Course, course.id)).enrollment_count == 1
    assert len(await events(app, "enrollment.created")) == 1

    # Concurrent re-enrollments after unenrolling re-activate the row once.
    await client.delete(f"{API}/courses/{course.id}/enroll", headers=student.headers)
    responses = await asyncio.gather(
        *(client.post(f"{API}/courses/{course.id}/enroll", headers=student.headers) for _ in range(10))
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * 9
    assert (await fresh_row(app, Course, course.id)).enrollment_count == 1


async def test_concurrent_enrollment_counter_is_exact(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, owner, lessons=1)
    students = [await create_user(app) for _ in range(25)]

    responses = await asyncio.gather(
        *(client.post(f"{API}/courses/{course.id}/enroll", headers=s.headers) for s in students)
    )

    assert {r.status_code for r in responses} == {201}
    assert (await fresh_row(app, Course, course.id)).enrollment_count == 25
