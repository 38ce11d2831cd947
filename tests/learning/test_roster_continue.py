"""The course roster and "continue learning"."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import event

from studyhall.identity.models import Role
from tests.factories import (
    API,
    assert_problem,
    complete,
    course_lessons,
    create_course,
    create_organization,
    create_user,
    enroll,
    soft_delete_lesson,
)


async def test_roster_lists_students_with_progress(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    students = [await create_user(app, full_name=f"Student {n}") for n in range(3)]
    course = await create_course(app, owner, lessons=4)
    lessons = await course_lessons(app, course)
    for student in students:
        await enroll(client, student, course)
    for lesson in lessons[:3]:
        await complete(client, students[0], lesson)
    await complete(client, students[1], lessons[0])
    await soft_delete_lesson(app, lessons[2])  # students[0] now has 2 of 3
    await client.delete(f"{API}/courses/{course.id}/enroll", headers=students[2].headers)

    response = await client.get(f"{API}/courses/{course.id}/enrollments", headers=owner.headers)

    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 2
    entries = {entry["student"]["id"]: entry for entry in body["items"]}
    assert set(entries) == {students[0].id, students[1].id}
    top = entries[students[0].id]
    assert (top["completed_lessons"], top["total_lessons"], top["progress_percent"]) == (2, 3, 66.67)
    assert top["last_activity_at"] is not None
    assert top["student"]["full_name"] == "Student 0"
    assert entries[students[1].id]["completed_lessons"] == 1

    page = (
        await client.get(f"{API}/courses/{course.id}/enrollments?limit=1&offset=1", headers=owner.headers)
    ).json()
    assert page["total"] == 2
    assert [entry["student"]["id"] for entry in page["items"]] == [students[1].id]


async def test_roster_permissions(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await create_organization(app)
    other_org = await create_organization(app)
    owner = await create_user(app, Role.INSTRUCTOR, organization=org)
    principal = await create_user(app, Role.PRINCIPAL, organization=org)
    other_principal = await create_user(app, Role.PRINCIPAL, organization=other_org)
    admin = await create_user(app, Role.ADMIN)
    other_instructor = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, owner, lessons=1)
    draft = await create_course(app, owner, status="draft", lessons=1)
    await enroll(client, student, course)
    url = f"{API}/courses/{course.id}/enrollments"

    for allowed in (owner, principal, admin):
        response = await client.get(url, headers=allowed.headers)
        assert response.status_code == 200, response.text
        assert response.json()["total"] == 1
    for refused in (student, other_instructor, other_principal):
        assert_problem(await client.get(url, headers=refused.headers), 403, "not_course_staff")
    assert_problem(
        await client.get(f"{API}/courses/{draft.id}/enrollments", headers=student.headers),
        404,
        "course_not_found",
    )
    assert_problem(
        await client.get(f"{API}/courses/{uuid.uuid4()}/enrollments", headers=admin.headers),
        404,
        "course_not_found",
    )
    assert_problem(await client.get(url), 401, "not_authenticated")
    assert_problem(await client.get(f"{url}?limit=101", headers=owner.headers), 422, "validation_error")


async def test_continue_points_to_the_first_unfinished_lesson(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    started = await create_course(app, owner, lessons=3, lesson_type="video", title="Started")
    fresh = await create_course(app, owner, lessons=2, title="Fresh")
    finished = await create_course(app, owner, lessons=1, title="Finished")
    empty = await create_course(app, owner, title="Empty")
    not_mine = await create_course(app, owner, lessons=1, title="Not mine")
    for course in (fresh, started, finished, empty):
        await enroll(client, student, course)
    assert not_mine.id
    started_lessons = await course_lessons(app, started)
    await complete(client, student, started_lessons[0])
    await client.put(
        f"{API}/lessons/{started_lessons[1].id}/position",
        headers=student.headers,
        json={"position_seconds": 42, "duration_seconds": 600},
    )
    await complete(client, student, (await course_lessons(app, finished))[0])

    response = await client.get(f"{API}/me/continue", headers=student.headers)

    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 2
    # Most recently active first: the started course, then the fresh one.
    assert [item["course"]["title"] for item in body["items"]] == ["Started", "Fresh"]
    first, second = body["items"]
    assert first["lesson"]["id"] == str(started_lessons[1].id)
    assert first["lesson"]["order"] == 1
    assert first["position_seconds"] == 42
    assert (first["completed_lessons"], first["total_lessons"]) == (1, 3)
    assert second["lesson"]["id"] == str((await course_lessons(app, fresh))[0].id)
    assert second["position_seconds"] is None

    # Deleting the next lesson moves "continue" on to the following one.
    await soft_delete_lesson(app, started_lessons[1])
    body = (await client.get(f"{API}/me/continue?limit=1", headers=student.headers)).json()
    assert body["total"] == 2
    assert [item["lesson"]["id"] for item in body["items"]] == [str(started_lessons[2].id)]
    assert_problem(await client.get(f"{API}/me/continue"), 401, "not_authenticated")
    assert_problem(
        await client.get(f"{API}/me/continue?offset=-1", headers=student.headers), 422, "validation_error"
    )


class QueryCounter:
    """Counts SQL statements the application runs."""

    def __init__(self, app: FastAPI) -> None:
        self.engine = app.state.database.engine.sync_engine
        self.count = 0

    def _count(self, *_args: object) -> None:
        self.count += 1

    def __enter__(self) -> QueryCounter:
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)


async def test_lists_run_a_bounded_number_of_queries(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    courses = [await create_course(app, owner, lessons=3) for _ in range(5)]
    others = [await create_user(app) for _ in range(4)]

    async def counts() -> tuple[int, int, int]:
        found = []
        for url, actor in (
            (f"{API}/courses/{courses[0].id}/enrollments", owner),
            (f"{API}/me/continue", student),
            (f"{API}/enrollments/me", student),
        ):
            with QueryCounter(app) as counter:
                response = await client.get(url, headers=actor.headers)
            assert response.status_code == 200
            found.append(counter.count)
        return found[0], found[1], found[2]

    await enroll(client, student, courses[0])
    small = await counts()
    for course in courses[1:]:
        await enroll(client, student, course)
        await complete(client, student, (await course_lessons(app, course))[0])
    for other in others:
        await enroll(client, other, courses[0])
    assert await counts() == small
