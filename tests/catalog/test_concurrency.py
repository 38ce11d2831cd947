"""Races decided by the database: slugs, lesson order, versions."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from studyhall.identity.models import Role
from tests.factories import API, course_lessons, create_course, create_user


@pytest.mark.postgresql_only
async def test_concurrent_creations_get_distinct_slugs(app: FastAPI, client: httpx.AsyncClient) -> None:
    teacher = await create_user(app, Role.INSTRUCTOR)
    responses = await asyncio.gather(
        *(
            client.post(f"{API}/courses", json={"title": "Same Title"}, headers=teacher.headers)
            for _ in range(5)
        )
    )
    assert [r.status_code for r in responses] == [201] * 5
    slugs = sorted(r.json()["slug"] for r in responses)
    assert slugs == sorted(["same-title", "same-title-2", "same-title-3", "same-title-4", "same-title-5"])


@pytest.mark.postgresql_only
async def test_concurrent_lesson_inserts_keep_a_dense_order(app: FastAPI, client: httpx.AsyncClient) -> None:
    teacher = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, teacher, status="draft")
    responses = await asyncio.gather(
        *(
            client.post(
                f"{API}/courses/{course.id}/lessons",
                json={"title": f"L{n}", "type": "text"},
                headers=teacher.headers,
            )
            for n in range(6)
        )
    )
    assert [r.status_code for r in responses] == [201] * 6
    lessons = await course_lessons(app, course)
    assert [lesson.position for lesson in lessons] == list(range(6))
    detail = (await client.get(f"{API}/courses/{course.id}", headers=teacher.headers)).json()
    assert detail["lesson_count"] == 6


@pytest.mark.postgresql_only
async def test_concurrent_edits_get_distinct_versions(app: FastAPI, client: httpx.AsyncClient) -> None:
    teacher = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, teacher, lessons=1)
    (lesson,) = await course_lessons(app, course)
    responses = await asyncio.gather(
        *(
            client.patch(f"{API}/lessons/{lesson.id}", json={"content": f"edit {n}"}, headers=teacher.headers)
            for n in range(5)
        )
    )
    assert [r.status_code for r in responses] == [200] * 5
    assert sorted(r.json()["version"] for r in responses) == [2, 3, 4, 5, 6]
    versions = (await client.get(f"{API}/lessons/{lesson.id}/versions", headers=teacher.headers)).json()
    assert versions["total"] == 5  # the factory writes no row for version 1
