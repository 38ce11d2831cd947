"""Text the database cannot store (NUL, unpaired surrogates) is 422, wherever it comes in.

On PostgreSQL each of these requests used to fail in the driver with a 500, whether the text
was to be written or only looked up.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from studyhall.catalog.models import Course
from studyhall.identity.models import AuthSession, Role, User
from tests.factories import (
    API,
    PASSWORD,
    assert_problem,
    count_rows,
    course_lessons,
    create_course,
    create_user,
)

UNSTORABLE_TYPE = "string_unstorable_character"


def assert_unstorable(response: httpx.Response, *locs: list[str | int]) -> None:
    body = assert_problem(response, 422, "validation_error")
    errors: Any = body["errors"]
    assert [error["loc"] for error in errors] == [list(loc) for loc in locs]
    assert {error["type"] for error in errors} == {UNSTORABLE_TYPE}


def json_body(text: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """Send `text` as the JSON body, as is (so escapes like `\\u0000` reach the server)."""
    return {"content": text.encode(), "headers": {**(headers or {}), "content-type": "application/json"}}


REGISTER = {"email": "ada@example.com", "password": PASSWORD, "full_name": "Ada"}


def register_json(full_name_literal: str) -> dict[str, Any]:
    """A registration whose `full_name` is the JSON string literal given, escapes as written."""
    return json_body(json.dumps({**REGISTER, "full_name": "@"}).replace('"@"', full_name_literal))


async def test_nul_in_a_path_parameter_names_it(client: httpx.AsyncClient) -> None:
    assert_unstorable(await client.get(f"{API}/courses/%00"), ["path", "course_id"])
    assert_unstorable(await client.get(f"{API}/courses/intro%00python"), ["path", "course_id"])


async def test_nul_in_a_path_without_a_route_is_still_refused(client: httpx.AsyncClient) -> None:
    assert_unstorable(await client.get("/no/such%00/route"), ["path"])


@pytest.mark.parametrize(
    ("query", "loc"),
    [("q=x%00y", "q"), ("skill=%00", "skill"), ("tag=ok&category=a%00", "category")],
)
async def test_nul_in_the_query_string_names_the_parameter(
    client: httpx.AsyncClient, query: str, loc: str
) -> None:
    assert_unstorable(await client.get(f"{API}/courses?{query}"), ["query", loc])


async def test_nul_in_a_query_parameter_name(client: httpx.AsyncClient) -> None:
    assert_unstorable(await client.get(f"{API}/courses?a%00b=1"), ["query", "a\ufffdb"])


async def test_nul_in_a_body_field_is_refused_and_nothing_is_written(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    response = await client.post(f"{API}/auth/register", json={**REGISTER, "full_name": "a\u0000b"})
    assert_unstorable(response, ["body", "full_name"])
    assert await count_rows(app, User) == 0


async def test_every_offending_field_is_listed(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"{API}/auth/register",
        json={"email": "a\u0000@example.com", "password": "p\u0000" * 10, "full_name": "x"},
    )
    assert_unstorable(response, ["body", "email"], ["body", "password"])


async def test_escaped_nul_in_a_nested_list_is_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    instructor = await create_user(app, Role.INSTRUCTOR)
    response = await client.post(
        f"{API}/courses",
        **json_body('{"title": "Python", "tags": ["python", "ok", "bad\\u0000tag"]}', instructor.headers),
    )
    assert_unstorable(response, ["body", "tags", 2])
    assert await count_rows(app, Course) == 0


async def test_nul_in_a_nested_object_field(app: FastAPI, client: httpx.AsyncClient) -> None:
    instructor = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, instructor, lessons=1, lesson_type="quiz")
    lesson_id = (await course_lessons(app, course))[0].id
    quiz = {
        "title": "Check",
        "passing_score": 50,
        "questions": [
            {
                "type": "single_choice",
                "text": "Pick one",
                "options": [{"text": "yes", "is_correct": True}, {"text": "n\u0000o"}],
            }
        ],
    }
    response = await client.put(f"{API}/lessons/{lesson_id}/quiz", headers=instructor.headers, json=quiz)
    assert_unstorable(response, ["body", "questions", 0, "options", 1, "text"])


async def test_nul_in_an_object_key_points_at_the_key(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{API}/auth/register", **json_body('{"full\\u0000name": "x"}'))
    assert_unstorable(response, ["body", "full\ufffdname"])


async def test_unpaired_surrogate_is_refused_but_a_pair_is_text(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    lone = await client.post(f"{API}/auth/register", **register_json(r'"a\ud800b"'))
    assert_unstorable(lone, ["body", "full_name"])
    paired = await client.post(f"{API}/auth/register", **register_json(r'"Ada \ud83d\ude00"'))
    assert paired.status_code == 201, paired.text
    assert paired.json()["full_name"] == "Ada \U0001f600"
    async with app.state.database.sessionmaker() as session:
        assert await session.scalar(select(User.full_name)) == "Ada \U0001f600"


async def test_an_escaped_backslash_before_u0000_is_ordinary_text(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{API}/auth/register", **register_json(r'"a\\u0000b"'))
    assert response.status_code == 201, response.text
    assert response.json()["full_name"] == "a\\u0000b"


async def test_nul_in_a_form_field(app: FastAPI, client: httpx.AsyncClient) -> None:
    urlencoded = await client.post(
        f"{API}/auth/token", data={"username": "a\u0000@example.com", "password": "x"}
    )
    assert_unstorable(urlencoded, ["body", "username"])
    multipart = await client.post(
        f"{API}/auth/token",
        data={"username": "ada@example.com", "password": "x\u0000y"},
        files={"unused": ("f.txt", b"binary \x00 content is fine")},
    )
    assert_unstorable(multipart, ["body", "password"])


async def test_nul_in_a_stored_header_is_refused_before_a_session_is_recorded(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await create_user(app, email="ada@example.com")  # its test token has a session already
    sessions_before = await count_rows(app, AuthSession)
    response = await client.post(
        f"{API}/auth/login",
        json={"email": "ada@example.com", "password": PASSWORD},
        headers={"User-Agent": "Mozilla\x00/5.0"},
    )
    assert_unstorable(response, ["header", "user-agent"])
    assert await count_rows(app, AuthSession) == sessions_before
    accepted = await client.post(
        f"{API}/auth/login",
        json={"email": "ada@example.com", "password": PASSWORD},
        headers={"User-Agent": "Mozilla/5.0 (X11; Linux) caf\xe9".encode("latin-1")},
    )
    assert accepted.status_code == 200, accepted.text
    assert await count_rows(app, AuthSession) == sessions_before + 1


async def test_ordinary_requests_pass_untouched(client: httpx.AsyncClient) -> None:
    catalog = await client.get(f"{API}/courses?q=caf%C3%A9%20%2500&skill=c%2B%2B")
    assert catalog.status_code == 200, catalog.text
    invalid = await client.post(f"{API}/auth/register", **json_body('{"full_name": "\\u00'))
    assert_problem(invalid, 422, "validation_error")
    assert [e["type"] for e in invalid.json()["errors"]] == ["json_invalid"]
