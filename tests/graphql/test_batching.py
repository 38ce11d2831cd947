"""Dataloaders: a page of courses with instructors, modules, lessons and the caller's flags
costs the same statements whatever its size."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from studyhall.identity.models import Role
from tests.factories import (
    Actor,
    AppFactory,
    add_co_instructor,
    client_for,
    complete_directly,
    course_lessons,
    create_course,
    create_lesson,
    create_module,
    create_user,
    enroll_directly,
    graphql,
    graphql_data,
)
from tests.statements import count_wire_statements, queries

PAGE_SIZES = (1, 50)

CATALOG_PAGE = """
query($limit: Int) {
  courses(limit: $limit) {
    total
    items {
      id title isEnrolled progressPercent lessonCount enrollmentCount
      instructors { id fullName email }
      modules { id title lessons { id isCompleted } }
      lessons { id title isCompleted }
    }
  }
}
"""

MY_COURSES = """
query($limit: Int) {
  myEnrollments(limit: $limit) {
    items { id progressPercent course { id isEnrolled instructors { id } lessons { id isCompleted } } }
  }
}
"""


@pytest.fixture
async def app(make_app: AppFactory) -> FastAPI:
    """Without the catalog cache, so that every page reads the database (with it, a cached
    page costs one statement less, whatever its size too)."""
    return await make_app(cache_ttl_seconds=0)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as http:
        yield http


@pytest.fixture
async def student(app: FastAPI) -> Actor:
    """Enrolled in 50 courses, each with two instructors, a module and two lessons, one done."""
    owner = await create_user(app, Role.INSTRUCTOR)
    helper = await create_user(app, Role.INSTRUCTOR)
    learner = await create_user(app)
    for _ in range(max(PAGE_SIZES)):
        course = await create_course(app, owner, lessons=1)
        await add_co_instructor(app, course, helper)
        module = await create_module(app, course)
        await create_lesson(app, course, module_id=module.id)
        await enroll_directly(app, learner, course)
        await complete_directly(app, learner, (await course_lessons(app, course))[0])
    return learner


async def statements_for(
    app: FastAPI, client: httpx.AsyncClient, query: str, limit: int, actor: Actor | None
) -> tuple[list[str], dict[str, object]]:
    """What one run of `query` sends to the database, after a first run (asyncpg looks up
    the array types on a connection's first use of them)."""
    await graphql(client, query, {"limit": limit}, actor=actor)
    async with count_wire_statements(app) as statements:
        body = await graphql(client, query, {"limit": limit}, actor=actor)
    return statements, graphql_data(body)


@pytest.mark.parametrize("signed_in", [True, False], ids=["student", "anonymous"])
async def test_a_catalog_page_costs_the_same_statements_whatever_its_size(
    app: FastAPI, client: httpx.AsyncClient, student: Actor, signed_in: bool
) -> None:
    caller = student if signed_in else None
    counted = {}
    for size in PAGE_SIZES:
        statements, data = await statements_for(app, client, CATALOG_PAGE, size, caller)
        items = data["courses"]["items"]  # type: ignore[index]
        assert len(items) == size
        assert all(len(item["instructors"]) == 2 and len(item["lessons"]) == 2 for item in items)
        assert all(item["isEnrolled"] is signed_in for item in items)
        assert all(item["modules"][0]["lessons"][0]["isCompleted"] is False for item in items)
        counted[size] = statements
    assert len(counted[1]) == len(counted[50])
    # The token's session check, the page, the caller's progress (REST's page adds it) and
    # completions, the instructors, the modules and the lessons; anonymous: no token, no flags.
    assert len(queries(counted[50])) == (7 if signed_in else 4)


async def test_a_page_of_my_courses_costs_the_same_statements_whatever_its_size(
    app: FastAPI, client: httpx.AsyncClient, student: Actor
) -> None:
    counted = {}
    for size in PAGE_SIZES:
        statements, data = await statements_for(app, client, MY_COURSES, size, student)
        items = data["myEnrollments"]["items"]  # type: ignore[index]
        assert len(items) == size
        assert all(item["course"]["isEnrolled"] and item["progressPercent"] == 50.0 for item in items)
        counted[size] = statements
    assert len(counted[1]) == len(counted[50])
