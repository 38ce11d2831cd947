"""Concurrent deletes, restores and changes of one course, module or lesson run as if one
after the other: one request does it, the others get what a later request would get, and
exactly one event is written.

Ten copies of each request are in flight at once. On PostgreSQL they really overlap (row
locks decide); on SQLite the write lock serialises whole transactions, so there these tests
pin the same answers."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from studyhall.catalog.models import Course, Lesson, LessonVersion, Module
from studyhall.identity.models import Role
from tests.factories import (
    API,
    Actor,
    course_lessons,
    create_course,
    create_user,
    events,
    fresh_row,
    outcomes,
    race,
    rows,
)

RACERS = 10


async def _module_with_lessons(
    client: httpx.AsyncClient, owner: Actor, course: Course, lessons: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    module = await client.post(
        f"{API}/courses/{course.id}/modules", json={"title": "M"}, headers=owner.headers
    )
    assert module.status_code == 201, module.text
    created = []
    for n in range(lessons):
        lesson = await client.post(
            f"{API}/courses/{course.id}/lessons",
            json={"title": f"L{n}", "type": "text", "module_id": module.json()["id"]},
            headers=owner.headers,
        )
        assert lesson.status_code == 201, lesson.text
        created.append(lesson.json())
    return module.json(), created


# ---------------------------------------------------------------- courses


async def test_parallel_course_deletes_delete_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, owner, lessons=2)

    responses = await race(
        client.delete(f"{API}/courses/{course.id}", headers=owner.headers) for _ in range(RACERS)
    )

    assert outcomes(responses) == Counter({(204, None): 1, (404, "course_not_found"): RACERS - 1})
    assert len(await events(app, "course.deleted")) == 1
    row = await fresh_row(app, Course, course.id)
    assert row.deleted_at is not None
    lessons = await rows(app, Lesson, Lesson.course_id == course.id)
    assert {lesson.deletion_id for lesson in lessons} == {row.deletion_id}
    restored = await client.post(f"{API}/courses/{course.id}/restore", headers=owner.headers)
    assert (restored.status_code, restored.json()["lesson_count"]) == (200, 2)


async def test_parallel_course_restores_restore_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, owner, lessons=2)
    assert (await client.delete(f"{API}/courses/{course.id}", headers=owner.headers)).status_code == 204

    responses = await race(
        client.post(f"{API}/courses/{course.id}/restore", headers=owner.headers) for _ in range(RACERS)
    )

    # The losers get what a restore after the restore gets: there is nothing left to restore.
    assert outcomes(responses) == Counter({(200, None): 1, (409, "not_deleted"): RACERS - 1})
    assert len(await events(app, "course.restored")) == 1
    row = await fresh_row(app, Course, course.id)
    assert (row.deleted_at, row.deletion_id, row.lesson_count) == (None, None, 2)
    assert len(await course_lessons(app, course)) == 2


async def test_parallel_publishes_publish_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, owner, status="draft", lessons=1)

    responses = await race(
        client.post(f"{API}/courses/{course.id}/publish", headers=owner.headers) for _ in range(RACERS)
    )

    # Publishing a published course is a no-op: every request answers the published course.
    assert outcomes(responses) == Counter({(200, None): RACERS})
    assert {r.json()["status"] for r in responses} == {"published"}
    row = await fresh_row(app, Course, course.id)
    assert row.status == "published"
    assert row.published_at is not None
    assert {datetime.fromisoformat(r.json()["published_at"]) for r in responses} == {row.published_at}
    assert len(await events(app, "course.published")) == 1


@pytest.mark.parametrize(
    ("action", "status", "event"),
    [("unpublish", "draft", "course.unpublished"), ("archive", "archived", "course.archived")],
)
async def test_parallel_status_changes_emit_one_event(
    app: FastAPI, client: httpx.AsyncClient, action: str, status: str, event: str
) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, owner, lessons=1)

    responses = await race(
        client.post(f"{API}/courses/{course.id}/{action}", headers=owner.headers) for _ in range(RACERS)
    )

    assert outcomes(responses) == Counter({(200, None): RACERS})
    assert {r.json()["status"] for r in responses} == {status}
    assert (await fresh_row(app, Course, course.id)).status == status
    assert len(await events(app, event)) == 1


async def test_publishes_racing_a_delete(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, owner, status="draft", lessons=1)
    publish = f"{API}/courses/{course.id}/publish"

    responses = await race(
        [
            client.delete(f"{API}/courses/{course.id}", headers=owner.headers),
            *(client.post(publish, headers=owner.headers) for _ in range(RACERS - 1)),
        ]
    )

    deletes, publishes = responses[:1], responses[1:]
    assert outcomes(deletes) == Counter({(204, None): 1})
    published = outcomes(publishes)[(200, None)]
    # A publish after the delete finds no course; one before it publishes it, once.
    assert outcomes(publishes) == Counter(
        {(200, None): published, (404, "course_not_found"): RACERS - 1 - published}
    )
    assert len(await events(app, "course.published")) == min(published, 1)
    assert (await fresh_row(app, Course, course.id)).deleted_at is not None


# ---------------------------------------------------------------- modules


async def test_parallel_module_deletes_delete_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, owner, status="draft")
    module, _ = await _module_with_lessons(client, owner, course, lessons=2)

    responses = await race(
        client.delete(f"{API}/modules/{module['id']}", headers=owner.headers) for _ in range(RACERS)
    )

    assert outcomes(responses) == Counter({(204, None): 1, (404, "module_not_found"): RACERS - 1})
    row = await fresh_row(app, Module, module["id"])
    assert row.deleted_at is not None
    lessons = await rows(app, Lesson, Lesson.course_id == course.id)
    # One deletion: the module keeps the deletion id its lessons carry, so restoring it
    # brings them back.
    assert {lesson.deletion_id for lesson in lessons} == {row.deletion_id}
    assert (await fresh_row(app, Course, course.id)).lesson_count == 0
    restored = await client.post(f"{API}/modules/{module['id']}/restore", headers=owner.headers)
    assert restored.status_code == 200
    assert len(await course_lessons(app, course)) == 2


async def test_parallel_module_restores_restore_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, owner, status="draft")
    module, _ = await _module_with_lessons(client, owner, course, lessons=2)
    assert (await client.delete(f"{API}/modules/{module['id']}", headers=owner.headers)).status_code == 204

    responses = await race(
        client.post(f"{API}/modules/{module['id']}/restore", headers=owner.headers) for _ in range(RACERS)
    )

    assert outcomes(responses) == Counter({(200, None): 1, (409, "not_deleted"): RACERS - 1})
    row = await fresh_row(app, Module, module["id"])
    assert (row.deleted_at, row.deletion_id) == (None, None)
    assert (await fresh_row(app, Course, course.id)).lesson_count == 2


# ---------------------------------------------------------------- lessons


async def test_parallel_lesson_deletes_delete_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, owner, lessons=2)
    lesson, other = await course_lessons(app, course)

    responses = await race(
        client.delete(f"{API}/lessons/{lesson.id}", headers=owner.headers) for _ in range(RACERS)
    )

    assert outcomes(responses) == Counter({(204, None): 1, (404, "lesson_not_found"): RACERS - 1})
    assert len(await events(app, "lesson.deleted")) == 1
    assert (await fresh_row(app, Lesson, lesson.id)).deleted_at is not None
    assert [(row.id, row.position) for row in await course_lessons(app, course)] == [(other.id, 0)]
    assert (await fresh_row(app, Course, course.id)).lesson_count == 1


async def test_parallel_lesson_restores_restore_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, owner, lessons=2)
    lesson, _ = await course_lessons(app, course)
    assert (await client.delete(f"{API}/lessons/{lesson.id}", headers=owner.headers)).status_code == 204

    responses = await race(
        client.post(f"{API}/lessons/{lesson.id}/restore", headers=owner.headers) for _ in range(RACERS)
    )

    assert outcomes(responses) == Counter({(200, None): 1, (409, "not_deleted"): RACERS - 1})
    row = await fresh_row(app, Lesson, lesson.id)
    assert (row.deleted_at, row.deletion_id) == (None, None)
    assert (await fresh_row(app, Course, course.id)).lesson_count == 2


async def test_concurrent_title_and_content_edits_both_stay(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, owner, lessons=1)
    (lesson,) = await course_lessons(app, course)
    edits = [{"title": f"Title {n}"} for n in range(RACERS // 2)]
    edits += [{"content": f"Body {n}"} for n in range(RACERS // 2)]

    responses = await race(
        client.patch(f"{API}/lessons/{lesson.id}", json=edit, headers=owner.headers) for edit in edits
    )

    assert outcomes(responses) == Counter({(200, None): RACERS})
    # Each edit starts from the one before it: the last title and the last content both stay.
    row = await fresh_row(app, Lesson, lesson.id)
    assert row.title.startswith("Title ")
    assert row.content.startswith("Body ")
    assert row.version == 1 + RACERS
    versions = await rows(app, LessonVersion, LessonVersion.lesson_id == lesson.id)
    latest = max(versions, key=lambda version: version.version)
    assert (latest.version, latest.title, latest.content) == (row.version, row.title, row.content)


async def test_version_restores_racing_a_delete(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, owner, status="draft")
    created = await client.post(
        f"{API}/courses/{course.id}/lessons", json={"title": "L", "type": "text"}, headers=owner.headers
    )
    lesson_id = created.json()["id"]
    restore = f"{API}/lessons/{lesson_id}/versions/1/restore"

    responses = await race(
        [
            client.delete(f"{API}/lessons/{lesson_id}", headers=owner.headers),
            *(client.post(restore, headers=owner.headers) for _ in range(RACERS - 1)),
        ]
    )

    deletes, restores = responses[:1], responses[1:]
    assert outcomes(deletes) == Counter({(204, None): 1})
    restored = outcomes(restores)[(200, None)]
    assert outcomes(restores) == Counter(
        {(200, None): restored, (404, "lesson_not_found"): RACERS - 1 - restored}
    )
    row = await fresh_row(app, Lesson, lesson_id)
    assert row.deleted_at is not None
    assert row.version == 1 + restored
    # Every version that was made, was made before the lesson was deleted.
    new_versions = await rows(
        app, LessonVersion, LessonVersion.lesson_id == row.id, LessonVersion.version > 1
    )
    assert len(new_versions) == restored
    assert all(version.created_at < row.deleted_at for version in new_versions)
