"""The Markdown preview: the same sanitised rendering as lessons, for staff, storing nothing."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from studyhall.catalog.models import LessonVersion
from studyhall.catalog.rendering import render_markdown
from studyhall.identity.models import Role
from tests.factories import API, assert_problem, count_rows, create_user

PREVIEW = f"{API}/markdown/preview"
SOURCE = "# Week 1\n\nRead the **syllabus**. [bad](javascript:alert(1))\n\n<script>alert(1)</script>\n"


@pytest.mark.parametrize("role", [Role.INSTRUCTOR, Role.PRINCIPAL, Role.ADMIN])
async def test_staff_get_the_sanitised_rendering_and_nothing_is_stored(
    app: FastAPI, client: httpx.AsyncClient, role: Role
) -> None:
    staff = await create_user(app, role)
    response = await client.post(PREVIEW, json={"content": SOURCE}, headers=staff.headers)
    assert response.status_code == 200, response.text
    html = response.json()["content_html"]
    assert response.json() == {"content_html": render_markdown(SOURCE)}
    assert "<h1>Week 1</h1>" in html and "<strong>syllabus</strong>" in html
    assert "<script" not in html and 'href="javascript' not in html
    assert await count_rows(app, LessonVersion) == 0


async def test_empty_content_renders_empty(app: FastAPI, client: httpx.AsyncClient) -> None:
    staff = await create_user(app, Role.INSTRUCTOR)
    response = await client.post(PREVIEW, json={"content": ""}, headers=staff.headers)
    assert (response.status_code, response.json()) == (200, {"content_html": ""})


async def test_students_and_visitors_are_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    student = await create_user(app, Role.STUDENT)
    assert_problem(
        await client.post(PREVIEW, json={"content": "x"}, headers=student.headers), 403, "insufficient_role"
    )
    anonymous = await client.post(PREVIEW, json={"content": "x"})
    assert_problem(anonymous, 401, "not_authenticated")
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "body",
    [{}, {"content": "x" * 200_001}, {"content": "a\u0000b"}, {"content": "x", "extra": 1}],
    ids=["missing", "too-long", "nul", "unknown-field"],
)
async def test_bad_input_is_a_validation_error(app: FastAPI, client: httpx.AsyncClient, body: object) -> None:
    staff = await create_user(app, Role.INSTRUCTOR)
    assert_problem(await client.post(PREVIEW, json=body, headers=staff.headers), 422, "validation_error")
