"""Lessons: create, order, content rendering, access, versions, delete and restore."""

from __future__ import annotations

import uuid
from html.parser import HTMLParser

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from studyhall.catalog.models import Lesson, LessonVersion
from studyhall.identity.models import Role
from studyhall.learning.models import LessonCompletion
from tests.factories import API, assert_problem, course_lessons, create_course, create_user, enroll_directly

XSS = """# Title

<script>alert('x')</script>
<img src="x" onerror="alert(1)">
<a href="javascript:alert(1)">click</a>
<a href="JaVaScRiPt:alert(1)">mixed case</a>
<div onclick="steal()">hi</div>
<iframe src="https://evil.example"></iframe>

[fine](https://example.com) **bold**

[md link](javascript:alert(1))
"""


def parsed_tags(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            tags.append((tag, attrs))

    Collector().feed(html)
    return tags


@pytest.mark.parametrize("lesson_type", ["text", "video", "file", "quiz", "assignment"])
async def test_create_every_lesson_type(app: FastAPI, client: httpx.AsyncClient, lesson_type: str) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, owner, status="draft")
    response = await client.post(
        f"{API}/courses/{course.id}/lessons",
        json={
            "title": f"A {lesson_type}",
            "type": lesson_type,
            "content": "Hello *world*",
            "duration_minutes": 5,
        },
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    lesson = response.json()
    assert lesson["type"] == lesson_type
    assert lesson["version"] == 1
    assert lesson["order"] == 0
    assert lesson["content"] == "Hello *world*"
    assert lesson["content_html"] == "<p>Hello <em>world</em></p>\n"
    course_after = (await client.get(f"{API}/courses/{course.id}", headers=owner.headers)).json()
    assert course_after["lesson_count"] == 1


async def test_create_lesson_rejects_bad_input(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, owner, status="draft")
    other = await create_course(app, owner, status="draft")
    foreign_module = (
        await client.post(f"{API}/courses/{other.id}/modules", json={"title": "M"}, headers=owner.headers)
    ).json()
    url = f"{API}/courses/{course.id}/lessons"
    bad_type = await client.post(url, json={"title": "x", "type": "podcast"}, headers=owner.headers)
    assert bad_type.status_code == 422
    assert bad_type.json()["errors"][0]["loc"][-1] == "type"
    module = await client.post(
        url, json={"title": "x", "type": "text", "module_id": foreign_module["id"]}, headers=owner.headers
    )
    assert_problem(module, 422, "invalid_module")
    student = await create_user(app)
    assert (
        await client.post(url, json={"title": "x", "type": "text"}, headers=student.headers)
    ).status_code == 404
    assert await course_lessons(app, course) == []


async def test_xss_is_neutralised(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, owner, status="draft")
    lesson = (
        await client.post(
            f"{API}/courses/{course.id}/lessons",
            json={"title": "x", "type": "text", "content": XSS},
            headers=owner.headers,
        )
    ).json()
    tags = parsed_tags(lesson["content_html"])
    assert not {"script", "iframe"} & {tag for tag, _ in tags}
    for _tag, attrs in tags:
        for name, value in attrs:
            assert not name.startswith("on"), name
            assert "javascript:" not in (value or "").lower().replace(" ", "")
    links = [dict(attrs).get("href") for tag, attrs in tags if tag == "a"]
    assert links == [None, None, "https://example.com"]  # unsafe hrefs dropped
    assert '<a href="https://example.com" rel="noopener noreferrer">fine</a>' in lesson["content_html"]
    assert "<strong>bold</strong>" in lesson["content_html"]
    assert lesson["content"] == XSS  # stored as written
    version = (await client.get(f"{API}/lessons/{lesson['id']}/versions/1", headers=owner.headers)).json()
    assert "<script" not in version["content_html"]


async def test_order_stays_dense_under_insert_reorder_delete(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, owner, lessons=3)
    a, b, c = await course_lessons(app, course)
    inserted = await client.post(
        f"{API}/courses/{course.id}/lessons",
        json={"title": "New", "type": "video", "order": 1},
        headers=owner.headers,
    )
    new = inserted.json()["id"]
    ids = [str(a.id), new, str(b.id), str(c.id)]
    outline = (await client.get(f"{API}/courses/{course.id}/lessons", headers=owner.headers)).json()
    assert [item["id"] for item in outline["items"]] == ids
    assert [item["order"] for item in outline["items"]] == [0, 1, 2, 3]
    assert (outline["total"], outline["limit"], outline["offset"]) == (4, 500, 0)

    wanted = [str(c.id), str(a.id), new, str(b.id)]
    reordered = await client.put(
        f"{API}/courses/{course.id}/lessons/order", json={"lesson_ids": wanted}, headers=owner.headers
    )
    assert reordered.status_code == 200
    assert [item["id"] for item in reordered.json()] == wanted
    for bad in (
        wanted[:3],
        [*wanted, str(uuid.uuid4())],
        [*wanted[:3], wanted[0]],
        [*wanted[:3], str(uuid.uuid4())],
    ):
        response = await client.put(
            f"{API}/courses/{course.id}/lessons/order", json={"lesson_ids": bad}, headers=owner.headers
        )
        assert_problem(response, 422, "invalid_lesson_order")
    assert (await client.delete(f"{API}/lessons/{a.id}", headers=owner.headers)).status_code == 204
    moved = await client.patch(f"{API}/lessons/{c.id}", json={"order": 5}, headers=owner.headers)
    assert moved.json()["order"] == 2
    async with app.state.database.sessionmaker() as session:
        rows = (
            await session.execute(
                select(Lesson.id, Lesson.position)
                .where(Lesson.course_id == course.id, Lesson.deleted_at.is_(None))
                .order_by(Lesson.position)
            )
        ).all()
    assert [(str(i), p) for i, p in rows] == [(new, 0), (str(b.id), 1), (str(c.id), 2)]
    restored = await client.post(f"{API}/lessons/{a.id}/restore", headers=owner.headers)
    assert restored.status_code == 200
    outline = (await client.get(f"{API}/courses/{course.id}/lessons", headers=owner.headers)).json()
    assert sorted(item["order"] for item in outline["items"]) == [0, 1, 2, 3]
    not_deleted = await client.post(f"{API}/lessons/{a.id}/restore", headers=owner.headers)
    assert_problem(not_deleted, 409, "not_deleted")


async def test_versions(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, owner, status="draft")
    lesson = (
        await client.post(
            f"{API}/courses/{course.id}/lessons",
            json={"title": "v1", "type": "text", "content": "one"},
            headers=owner.headers,
        )
    ).json()
    url = f"{API}/lessons/{lesson['id']}"
    same = await client.patch(url, json={"duration_minutes": 9}, headers=owner.headers)
    assert same.json()["version"] == 1
    second = await client.patch(url, json={"content": "two"}, headers=owner.headers)
    assert second.json()["version"] == 2
    third = await client.patch(url, json={"title": "v3"}, headers=owner.headers)
    assert (third.json()["version"], third.json()["content"]) == (3, "two")
    versions = (await client.get(f"{url}/versions", headers=owner.headers)).json()
    assert versions["total"] == 3
    assert [(v["version"], v["title"]) for v in versions["items"]] == [(3, "v3"), (2, "v1"), (1, "v1")]
    assert all(v["author_id"] == owner.id for v in versions["items"])
    one = await client.get(f"{url}/versions/1", headers=owner.headers)
    assert (one.json()["content"], one.json()["content_html"]) == ("one", "<p>one</p>\n")
    missing = await client.get(f"{url}/versions/9", headers=owner.headers)
    assert_problem(missing, 404, "version_not_found")
    assert (await client.post(f"{url}/versions/9/restore", headers=owner.headers)).status_code == 404
    assert (await client.get(f"{url}/versions/0", headers=owner.headers)).status_code == 422
    restored = await client.post(f"{url}/versions/1/restore", headers=owner.headers)
    assert restored.status_code == 200
    assert (restored.json()["version"], restored.json()["title"], restored.json()["content"]) == (
        4,
        "v1",
        "one",
    )
    student = await create_user(app)
    assert (await client.get(f"{url}/versions", headers=student.headers)).status_code == 404
    async with app.state.database.sessionmaker() as session:
        numbers = (
            await session.scalars(
                select(LessonVersion.version).where(LessonVersion.lesson_id == uuid.UUID(lesson["id"]))
            )
        ).all()
    assert sorted(numbers) == [1, 2, 3, 4]


async def test_lesson_access(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    enrolled = await create_user(app)
    course = await create_course(app, owner, lessons=2)
    draft = await create_course(app, owner, status="draft", lessons=1)
    first, second = await course_lessons(app, course)
    async with app.state.database.sessionmaker() as session, session.begin():
        (await session.get(Lesson, first.id)).is_preview = True  # type: ignore[union-attr]
    await enroll_directly(app, enrolled, course)
    async with app.state.database.sessionmaker() as session, session.begin():
        session.add(LessonCompletion(user_id=enrolled.user.id, lesson_id=second.id, course_id=course.id))

    assert (await client.get(f"{API}/lessons/{first.id}")).status_code == 200
    assert (await client.get(f"{API}/lessons/{second.id}")).status_code == 401
    locked = await client.get(f"{API}/lessons/{second.id}", headers=student.headers)
    assert_problem(locked, 403, "not_enrolled")
    opened = await client.get(f"{API}/lessons/{second.id}", headers=enrolled.headers)
    assert opened.status_code == 200
    assert opened.json()["is_completed"] is True
    assert (await client.get(f"{API}/lessons/{second.id}", headers=owner.headers)).status_code == 200
    draft_lesson = (await course_lessons(app, draft))[0]
    assert (await client.get(f"{API}/lessons/{draft_lesson.id}", headers=student.headers)).status_code == 404

    preview_only = (await client.get(f"{API}/courses/{course.id}/lessons", headers=student.headers)).json()
    assert [item["id"] for item in preview_only["items"]] == [str(first.id)]
    assert preview_only["total"] == 1
    full = (await client.get(f"{API}/courses/{course.id}/lessons", headers=enrolled.headers)).json()
    assert full["total"] == 2
    assert [(item["id"], item["is_completed"]) for item in full["items"]] == [
        (str(first.id), False),
        (str(second.id), True),
    ]
    edit = await client.patch(f"{API}/lessons/{first.id}", json={"title": "x"}, headers=enrolled.headers)
    assert edit.status_code == 403
    assert (await client.delete(f"{API}/lessons/{first.id}", headers=student.headers)).status_code == 403
    assert (await client.get(f"{API}/lessons/{uuid.uuid4()}")).status_code == 404

    assert (await client.delete(f"{API}/lessons/{second.id}", headers=owner.headers)).status_code == 204
    assert (await client.get(f"{API}/lessons/{second.id}", headers=enrolled.headers)).status_code == 404
    detail = (await client.get(f"{API}/courses/{course.id}", headers=enrolled.headers)).json()
    assert detail["lesson_count"] == 1
    assert detail["progress_percent"] == 0.0


async def test_lesson_outline_is_a_page_of_up_to_500(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, owner, lessons=5)
    lessons = await course_lessons(app, course)
    url = f"{API}/courses/{course.id}/lessons"

    page = await client.get(url, params={"limit": 2, "offset": 1}, headers=owner.headers)

    assert page.status_code == 200, page.text
    body = page.json()
    assert (body["total"], body["limit"], body["offset"]) == (5, 2, 1)
    assert [item["id"] for item in body["items"]] == [str(lessons[1].id), str(lessons[2].id)]
    assert [item["order"] for item in body["items"]] == [1, 2]
    largest = (await client.get(url, params={"limit": 500}, headers=owner.headers)).json()
    assert (largest["total"], largest["limit"], len(largest["items"])) == (5, 500, 5)
    beyond = (await client.get(url, params={"offset": 5}, headers=owner.headers)).json()
    assert (beyond["items"], beyond["total"]) == ([], 5)
    # A visitor's page counts only the previews they may see.
    visitor = (await client.get(url, headers=student.headers)).json()
    assert (visitor["items"], visitor["total"]) == ([], 0)
    for bad in ({"limit": 0}, {"limit": 501}, {"offset": -1}, {"limit": "many"}):
        response = await client.get(url, params=bad, headers=owner.headers)
        assert_problem(response, 422, "validation_error")
