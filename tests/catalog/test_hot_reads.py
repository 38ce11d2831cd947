"""The catalog's hot reads are a fixed, small number of statements, whatever the size of what
they show: the lesson page is one statement after the caller's, a course detail three (four
for an enrolled student), a catalog page one (two for a signed-in caller); from the cache,
none but the caller's own."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from studyhall.config import Settings
from studyhall.identity.models import Role
from tests.catalog.test_catalog import count_statements
from tests.conftest import make_settings
from tests.factories import (
    API,
    complete_directly,
    course_lessons,
    create_course,
    create_user,
    enroll_directly,
)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """The cache off: every read below reaches the database."""
    return make_settings(database_url, tmp_path / "var", cache_ttl_seconds=0)


async def selects(app: FastAPI, client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> int:
    """SELECT statements one request runs (transaction control statements aside)."""
    with count_statements(app) as statements:
        response = await client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return sum(statement.lstrip().upper().startswith("SELECT") for statement in statements)


async def test_lesson_page_is_one_statement(app: FastAPI, client: httpx.AsyncClient) -> None:
    teacher = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, teacher, lessons=3)
    preview, lesson, _ = await course_lessons(app, course)
    async with app.state.database.sessionmaker() as session, session.begin():
        (await session.merge(preview)).is_preview = True
    student = await create_user(app)
    await enroll_directly(app, student, course)
    await complete_directly(app, student, lesson)
    assert await selects(app, client, f"{API}/lessons/{preview.id}", {}) == 1
    assert await selects(app, client, f"{API}/lessons/{lesson.id}", student.headers) == 2  # + the caller
    assert await selects(app, client, f"{API}/lessons/{lesson.id}", teacher.headers) == 2
    read = (await client.get(f"{API}/lessons/{lesson.id}", headers=student.headers)).json()
    assert (read["is_completed"], read["content_html"]) == (True, "<h1>Lesson 2</h1>\n<p>Body.</p>\n")
    assert (await client.get(f"{API}/lessons/{preview.id}", headers=student.headers)).json()[
        "is_completed"
    ] is False


@pytest.mark.parametrize("lessons", [2, 40])
async def test_course_detail_statements_do_not_grow_with_the_outline(
    app: FastAPI, client: httpx.AsyncClient, lessons: int
) -> None:
    teacher = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, teacher, lessons=lessons)
    student = await create_user(app)
    await enroll_directly(app, student, course)
    await complete_directly(app, student, (await course_lessons(app, course))[1])
    path = f"{API}/courses/{course.slug}"
    assert await selects(app, client, path, {}) == 3  # course, modules, lessons
    assert await selects(app, client, path, student.headers) == 5  # + the caller, their completions
    shown = (await client.get(path, headers=student.headers)).json()
    assert shown["is_enrolled"] is True
    assert shown["progress_percent"] == round(100 / lessons, 2)
    assert [lesson["is_completed"] for lesson in shown["lessons"]][:3] == [False, True, False][
        : min(3, lessons)
    ]


async def test_catalog_page_statements(app: FastAPI, client: httpx.AsyncClient) -> None:
    teacher = await create_user(app, Role.INSTRUCTOR)
    for _ in range(3):
        await create_course(app, teacher, lessons=1)
    student = await create_user(app)
    assert await selects(app, client, f"{API}/courses", {}) == 1  # the page, carrying the total
    assert await selects(app, client, f"{API}/courses", student.headers) == 3  # + the caller, their flags
    page = (await client.get(f"{API}/courses", params={"limit": 2, "offset": 1})).json()
    assert (len(page["items"]), page["total"]) == (2, 3)
    # Past the last page no row carries the total: a second statement counts.
    assert await selects(app, client, f"{API}/courses?offset=3", {}) == 2
    past = (await client.get(f"{API}/courses", params={"offset": 3})).json()
    assert (past["items"], past["total"], past["offset"]) == ([], 3, 3)
    empty = (await client.get(f"{API}/courses", params={"level": "advanced"})).json()
    assert (empty["items"], empty["total"]) == ([], 0)


async def test_a_cached_page_costs_only_the_callers_statements(database_url: str, tmp_path: Path) -> None:
    from studyhall.main import create_app
    from tests.conftest import empty_tables

    app = create_app(make_settings(database_url, tmp_path / "cached"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            try:
                teacher = await create_user(app, Role.INSTRUCTOR)
                course = await create_course(app, teacher, lessons=2)
                student = await create_user(app)
                for path in (f"{API}/courses", f"{API}/courses/{course.id}"):
                    await selects(app, client, path, {})  # stores the shared part
                    assert await selects(app, client, path, {}) == 0
                    assert await selects(app, client, path, student.headers) == 2  # caller, flags
            finally:
                await empty_tables(app.state.database.engine)
