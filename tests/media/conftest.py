"""Media fixtures: a course whose files are attached the way the API attaches them (a file
lesson, a preview file lesson, an assignment, a submission, an avatar), and the people around
it; the Mux stub server, apps that use it, and a Mux signing key."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from joserfc.jwk import RSAKey

from studyhall.catalog.models import Course, CourseInstructor, Lesson
from studyhall.identity.models import Role
from studyhall.media.models import File
from tests.factories import (
    API,
    MUX_WEBHOOK_SECRET,
    Actor,
    AppFactory,
    client_for,
    create_course,
    create_file,
    create_lesson,
    create_user,
    enroll_directly,
)
from tests.mux_stub import TOKEN_ID, TOKEN_SECRET, MuxStub


@dataclass
class Campus:
    owner: Actor
    co_teacher: Actor
    enrolled: Actor
    classmate: Actor
    outsider: Actor
    admin: Actor
    course: Course
    lesson: Lesson
    preview_lesson: Lesson
    assignment: dict[str, Any]
    files: dict[str, File] = field(default_factory=dict)

    def callers(self) -> dict[str, dict[str, str]]:
        """Everyone's headers by name; `anonymous` sends none."""
        people = {
            name: getattr(self, name).headers
            for name in ("owner", "co_teacher", "enrolled", "classmate", "outsider", "admin")
        }
        return {**people, "anonymous": {}}


async def send(client: httpx.AsyncClient, method: str, path: str, actor: Actor, body: dict[str, Any]) -> Any:
    response = await client.request(method, f"{API}{path}", json=body, headers=actor.headers)
    assert response.status_code in (200, 201), response.text
    return response.json()


async def attach_to_lesson(client: httpx.AsyncClient, app: FastAPI, lesson: Lesson, actor: Actor) -> File:
    file = await create_file(app, actor)
    await send(client, "PATCH", f"/lessons/{lesson.id}", actor, {"file_id": str(file.id)})
    return file


@pytest.fixture
async def campus(app: FastAPI, client: httpx.AsyncClient) -> Campus:
    owner = await create_user(app, Role.INSTRUCTOR)
    co_teacher = await create_user(app, Role.INSTRUCTOR)
    enrolled, classmate, outsider = [await create_user(app) for _ in range(3)]
    admin = await create_user(app, Role.ADMIN)
    course = await create_course(app, owner, lessons=1)
    async with app.state.database.sessionmaker() as session, session.begin():
        session.add(CourseInstructor(course_id=course.id, user_id=co_teacher.user.id))
    lesson = await create_lesson(app, course, lesson_type="file")
    preview_lesson = await create_lesson(app, course, lesson_type="file", is_preview=True)
    for student in (enrolled, classmate):
        await enroll_directly(app, student, course)
    files = {
        "lesson": await attach_to_lesson(client, app, lesson, owner),
        "preview": await attach_to_lesson(client, app, preview_lesson, owner),
        "assignment": await create_file(app, owner),
        "submission": await create_file(app, enrolled, purpose="submission"),
        "avatar": await create_file(app, outsider, purpose="avatar", content_type="image/png"),
        "unattached": await create_file(app, owner),
    }
    assignment = await send(
        client,
        "POST",
        f"/courses/{course.id}/assignments",
        owner,
        {"title": "Essay", "max_points": 10, "attachment_file_ids": [str(files["assignment"].id)]},
    )
    await send(
        client,
        "POST",
        f"/assignments/{assignment['id']}/submissions",
        enrolled,
        {"file_ids": [str(files["submission"].id)]},
    )
    await send(client, "PATCH", "/auth/me", outsider, {"avatar_file_id": str(files["avatar"].id)})
    return Campus(
        owner,
        co_teacher,
        enrolled,
        classmate,
        outsider,
        admin,
        course,
        lesson,
        preview_lesson,
        assignment,
        files,
    )


@pytest.fixture(scope="session")
def mux_server() -> Iterator[MuxStub]:
    stub = MuxStub().start()
    yield stub
    stub.stop()


@pytest.fixture
def mux(mux_server: MuxStub) -> MuxStub:
    """The Mux stub, emptied of earlier tests' uploads and assets."""
    mux_server.reset()
    return mux_server


def mux_settings(stub: MuxStub, **overrides: Any) -> dict[str, Any]:
    return {
        "video_provider": "mux",
        "mux_token_id": TOKEN_ID,
        "mux_token_secret": TOKEN_SECRET,
        "mux_webhook_secret": MUX_WEBHOOK_SECRET,
        "mux_api_url": stub.url,
        "mux_http_timeout": 2.0,
        **overrides,
    }


@pytest.fixture
async def mux_app(make_app: AppFactory, mux: MuxStub) -> FastAPI:
    """An app whose videos go to the Mux stub (public playback: no signing key)."""
    return await make_app(**mux_settings(mux))


@pytest.fixture
async def mux_client(mux_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(mux_app) as http:
        yield http


@dataclass(frozen=True)
class SigningKeyPair:
    key_id: str
    #: As Mux hands it out (and MUX_SIGNING_KEY_PRIVATE takes it): base64 of the PEM.
    private_base64: str
    public: RSAKey


@pytest.fixture(scope="session")
def signing_key() -> SigningKeyPair:
    key = RSAKey.generate_key(2048)
    public = RSAKey.import_key(key.as_pem(private=False))
    return SigningKeyPair("stub-signing-key", base64.b64encode(key.as_pem(private=True)).decode(), public)
