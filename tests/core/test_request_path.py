"""The request path every route shares stays cheap: no dependency runs in a worker thread,
`CurrentUser` is one flat layer, responses are serialised from the route's own model without
a second validation, and SQLite serves a process through one connection."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi._compat import ModelField
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, _iter_routes_with_context
from sqlalchemy import func, select

from studyhall.identity.deps import get_current_user
from studyhall.identity.models import Role
from studyhall.learning.models import LessonCompletion
from tests.factories import API, course_lessons, create_course, create_user, enroll

HOT_PATHS = {
    "/api/v1/auth/me",
    "/api/v1/courses",
    "/api/v1/courses/{course_id}",
    "/api/v1/lessons/{lesson_id}",
    "/api/v1/lessons/{lesson_id}/complete",
    "/api/v1/lessons/{lesson_id}/position",
}


def api_routes(app: FastAPI) -> Iterator[tuple[str, APIRoute]]:
    for route, context in _iter_routes_with_context(app.routes):
        if isinstance(route, APIRoute):
            yield (context.path if context is not None else route.path), route


def dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from dependencies(sub)


def runs_on_the_event_loop(call: Any) -> bool:
    function = call if inspect.isfunction(call) or inspect.ismethod(call) else type(call).__call__
    return inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function)


def test_no_dependency_of_a_hot_learning_or_identity_route_runs_in_a_worker_thread(app: FastAPI) -> None:
    """FastAPI runs a plain `def` dependency in a worker thread: a thread hop per call."""
    checked, threaded = set(), set()
    for path, route in api_routes(app):
        module = route.endpoint.__module__
        if path not in HOT_PATHS and module not in ("studyhall.learning.router", "studyhall.identity.router"):
            continue
        checked.add(path)
        for dependency in dependencies(route.dependant):
            if dependency.call is None or runs_on_the_event_loop(dependency.call):
                continue
            if path == "/api/v1/auth/token":  # the OAuth2 password form is a class FastAPI builds
                continue
            threaded.add((path, getattr(dependency.call, "__qualname__", repr(dependency.call))))
    assert checked >= HOT_PATHS
    assert threaded == set()


def test_current_user_needs_only_the_session_and_the_bearer_token(app: FastAPI) -> None:
    route = next(route for path, route in api_routes(app) if path == "/api/v1/auth/me")
    (current_user,) = route.dependant.dependencies
    assert current_user.call is get_current_user
    below = current_user.dependencies
    assert len(below) == 2, [dependency.call for dependency in below]  # the session, the token
    assert [sub for dependency in below for sub in dependency.dependencies] == []  # no deeper layers


@pytest.fixture
def response_validations(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """(model, whether FastAPI passed the route's value through unchanged) per response."""
    seen: list[tuple[str, bool]] = []
    validate = ModelField.validate

    def recording(self: ModelField, value: Any, *args: Any, **kwargs: Any) -> Any:
        result = validate(self, value, *args, **kwargs)
        if kwargs.get("loc") == ("response",):
            seen.append((type(value).__name__, result[0] is value))
        return result

    monkeypatch.setattr(ModelField, "validate", recording)
    return seen


async def test_hot_routes_return_their_model_and_are_not_validated_again(
    app: FastAPI, client: httpx.AsyncClient, response_validations: list[tuple[str, bool]]
) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, owner, lessons=2, lesson_type="video")
    lesson = (await course_lessons(app, course))[0]
    await enroll(client, student, course)
    response_validations.clear()

    responses = [
        await client.get(f"{API}/auth/me", headers=student.headers),
        await client.post(f"{API}/lessons/{lesson.id}/complete", headers=student.headers),
        await client.put(
            f"{API}/lessons/{lesson.id}/position",
            headers=student.headers,
            json={"position_seconds": 10, "duration_seconds": 600},
        ),
        await client.get(f"{API}/enrollments/me", headers=student.headers),
        await client.get(f"{API}/me/continue", headers=student.headers),
        await client.get(f"{API}/auth/sessions", headers=student.headers),
    ]

    assert [response.status_code for response in responses] == [200] * 6
    assert response_validations == [
        ("UserRead", True),
        ("CompletionRead", True),
        ("PositionRead", True),
        ("Page[MyEnrollmentRead]", True),
        ("Page[ContinueItem]", True),
        ("Page[SessionRead]", True),
    ]
    assert responses[3].json()["items"][0]["course"]["id"] == str(course.id)


@pytest.mark.sqlite_only
async def test_sqlite_serves_a_process_through_one_connection_in_turn(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Every transaction takes SQLite's write lock up front: requests queue for the one
    connection instead of polling for the lock, and concurrent writes all succeed."""
    owner = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, owner, lessons=3)
    lessons = await course_lessons(app, course)
    students = [await create_user(app) for _ in range(8)]
    for student in students:
        await enroll(client, student, course)

    responses = await asyncio.gather(
        *(
            client.post(f"{API}/lessons/{lesson.id}/complete", headers=student.headers)
            for student in students
            for lesson in lessons
        )
    )

    assert app.state.database.engine.pool.size() == 1
    assert [response.status_code for response in responses] == [200] * len(students) * len(lessons)
    assert {response.json()["completed_lessons"] for response in responses} <= {1, 2, 3}
    async with app.state.database.sessionmaker() as session:
        completions = await session.scalar(select(func.count()).select_from(LessonCompletion))
    assert completions == len(students) * len(lessons)
