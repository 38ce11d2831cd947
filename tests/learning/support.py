"""Shared helpers of the learning tests."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update

from studyhall.catalog.access import recount_lessons
from studyhall.catalog.models import Course, Lesson
from studyhall.core.clock import utcnow
from studyhall.core.events import OutboxEvent
from studyhall.learning.models import Enrollment, LessonCompletion
from tests.factories import Actor

API = "/api/v1"


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


async def enroll(client: httpx.AsyncClient, actor: Actor, course: Course) -> dict[str, Any]:
    response = await client.post(f"{API}/courses/{course.id}/enroll", headers=actor.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def complete(client: httpx.AsyncClient, actor: Actor, lesson: Lesson) -> httpx.Response:
    return await client.post(f"{API}/lessons/{lesson.id}/complete", headers=actor.headers)


async def events(app: FastAPI, event_type: str) -> list[dict[str, Any]]:
    async with app.state.database.sessionmaker() as session:
        rows = await session.scalars(
            select(OutboxEvent.payload)
            .where(OutboxEvent.event_type == event_type)
            .order_by(OutboxEvent.created_at)
        )
        return list(rows.all())


async def enrollment_row(app: FastAPI, actor: Actor, course: Course) -> Enrollment | None:
    async with app.state.database.sessionmaker() as session:
        enrollment: Enrollment | None = await session.scalar(
            select(Enrollment).where(Enrollment.user_id == actor.user.id, Enrollment.course_id == course.id)
        )
        return enrollment


async def completion_count(app: FastAPI, actor: Actor, course: Course) -> int:
    async with app.state.database.sessionmaker() as session:
        rows = await session.scalars(
            select(LessonCompletion.lesson_id).where(
                LessonCompletion.user_id == actor.user.id, LessonCompletion.course_id == course.id
            )
        )
        return len(rows.all())


async def course_row(app: FastAPI, course_id: uuid.UUID) -> Course:
    async with app.state.database.sessionmaker() as session:
        course = await session.get(Course, course_id)
        assert course is not None
        return course


async def soft_delete_lesson(app: FastAPI, lesson: Lesson, *, restore: bool = False) -> None:
    """What the catalog does on lesson delete/restore: flag the row, recount in SQL."""
    async with app.state.database.sessionmaker() as session, session.begin():
        await session.execute(
            update(Lesson).where(Lesson.id == lesson.id).values(deleted_at=None if restore else utcnow())
        )
        await recount_lessons(session, lesson.course_id)


async def set_course(app: FastAPI, course: Course, **values: object) -> None:
    async with app.state.database.sessionmaker() as session, session.begin():
        await session.execute(update(Course).where(Course.id == course.id).values(**values))
