"""Course chat over REST (who reads, writes and deletes, the cursor, the limits) and over
`WS /ws/courses/{id}/chat` against a live server with a real WebSocket client, across two
processes on one Redis."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect

from studyhall.community import chat
from studyhall.community.models import ChatMessage
from studyhall.core.clock import utcnow
from studyhall.core.pubsub import wait_for_publishes
from studyhall.core.ratelimit import RateLimiter
from tests.community.conftest import Classroom
from tests.conftest import apps_on
from tests.factories import (
    API,
    Actor,
    AppFactory,
    assert_problem,
    client_for,
    close_code,
    count_rows,
    create_chat_message,
    create_course,
    create_user,
    enroll_directly,
    fresh_row,
    live_server,
    outcomes,
    race,
    receive,
    rows,
    set_course,
)
from tests.servers import RedisServer


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


# -- the socket ----------------------------------------------------------------------------


@pytest.fixture
async def server(app: FastAPI) -> AsyncIterator[str]:
    async with live_server(app) as url:
        yield url


async def chat_socket(url: str, course_id: uuid.UUID, actor: Actor) -> ClientConnection:
    return await connect(f"{url}/ws/courses/{course_id}/chat?token={actor.token}")


async def joined(url: str, course_id: uuid.UUID, actor: Actor) -> ClientConnection:
    """A member's socket, subscribed (its first ping-free moment) before anything is sent."""
    socket = await chat_socket(url, course_id, actor)
    await asyncio.sleep(0.2)
    return socket


async def post_over_rest(app: FastAPI, course_id: uuid.UUID, actor: Actor, body: str) -> dict[str, Any]:
    async with client_for(app) as client:
        response = await client.post(chat_url(course_id), json={"body": body}, headers=actor.headers)
    assert response.status_code == 201, response.text
    await wait_for_publishes()
    created: dict[str, Any] = response.json()
    return created


async def test_members_receive_messages_sent_over_rest_and_over_the_socket(
    app: FastAPI, server: str, room: Classroom
) -> None:
    async with (
        await joined(server, room.course.id, room.student) as student,
        await joined(server, room.course.id, room.teacher) as teacher,
    ):
        sent = await post_over_rest(app, room.course.id, room.classmate, "Over REST")
        for socket in (student, teacher):
            assert await receive(socket) == {"type": "chat.message", "data": sent}
        await teacher.send(json.dumps({"type": "chat.send", "body": "  Over the socket "}))
        for socket in (student, teacher):
            message = await receive(socket)
            assert message["type"] == "chat.message"
            assert message["data"]["body"] == "Over the socket"
            assert message["data"]["author_id"] == room.teacher.id
        row = await fresh_row(app, ChatMessage, message["data"]["id"])
        assert (row.body, row.course_id, row.author_id) == (
            "Over the socket",
            room.course.id,
            room.teacher.user.id,
        )
        async with client_for(app) as client:
            deleted = await client.delete(message_url(row.id), headers=room.teacher.headers)
        assert deleted.status_code == 204
        await wait_for_publishes()
        assert await receive(student) == {"type": "chat.deleted", "data": {"id": str(row.id)}}


async def test_a_bad_chat_send_is_answered_and_the_socket_stays_open(
    app: FastAPI, server: str, room: Classroom
) -> None:
    async with await joined(server, room.course.id, room.student) as socket:
        for bad, code in (
            ("not json", "bad_message"),
            (json.dumps({"type": "chat.shout", "body": "x"}), "bad_message"),
            (json.dumps({"type": "chat.send", "body": ""}), "chat_message_invalid"),
            (json.dumps({"type": "chat.send", "body": 5}), "chat_message_invalid"),
            (json.dumps({"type": "chat.send", "body": "x" * 2001}), "chat_message_invalid"),
        ):
            await socket.send(bad)
            answer = await receive(socket)
            assert answer["type"] == "error" and answer["code"] == code, answer
            assert answer["detail"]
        assert await count_rows(app, ChatMessage) == 0
        await socket.send(json.dumps({"type": "chat.send", "body": "Still here"}))
        assert (await receive(socket))["data"]["body"] == "Still here"
    assert await count_rows(app, ChatMessage) == 1


async def test_the_socket_shares_the_rest_rate_limit(make_app: AppFactory) -> None:
    app = await make_app(rate_limit_chat="1/minute")
    teacher = await create_user(app, "instructor")
    course = await create_course(app, teacher)
    async with live_server(app) as url, await joined(url, course.id, teacher) as socket:
        await post_over_rest(app, course.id, teacher, "One")
        assert (await receive(socket))["data"]["body"] == "One"
        await socket.send(json.dumps({"type": "chat.send", "body": "Two"}))
        assert (await receive(socket))["code"] == "rate_limited"
    assert await count_rows(app, ChatMessage) == 1


async def test_non_members_and_bad_tokens_are_refused(app: FastAPI, server: str, room: Classroom) -> None:
    draft = await create_course(app, room.teacher, status="draft")
    refused = (
        (room.course.id, room.outsider, 4403),
        (draft.id, room.student, 4404),
        (uuid.uuid4(), room.student, 4404),
    )
    for course_id, actor, code in refused:
        async with await chat_socket(server, course_id, actor) as socket:
            assert await close_code(socket) == code
    async with connect(f"{server}/ws/courses/{room.course.id}/chat?token=garbage") as socket:
        assert await close_code(socket) == 4401
    # The first message may sign in, as on the notifications socket.
    async with connect(f"{server}/ws/courses/{room.course.id}/chat") as socket:
        await socket.send(json.dumps({"type": "auth", "token": room.student.token}))
        await asyncio.sleep(0.2)
        sent = await post_over_rest(app, room.course.id, room.teacher, "Hi")
        assert (await receive(socket))["data"] == sent


async def test_a_member_who_leaves_is_closed_at_the_next_heartbeat(make_app: AppFactory) -> None:
    app = await make_app(ws_ping_interval_seconds=0.2)
    teacher, student = await create_user(app, "instructor"), await create_user(app)
    course = await create_course(app, teacher)
    await enroll_directly(app, student, course)
    async with live_server(app) as url, await joined(url, course.id, student) as socket:
        assert (await receive(socket))["type"] == "ping"
        async with client_for(app) as client:
            left = await client.delete(f"{API}/courses/{course.id}/enroll", headers=student.headers)
        assert left.status_code == 204
        assert await close_code(socket) == 4403


async def test_a_rolled_back_message_is_never_pushed_nor_another_courses(
    app: FastAPI, server: str, room: Classroom
) -> None:
    async with await joined(server, room.course.id, room.student) as socket:
        with pytest.raises(RuntimeError):
            async with app.state.database.sessionmaker() as session, session.begin():
                await chat.send_message(
                    session,
                    room.teacher.user,
                    room.course.id,
                    "Undone",
                    limiter=RateLimiter.in_memory(),
                    rate_limit="10/minute",
                )
                raise RuntimeError("the unit of work fails")
        await wait_for_publishes()
        await post_over_rest(app, room.other_course.id, room.co_teacher, "Elsewhere")
        kept = await post_over_rest(app, room.course.id, room.teacher, "Kept")
        assert await receive(socket) == {"type": "chat.message", "data": kept}  # the first it gets
    assert sorted(row.body for row in await rows(app, ChatMessage)) == ["Elsewhere", "Kept"]


@pytest.fixture(scope="module")
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url


async def test_chat_crosses_processes_on_redis(database_url: str, redis_url: str, tmp_path: Any) -> None:
    """Two API processes on one Redis: a message sent to process A (REST or socket) reaches
    sockets on process B, and only that course's."""
    async with apps_on(database_url, tmp_path, redis_url=redis_url) as make:
        process_a, process_b = await make(), await make()
        teacher, student = await create_user(process_a, "instructor"), await create_user(process_a)
        course = await create_course(process_a, teacher)
        other_course = await create_course(process_a, teacher)
        await enroll_directly(process_a, student, course)
        async with (
            live_server(process_a) as url_a,
            live_server(process_b) as url_b,
            await joined(url_b, course.id, student) as on_b,
            await joined(url_b, other_course.id, teacher) as other_on_b,
            await joined(url_a, course.id, teacher) as on_a,
        ):
            sent = await post_over_rest(process_a, course.id, teacher, "From A")
            assert await receive(on_b) == {"type": "chat.message", "data": sent}
            await on_a.send(json.dumps({"type": "chat.send", "body": "Socket on A"}))
            assert (await receive(on_b))["data"]["body"] == "Socket on A"
            await on_b.send(json.dumps({"type": "chat.send", "body": "Socket on B"}))
            assert [(await receive(on_a))["data"]["body"] for _ in range(3)] == [
                "From A",
                "Socket on A",
                "Socket on B",
            ]
            elsewhere = await post_over_rest(process_a, other_course.id, teacher, "Elsewhere")
            assert await receive(other_on_b) == {"type": "chat.message", "data": elsewhere}  # not course's
        assert await count_rows(process_b, ChatMessage) == 4
