"""Courses: create, edit, publish, permissions, soft delete and restore, instructors."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from studyhall.catalog.models import Course, Lesson, Module
from studyhall.identity.models import Role
from tests.factories import (
    API,
    assert_problem,
    create_course,
    create_lesson,
    create_organization,
    create_user,
    fresh_row,
)


async def test_instructor_creates_a_draft_with_a_slug(app: FastAPI, client: httpx.AsyncClient) -> None:
    teacher = await create_user(app, Role.INSTRUCTOR)
    body = {"title": "Intro to Python!", "tags": ["Python", " python ", "Basics"], "level": "beginner"}
    response = await client.post(f"{API}/courses", json=body, headers=teacher.headers)
    assert response.status_code == 201, response.text
    course = response.json()
    assert course["status"] == "draft"
    assert course["slug"] == "intro-to-python"
    assert course["owner_id"] == teacher.id
    assert course["tags"] == ["python", "basics"]
    assert course["instructor_ids"] == []
    assert course["lesson_count"] == 0
    assert course["is_enrolled"] is False
    assert course["progress_percent"] is None
    assert (await fresh_row(app, Course, course["id"])).title == "Intro to Python!"

    again = await client.post(f"{API}/courses", json=body, headers=teacher.headers)
    third = await client.post(f"{API}/courses", json=body, headers=teacher.headers)
    assert again.json()["slug"] == "intro-to-python-2"
    assert third.json()["slug"] == "intro-to-python-3"
    # The slug is stable when the title changes.
    renamed = await client.patch(
        f"{API}/courses/{course['id']}", json={"title": "Other"}, headers=teacher.headers
    )
    assert renamed.status_code == 200
    assert renamed.json()["slug"] == "intro-to-python"


async def test_create_course_rejects_bad_input_and_roles(app: FastAPI, client: httpx.AsyncClient) -> None:
    teacher = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app, Role.STUDENT)
    for body in (
        {"title": "x", "level": "expert"},
        {"title": ""},
        {"title": "x", "currency": "usd"},
        {"title": "x", "price_cents": -1},
        {"title": "x", "unknown": 1},
    ):
        response = await client.post(f"{API}/courses", json=body, headers=teacher.headers)
        assert_problem(response, 422, "validation_error")
    forbidden = await client.post(f"{API}/courses", json={"title": "x"}, headers=student.headers)
    assert forbidden.status_code == 403
    anonymous = await client.post(f"{API}/courses", json={"title": "x"})
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"
    no_org = await client.post(
        f"{API}/courses", json={"title": "x", "visibility": "organization"}, headers=teacher.headers
    )
    assert_problem(no_org, 422, "organization_required")
    other_org = await create_organization(app)
    foreign = await client.post(
        f"{API}/courses", json={"title": "x", "organization_id": str(other_org.id)}, headers=teacher.headers
    )
    assert_problem(foreign, 403, "organization_forbidden")
    async with app.state.database.sessionmaker() as session:
        assert (await session.scalars(select(Course))).all() == []


async def test_edit_permissions(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await create_organization(app)
    owner = await create_user(app, Role.INSTRUCTOR, organization=org)
    principal = await create_user(app, Role.PRINCIPAL, organization=org)
    admin = await create_user(app, Role.ADMIN)
    other = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app, Role.STUDENT)
    published = await create_course(app, owner, lessons=1)
    draft = await create_course(app, owner, status="draft")

    for actor in (owner, principal, admin):
        response = await client.patch(
            f"{API}/courses/{published.id}", json={"subtitle": f"by {actor.id}"}, headers=actor.headers
        )
        assert response.status_code == 200, response.text
        assert response.json()["subtitle"] == f"by {actor.id}"
    for actor in (other, student):
        visible = await client.patch(
            f"{API}/courses/{published.id}", json={"title": "x"}, headers=actor.headers
        )
        assert_problem(visible, 403, "not_course_staff")
        hidden = await client.patch(f"{API}/courses/{draft.id}", json={"title": "x"}, headers=actor.headers)
        assert_problem(hidden, 404, "course_not_found")
    missing = await client.patch(f"{API}/courses/{uuid.uuid4()}", json={"title": "x"}, headers=owner.headers)
    assert missing.status_code == 404
    assert (await fresh_row(app, Course, draft.id)).title == draft.title


async def test_publish_unpublish_archive(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, owner, status="draft")
    empty = await client.post(f"{API}/courses/{course.id}/publish", headers=owner.headers)
    assert_problem(empty, 409, "course_empty")
    assert (await fresh_row(app, Course, course.id)).status == "draft"

    await create_lesson(app, course)
    published = await client.post(f"{API}/courses/{course.id}/publish", headers=owner.headers)
    assert published.status_code == 200
    assert published.json()["status"] == "published"
    assert published.json()["published_at"] is not None
    catalog = await client.get(f"{API}/courses")
    assert [c["id"] for c in catalog.json()["items"]] == [str(course.id)]

    archived = await client.post(f"{API}/courses/{course.id}/archive", headers=owner.headers)
    assert archived.json()["status"] == "archived"
    assert (await client.get(f"{API}/courses")).json()["total"] == 0
    draft = await client.post(f"{API}/courses/{course.id}/unpublish", headers=owner.headers)
    assert draft.json()["status"] == "draft"
    student = await create_user(app)
    assert (
        await client.post(f"{API}/courses/{course.id}/publish", headers=student.headers)
    ).status_code == 404


async def test_delete_and_restore_bring_back_exactly_what_was_deleted(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, owner, lessons=3)
    module = (
        await client.post(f"{API}/courses/{course.id}/modules", json={"title": "M"}, headers=owner.headers)
    ).json()
    first, second, third = (await client.get(f"{API}/courses/{course.id}", headers=owner.headers)).json()[
        "lessons"
    ]
    # Deleted on its own before: must stay deleted after the course is restored.
    assert (await client.delete(f"{API}/lessons/{first['id']}", headers=owner.headers)).status_code == 204

    not_deleted = await client.post(f"{API}/courses/{course.id}/restore", headers=owner.headers)
    assert_problem(not_deleted, 409, "not_deleted")

    assert (await client.delete(f"{API}/courses/{course.id}", headers=owner.headers)).status_code == 204
    assert (await client.get(f"{API}/courses/{course.id}", headers=owner.headers)).status_code == 404
    assert (await client.get(f"{API}/courses/{course.slug}")).status_code == 404
    assert (await client.get(f"{API}/lessons/{second['id']}", headers=owner.headers)).status_code == 404
    assert (await client.get(f"{API}/courses")).json()["total"] == 0
    trash = await client.get(f"{API}/courses/trash", headers=owner.headers)
    assert [c["id"] for c in trash.json()["items"]] == [str(course.id)]
    async with app.state.database.sessionmaker() as session:
        hidden = (await session.scalars(select(Lesson).where(Lesson.course_id == course.id))).all()
    assert all(lesson.deleted_at is not None for lesson in hidden)
    deletion = (await fresh_row(app, Course, course.id)).deletion_id
    assert {lesson.deletion_id == deletion for lesson in hidden} == {True, False}

    restored = await client.post(f"{API}/courses/{course.id}/restore", headers=owner.headers)
    assert restored.status_code == 200, restored.text
    assert restored.json()["lesson_count"] == 2
    detail = (await client.get(f"{API}/courses/{course.id}", headers=owner.headers)).json()
    assert [lesson["id"] for lesson in detail["lessons"]] == [second["id"], third["id"]]
    assert [lesson["order"] for lesson in detail["lessons"]] == [0, 1]
    assert [m["id"] for m in detail["modules"]] == [module["id"]]
    assert (await client.get(f"{API}/courses/trash", headers=owner.headers)).json()["total"] == 0


async def test_delete_permissions_and_trash(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    co = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, owner, lessons=1)
    added = await client.post(
        f"{API}/courses/{course.id}/instructors", json={"user_id": co.id}, headers=owner.headers
    )
    assert added.status_code == 201
    assert added.json()["instructor_ids"] == [co.id]
    co_delete = await client.delete(f"{API}/courses/{course.id}", headers=co.headers)
    assert co_delete.status_code == 403
    assert (await client.delete(f"{API}/courses/{course.id}", headers=student.headers)).status_code == 403
    assert (await client.get(f"{API}/courses/trash", headers=student.headers)).status_code == 403
    assert (await client.get(f"{API}/courses/trash")).status_code == 401
    assert (await client.delete(f"{API}/courses/{course.id}", headers=owner.headers)).status_code == 204
    assert (await client.get(f"{API}/courses/trash", headers=co.headers)).json()["total"] == 0
    assert (await client.post(f"{API}/courses/{course.id}/restore", headers=co.headers)).status_code == 404
    assert (await fresh_row(app, Course, course.id)).deleted_at is not None


async def test_co_instructors(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    co = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, owner, status="draft")
    url = f"{API}/courses/{course.id}/instructors"
    not_instructor = await client.post(url, json={"user_id": student.id}, headers=owner.headers)
    assert_problem(not_instructor, 422, "not_an_instructor")
    unknown = await client.post(url, json={"user_id": str(uuid.uuid4())}, headers=owner.headers)
    assert unknown.status_code == 422
    assert (await client.post(url, json={"user_id": co.id}, headers=owner.headers)).status_code == 201
    duplicate = await client.post(url, json={"user_id": co.id}, headers=owner.headers)
    assert_problem(duplicate, 409, "already_instructor")
    owner_again = await client.post(url, json={"user_id": owner.id}, headers=owner.headers)
    assert owner_again.status_code == 409
    # The co-instructor now sees the draft and may edit it, but not manage instructors.
    edited = await client.patch(f"{API}/courses/{course.id}", json={"title": "Edited"}, headers=co.headers)
    assert edited.status_code == 200
    assert (await client.post(url, json={"user_id": co.id}, headers=co.headers)).status_code == 403
    assert (await client.delete(f"{url}/{co.id}", headers=owner.headers)).status_code == 204
    gone = await client.delete(f"{url}/{co.id}", headers=owner.headers)
    assert_problem(gone, 404, "instructor_not_found")
    assert (
        await client.patch(f"{API}/courses/{course.id}", json={"title": "x"}, headers=co.headers)
    ).status_code == 404


async def test_modules_keep_a_dense_order(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, owner, status="draft")
    url = f"{API}/courses/{course.id}/modules"
    a = (await client.post(url, json={"title": "A"}, headers=owner.headers)).json()
    b = (await client.post(url, json={"title": "B"}, headers=owner.headers)).json()
    c = (await client.post(url, json={"title": "C", "order": 0}, headers=owner.headers)).json()
    assert (a["order"], b["order"], c["order"]) == (0, 1, 0)
    moved = await client.patch(
        f"{API}/modules/{c['id']}", json={"order": 99, "title": "C2"}, headers=owner.headers
    )
    assert moved.json()["order"] == 2
    assert moved.json()["title"] == "C2"
    lesson = await client.post(
        f"{API}/courses/{course.id}/lessons",
        json={"title": "In A", "type": "text", "module_id": a["id"]},
        headers=owner.headers,
    )
    assert lesson.status_code == 201
    assert (await client.delete(f"{API}/modules/{a['id']}", headers=owner.headers)).status_code == 204
    detail = (await client.get(f"{API}/courses/{course.id}", headers=owner.headers)).json()
    assert [(m["title"], m["order"]) for m in detail["modules"]] == [("B", 0), ("C2", 1)]
    assert detail["lessons"] == []
    assert detail["lesson_count"] == 0
    again = await client.delete(f"{API}/modules/{a['id']}", headers=owner.headers)
    assert again.status_code == 404
    restored = await client.post(f"{API}/modules/{a['id']}/restore", headers=owner.headers)
    assert restored.status_code == 200
    twice = await client.post(f"{API}/modules/{a['id']}/restore", headers=owner.headers)
    assert twice.status_code == 409
    detail = (await client.get(f"{API}/courses/{course.id}", headers=owner.headers)).json()
    assert sorted(m["order"] for m in detail["modules"]) == [0, 1, 2]
    assert [lesson["title"] for lesson in detail["lessons"]] == ["In A"]
    stranger = await create_user(app, Role.INSTRUCTOR)
    assert (
        await client.patch(f"{API}/modules/{a['id']}", json={"title": "x"}, headers=stranger.headers)
    ).status_code == 404
    assert (await client.post(url, json={"title": "x"}, headers=stranger.headers)).status_code == 404
    async with app.state.database.sessionmaker() as session:
        titles = (await session.scalars(select(Module.title).where(Module.deleted_at.is_(None)))).all()
        assert sorted(titles) == ["A", "B", "C2"]
