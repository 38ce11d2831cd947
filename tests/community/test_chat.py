"""Course chat over REST (who reads, writes and deletes, the cursor, the limits) and over
`WS /ws/courses/{id}/chat` against a live server with a real WebSocket client, across two
processes on one Redis."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from fastapi import FastAPI

from studyhall.community.models import ChatMessage
from studyhall.core.clock import utcnow
from tests.community.conftest import Classroom
from tests.factories import (
    API,
    AppFactory,
    assert_problem,
    client_for,
    count_rows,
    create_chat_message,
    create_course,
    create_user,
    enroll_directly,
    fresh_row,
    outcomes,
    race,
    set_course,
)


def chat_url(course_id: uuid.UUID) -> str:
    return f"{API}/courses/{course_id}/chat"


def message_url(message_id: uuid.UUID | str) -> str:
    return f"{API}/chat/{message_id}"


# -- REST ----------------------------------------------------------------------------------


async def test_members_and_staff_send_and_read_the_chat(
    app: FastAPI, client: httpx.AsyncClient, room: Classroom
) -> None:
    url = chat_url(room.course.id)
    sent = []
    for actor, text in (
        (room.student, "  Hi <b>all</b>  "),
        (room.teacher, "Welcome"),
        (room.admin, "Hello"),
    ):
        response = await client.post(url, json={"body": text}, headers=actor.headers)
        assert response.status_code == 201, response.text
        sent.append(response.json())
    assert sent[0]["body"] == "Hi <b>all</b>"  # plain text, trimmed, stored as written
    assert sent[0]["author_id"] == room.student.id
    assert sent[0]["course_id"] == str(room.course.id)
    row = await fresh_row(app, ChatMessage, sent[0]["id"])
    assert (row.body, row.author_id, row.deleted_at) == ("Hi <b>all</b>", room.student.user.id, None)
    listed = await client.get(url, headers=room.classmate.headers)
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["items"]] == [item["id"] for item in reversed(sent)]
    assert listed.json()["next_before"] is None


async def test_non_members_neither_read_nor_write(
    app: FastAPI, client: httpx.AsyncClient, room: Classroom
) -> None:
    url = chat_url(room.course.id)
    await create_chat_message(app, room.student, room.course)
    # Sees the course, is not enrolled: 403; a course the caller may not see: 404.
    assert_problem(await client.get(url, headers=room.outsider.headers), 403, "not_enrolled")
    assert_problem(
        await client.post(url, json={"body": "x"}, headers=room.outsider.headers), 403, "not_enrolled"
    )
    draft = await create_course(app, room.teacher, status="draft")
    for course_id in (draft.id, uuid.uuid4()):
        assert_problem(
            await client.get(chat_url(course_id), headers=room.student.headers), 404, "course_not_found"
        )
        posted = await client.post(chat_url(course_id), json={"body": "x"}, headers=room.student.headers)
        assert_problem(posted, 404, "course_not_found")
    assert (await client.get(url)).status_code == 401
    # A course that became invisible closes its chat to students, not to staff.
    await set_course(app, room.course, status="draft")
    assert_problem(await client.get(url, headers=room.student.headers), 404, "course_not_found")
    assert (await client.get(url, headers=room.teacher.headers)).status_code == 200
    await set_course(app, room.course, status="published")
    # A student who left is no longer a member.
    left = await client.delete(f"{API}/courses/{room.course.id}/enroll", headers=room.student.headers)
    assert left.status_code == 204
    assert_problem(await client.get(url, headers=room.student.headers), 403, "not_enrolled")
    assert await count_rows(app, ChatMessage) == 1


async def test_a_message_is_1_to_2000_characters(
    app: FastAPI, client: httpx.AsyncClient, room: Classroom
) -> None:
    url = chat_url(room.course.id)
    for body in ("", "   ", "x" * 2001):
        assert_problem(
            await client.post(url, json={"body": body}, headers=room.student.headers),
            422,
            "chat_message_invalid",
        )
    for bad in ({}, {"body": 3}, {"body": "x", "extra": 1}):
        assert_problem(
            await client.post(url, json=bad, headers=room.student.headers), 422, "validation_error"
        )
    assert await count_rows(app, ChatMessage) == 0
    assert (
        await client.post(url, json={"body": "x" * 2000}, headers=room.student.headers)
    ).status_code == 201


async def test_history_pages_newest_first_by_cursor(
    app: FastAPI, client: httpx.AsyncClient, room: Classroom
) -> None:
    start = utcnow() - timedelta(hours=1)
    # Two share a timestamp: the id breaks the tie, so none is skipped or repeated.
    stamps = [start + timedelta(seconds=n) for n in (0, 1, 2, 2, 3, 4, 5)]
    made = [await create_chat_message(app, room.student, room.course, created_at=at) for at in stamps]
    await create_chat_message(
        app, room.student, room.course, created_at=start + timedelta(seconds=6), deleted=True
    )
    await create_chat_message(app, room.student, room.other_course)
    expected = [str(m.id) for m in sorted(made, key=lambda m: (m.created_at, m.id), reverse=True)]
    seen: list[str] = []
    before: str | None = None
    pages = 0
    while True:
        params = {"limit": 3, **({"before": before} if before else {})}
        page = (
            await client.get(chat_url(room.course.id), params=params, headers=room.student.headers)
        ).json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        before = page["next_before"]
        if before is None:
            break
    assert seen == expected
    assert pages == 3
    default = await client.get(chat_url(room.course.id), headers=room.student.headers)
    assert len(default.json()["items"]) == 7
    for limit in (0, 101):
        response = await client.get(
            chat_url(room.course.id), params={"limit": limit}, headers=room.student.headers
        )
        assert_problem(response, 422, "validation_error")


async def test_the_author_and_staff_delete_a_message(
    app: FastAPI, client: httpx.AsyncClient, room: Classroom
) -> None:
    mine = await create_chat_message(app, room.student, room.course)
    theirs = await create_chat_message(app, room.classmate, room.course)
    assert_problem(
        await client.delete(message_url(theirs.id), headers=room.student.headers),
        403,
        "cannot_delete_chat_message",
    )
    assert_problem(
        await client.delete(message_url(mine.id), headers=room.outsider.headers),
        404,
        "chat_message_not_found",
    )
    assert (await fresh_row(app, ChatMessage, theirs.id)).deleted_at is None
    assert (await client.delete(message_url(mine.id), headers=room.student.headers)).status_code == 204
    assert (await client.delete(message_url(theirs.id), headers=room.co_teacher.headers)).status_code == 204
    assert (await fresh_row(app, ChatMessage, mine.id)).deleted_at is not None
    assert (await fresh_row(app, ChatMessage, theirs.id)).deleted_at is not None
    # Gone from the history, and a second delete finds nothing.
    assert (await client.get(chat_url(room.course.id), headers=room.student.headers)).json()["items"] == []
    assert_problem(
        await client.delete(message_url(mine.id), headers=room.teacher.headers), 404, "chat_message_not_found"
    )
    assert_problem(
        await client.delete(message_url(uuid.uuid4()), headers=room.teacher.headers),
        404,
        "chat_message_not_found",
    )


async def test_concurrent_deletes_of_one_message_delete_it_once(
    app: FastAPI, client: httpx.AsyncClient, room: Classroom
) -> None:
    message = await create_chat_message(app, room.student, room.course)
    responses = await race(
        client.delete(message_url(message.id), headers=actor.headers)
        for actor in (room.student, room.teacher)
    )
    assert outcomes(responses) == {(204, None): 1, (404, "chat_message_not_found"): 1}
    assert (await fresh_row(app, ChatMessage, message.id)).deleted_at is not None


async def test_chat_is_rate_limited_per_user(make_app: AppFactory) -> None:
    app = await make_app(rate_limit_chat="2/minute")
    teacher = await create_user(app, "instructor")
    course = await create_course(app, teacher)
    other = await create_user(app)
    await enroll_directly(app, other, course)
    async with client_for(app) as client:
        for _ in range(2):
            assert (
                await client.post(chat_url(course.id), json={"body": "b"}, headers=teacher.headers)
            ).status_code == 201
        limited = await client.post(chat_url(course.id), json={"body": "b"}, headers=teacher.headers)
        assert_problem(limited, 429, "rate_limited")
        # Another user has their own allowance.
        assert (
            await client.post(chat_url(course.id), json={"body": "b"}, headers=other.headers)
        ).status_code == 201
    assert await count_rows(app, ChatMessage, ChatMessage.author_id == teacher.user.id) == 2
