"""`WS /ws/notifications` against a live uvicorn server with a real WebSocket client: sign-in,
delivery after commit (never after a rollback, never to someone else), replay with `since`,
pings, session checks, slow clients, and delivery across two processes over Redis."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import update
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from studyhall.core.clock import utcnow
from studyhall.core.pubsub import (
    HUB_INFO_KEY,
    HubUnavailable,
    LocalHub,
    RedisHub,
    SubscriberTooSlow,
    wait_for_publishes,
)
from studyhall.identity.models import AuthSession
from studyhall.notifications import handlers, realtime, service
from studyhall.notifications.models import Notification, NotificationCounter
from tests.conftest import apps_on
from tests.factories import (
    WAIT,
    Actor,
    AppFactory,
    access_token_for,
    assert_notification_message,
    close_code,
    course_completed_event,
    create_course,
    create_user,
    deliver,
    enroll_directly,
    enrollment_row,
    fresh_row,
    live_server,
    notice,
    notify,
    receive,
    rows,
    signed_in,
)
from tests.servers import RedisServer, free_port


@pytest.fixture
async def server(app: FastAPI) -> AsyncIterator[str]:
    async with live_server(app) as url:
        yield url


# -- signing in ------------------------------------------------------------------------------


async def test_a_token_in_the_query_signs_in_and_a_handlers_notification_arrives(
    app: FastAPI, server: str
) -> None:
    teacher = await create_user(app, "instructor")
    student = await create_user(app)
    course = await create_course(app, teacher)
    await enroll_directly(app, student, course)
    enrollment = await enrollment_row(app, student, course)
    assert enrollment is not None
    async with await signed_in(server, student) as socket:
        await asyncio.sleep(0.2)  # signed in: what commits from now on is pushed
        await deliver(app, handlers.notify_student_of_completion, course_completed_event(enrollment))
        await wait_for_publishes()
        message = await receive(socket)
    [row] = await rows(app, Notification, Notification.user_id == student.user.id)
    assert row.type == "course.completed"
    assert_notification_message(message, row)
    assert message["data"]["data"]["course_id"] == str(course.id)


async def test_a_token_in_the_query_never_reaches_the_logs(
    app: FastAPI, server: str, caplog: pytest.LogCaptureFixture
) -> None:
    student = await create_user(app)
    # Whatever level an earlier test in this process left: uvicorn logs the URL at INFO.
    caplog.set_level(logging.INFO, logger="uvicorn.error")
    async with await signed_in(server, student) as socket:
        await asyncio.sleep(0.2)
        await notify(app, student)
        await receive(socket)
    # The filter rewrites the record on its logger, before any handler formats it.
    assert "/ws/notifications?token=[redacted]" in caplog.text  # uvicorn logged the socket's URL
    assert student.token not in caplog.text


async def test_the_first_message_may_sign_in(app: FastAPI, server: str) -> None:
    student = await create_user(app)
    async with connect(f"{server}/ws/notifications") as socket:
        await socket.send(json.dumps({"type": "auth", "token": student.token}))
        await asyncio.sleep(0.2)  # signed in and subscribed before the notification commits
        row = await notify(app, student)
        assert_notification_message(await receive(socket), row)


@pytest.mark.parametrize(
    "first_message",
    [
        json.dumps({"type": "auth", "token": "not-a-token"}),
        json.dumps({"type": "hello"}),
        "not json",
    ],
)
async def test_a_bad_first_message_closes_with_4401(app: FastAPI, server: str, first_message: str) -> None:
    async with connect(f"{server}/ws/notifications") as socket:
        await socket.send(first_message)
        assert await close_code(socket) == 4401


async def test_no_auth_message_in_time_closes_with_4401(make_app: AppFactory) -> None:
    app = await make_app(ws_auth_timeout_seconds=0.2)
    async with live_server(app) as url, connect(f"{url}/ws/notifications") as socket:
        assert await close_code(socket) == 4401


async def test_bad_expired_and_signed_out_tokens_close_with_4401(app: FastAPI, server: str) -> None:
    student = await create_user(app)
    expired = await access_token_for(app, student.user, ttl=timedelta(seconds=-1))
    await _sign_out_everywhere(app, student)
    for token in ("garbage", expired, student.token):
        async with connect(f"{server}/ws/notifications?token={token}") as socket:
            assert await close_code(socket) == 4401


@pytest.mark.parametrize(
    "since", ["nope", "-1", "1.5", "", "%C2%B2", "9" * 19, "0f9b7c1e-3c1a-4e0b-9a7e-2a51a1c0d5e4"]
)
async def test_a_malformed_since_closes_with_4400(app: FastAPI, server: str, since: str) -> None:
    student = await create_user(app)
    await notify(app, student)
    async with await signed_in(server, student, f"&since={since}") as socket:
        assert await close_code(socket) == 4400


# -- what arrives ------------------------------------------------------------------------------


async def test_a_rolled_back_notification_is_never_pushed(app: FastAPI, server: str) -> None:
    student = await create_user(app)
    async with await signed_in(server, student) as socket:
        await asyncio.sleep(0.2)
        with pytest.raises(RuntimeError):
            async with app.state.database.sessionmaker() as session, session.begin():
                await service.add_notification(session, student.user.id, uuid.uuid4(), notice("Undone"))
                raise RuntimeError("the unit of work fails")
        await wait_for_publishes()
        committed = await notify(app, student, "Kept")
        assert_notification_message(await receive(socket), committed)  # the first thing it gets
    assert [row.title for row in await rows(app, Notification)] == ["Kept"]


async def test_someone_elses_notification_never_arrives(app: FastAPI, server: str) -> None:
    student, other = await create_user(app), await create_user(app)
    async with await signed_in(server, student) as socket:
        await asyncio.sleep(0.2)
        await notify(app, other, "For the other one")
        mine = await notify(app, student, "For me")
        assert_notification_message(await receive(socket), mine)


async def test_pings_come_every_interval(make_app: AppFactory) -> None:
    app = await make_app(ws_ping_interval_seconds=0.1)
    student = await create_user(app)
    async with live_server(app) as url, await signed_in(url, student) as socket:
        assert [await receive(socket) for _ in range(2)] == [{"type": "ping"}] * 2


async def test_a_session_signed_out_while_connected_closes_the_socket(make_app: AppFactory) -> None:
    app = await make_app(ws_ping_interval_seconds=0.1)
    student = await create_user(app)
    async with live_server(app) as url, await signed_in(url, student) as socket:
        assert await receive(socket) == {"type": "ping"}
        await _sign_out_everywhere(app, student)
        assert await close_code(socket) == 4401


async def _sign_out_everywhere(app: FastAPI, actor: Actor) -> None:
    async with app.state.database.sessionmaker() as session, session.begin():
        await session.execute(
            update(AuthSession).where(AuthSession.user_id == actor.user.id).values(revoked_at=utcnow())
        )


# -- replay ------------------------------------------------------------------------------------


async def test_since_replays_what_was_missed_then_live_ones_without_duplicates(
    app: FastAPI, server: str
) -> None:
    student, other = await create_user(app), await create_user(app)
    seen, *missed = [await notify(app, student, f"Number {n}") for n in range(3)]
    await notify(app, other, "Not mine")
    async with await signed_in(server, student, f"&since={seen.seq}") as socket:
        replayed = [await receive(socket) for _ in missed]
        # A live copy of a replayed one (its commit raced the replay) is dropped.
        await app.state.hub.publish(
            realtime.channel_of(student.user.id), json.dumps(realtime.socket_message(missed[-1]))
        )
        live = await notify(app, student, "Live")
        after = await receive(socket)
    assert [m["id"] for m in replayed] == [row.seq for row in missed] == [2, 3]
    assert_notification_message(replayed[0], missed[0])
    assert_notification_message(after, live)
    assert live.seq == 4


async def test_since_zero_replays_everything_and_without_since_nothing(app: FastAPI, server: str) -> None:
    student = await create_user(app)
    stored = [await notify(app, student, f"Number {n}") for n in range(2)]
    async with await signed_in(server, student, "&since=0") as socket:
        assert [(await receive(socket))["id"] for _ in stored] == [1, 2]
    async with await signed_in(server, student) as socket:
        await asyncio.sleep(0.2)
        live = await notify(app, student, "Live")
        assert_notification_message(await receive(socket), live)  # not a stored one first


async def test_a_since_beyond_the_users_last_number_replays_nothing_and_live_ones_come(
    app: FastAPI, server: str
) -> None:
    """Numbers are per user: another user's higher number (or any too high) starts from the
    caller's own last one, so their next notification is not mistaken for one already sent."""
    student, other = await create_user(app), await create_user(app)
    await notify(app, student, "Mine, before")
    for n in range(3):
        await notify(app, other, f"Theirs {n}")
    async with await signed_in(server, student, "&since=3") as socket:
        await asyncio.sleep(0.2)
        live = await notify(app, student, "Live")
        assert_notification_message(await receive(socket), live)
    assert live.seq == 2


async def test_numbers_increase_by_one_per_user_and_a_redelivery_takes_none(app: FastAPI) -> None:
    student, other = await create_user(app), await create_user(app)
    made = [await notify(app, who, title) for who, title in [(student, "a"), (other, "b"), (student, "c")]]
    event_id = uuid.uuid4()
    for _ in range(2):  # the same event again inserts nothing and gives its number back
        async with app.state.database.sessionmaker() as session, session.begin():
            await service.add_notification(session, student.user.id, event_id, notice("Once"))
    last = await notify(app, student, "d")
    assert [row.seq for row in made] == [1, 1, 2]
    mine = await rows(app, Notification, Notification.user_id == student.user.id)
    assert sorted((row.seq, row.title) for row in mine) == [(1, "a"), (2, "c"), (3, "Once"), (4, "d")]
    assert last.seq == 4
    [counter] = await rows(app, NotificationCounter, NotificationCounter.user_id == student.user.id)
    assert counter.last == 4


async def test_a_rolled_back_notification_gives_its_number_back(app: FastAPI) -> None:
    student = await create_user(app)
    with pytest.raises(RuntimeError):
        async with app.state.database.sessionmaker() as session, session.begin():
            await service.add_notification(session, student.user.id, uuid.uuid4(), notice("Undone"))
            raise RuntimeError("the unit of work fails")
    assert (await notify(app, student)).seq == 1


@pytest.mark.postgresql_only
async def test_concurrent_notifications_of_one_user_commit_in_number_order(app: FastAPI, server: str) -> None:
    """Eight handlers notify one user at once, each holding its transaction open a while:
    the numbers are 1..8, each committed before the next is taken, so the socket receives
    them in order without a hole and a replay from any of them misses none."""
    student = await create_user(app)

    async def handler(n: int) -> None:
        async with app.state.database.sessionmaker() as session, session.begin():
            await service.add_notification(session, student.user.id, uuid.uuid4(), notice(f"Concurrent {n}"))
            await asyncio.sleep(0.05)  # others try meanwhile; they wait for this commit

    async with await signed_in(server, student) as socket:
        await asyncio.sleep(0.2)
        await asyncio.gather(*(handler(n) for n in range(8)))
        await wait_for_publishes()
        received = [(await receive(socket))["id"] for _ in range(8)]
    assert received == list(range(1, 9))
    stored = await rows(app, Notification, Notification.user_id == student.user.id)
    by_number = sorted(stored, key=lambda row: row.seq)
    assert [row.seq for row in by_number] == list(range(1, 9))
    # Commit order is number order: creation times (taken after the number) follow it too.
    assert [row.created_at for row in by_number] == sorted(row.created_at for row in stored)
    async with await signed_in(server, student, "&since=5") as socket:
        assert [(await receive(socket))["id"] for _ in range(3)] == [6, 7, 8]


async def test_a_notification_that_overtakes_an_earlier_one_waits_for_it(app: FastAPI, server: str) -> None:
    """Across processes a later number can reach the hub first: the socket sends the earlier
    one from the database first, and drops it when it arrives late."""
    student = await create_user(app)
    async with await signed_in(server, student) as socket:
        await asyncio.sleep(0.2)
        first = await notify(app, student, "First")
        assert_notification_message(await receive(socket), first)
        async with app.state.database.sessionmaker() as session, session.begin():
            session.info.pop(HUB_INFO_KEY)  # not published on commit: below, out of order
            for title in ("Second", "Third"):
                await service.add_notification(session, student.user.id, uuid.uuid4(), notice(title))
        second, third = sorted(
            await rows(app, Notification, Notification.seq > 1, Notification.user_id == student.user.id),
            key=lambda row: row.seq,
        )
        channel = realtime.channel_of(student.user.id)
        await app.state.hub.publish(channel, json.dumps(realtime.socket_message(third)))
        await app.state.hub.publish(channel, json.dumps(realtime.socket_message(second)))
        got = [await receive(socket) for _ in range(2)]
        last = await notify(app, student, "Fourth")
        assert_notification_message(await receive(socket), last)  # the late copy was dropped
    assert_notification_message(got[0], second)
    assert_notification_message(got[1], third)


# -- slow clients --------------------------------------------------------------------------------


async def test_a_subscriber_whose_buffer_fills_is_dropped() -> None:
    hub = LocalHub(buffer_size=2)
    async with hub.subscribe("c") as subscription:
        for n in range(3):
            await hub.publish("c", str(n))
        with pytest.raises(SubscriberTooSlow):
            await anext(subscription)
        await hub.publish("c", "later")  # ignored: it is dropped
    async with hub.subscribe("c") as fresh:
        await hub.publish("c", "new")
        assert await anext(fresh) == "new"


async def test_a_socket_whose_buffer_fills_is_closed_with_1013(make_app: AppFactory) -> None:
    """More messages arrive at once than the socket's buffer holds (the client cannot have
    taken them yet): it is closed, having got at most its buffer's worth."""
    app = await make_app(ws_buffer_messages=4)
    student = await create_user(app)
    async with live_server(app) as url, await signed_in(url, student) as socket:
        await asyncio.sleep(0.2)
        row = await notify(app, student)
        message = json.dumps(realtime.socket_message(row))
        channel = realtime.channel_of(student.user.id)
        assert_notification_message(await receive(socket), row)
        for _ in range(50):  # one burst: the socket sends nothing in between
            await app.state.hub.publish(channel, message)
        received = 0
        with pytest.raises(ConnectionClosed):
            while True:
                await asyncio.wait_for(socket.recv(), WAIT)
                received += 1
        assert socket.close_code == 1013
        assert received <= 4


# -- across processes ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url


async def test_a_notification_made_in_one_process_reaches_a_socket_on_another(
    database_url: str, redis_url: str, tmp_path: Any
) -> None:
    """Two API processes on one Redis: what process A commits reaches its user's socket on
    process B, and nobody else's."""
    async with apps_on(database_url, tmp_path, redis_url=redis_url) as make:
        process_a, process_b = await make(), await make()
        student, other = await create_user(process_a), await create_user(process_a)
        async with (
            live_server(process_b) as url,
            await signed_in(url, student) as socket,
            await signed_in(url, other) as others_socket,
        ):
            await asyncio.sleep(0.2)
            row = await notify(process_a, student, "From A")
            assert_notification_message(await receive(socket), row)
            for_other = await notify(process_a, other, "For the other one")
            assert_notification_message(await receive(others_socket), for_other)  # not the student's first
        assert (await fresh_row(process_b, Notification, row.id)).title == "From A"


async def test_a_redis_hub_fans_out_to_every_local_subscriber_until_they_leave(redis_url: str) -> None:
    publisher, listener = RedisHub(redis_url), RedisHub(redis_url)
    try:
        async with listener.subscribe("c") as first, listener.subscribe("c") as second:
            await publisher.publish("c", "hello")
            assert [await asyncio.wait_for(anext(s), WAIT) for s in (first, second)] == ["hello"] * 2
        async with listener.subscribe("c") as again:
            await publisher.publish("c", "again")
            assert await asyncio.wait_for(anext(again), WAIT) == "again"
    finally:
        await publisher.aclose()
        await listener.aclose()


# -- Redis down --------------------------------------------------------------------------------


async def test_a_redis_hub_that_cannot_reach_redis_refuses_to_subscribe() -> None:
    hub = RedisHub(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    try:
        with pytest.raises(HubUnavailable):
            async with hub.subscribe("c"):
                pass
        with pytest.raises(HubUnavailable):  # and again: nothing was left half-subscribed
            async with hub.subscribe("c"):
                pass
    finally:
        await hub.aclose()


async def test_a_socket_opened_while_redis_is_down_closes_with_1013_and_works_once_it_is_back(
    make_app: AppFactory, capfd: pytest.CaptureFixture[str]
) -> None:
    """The production hub on a Redis of its own, stopped while the API runs: a socket that
    signs in then is closed cleanly with 1013 ("try again later") and the cause is logged;
    once Redis is back, a new socket subscribes and gets its notifications."""
    redis = RedisServer().start()
    try:
        app = await make_app(redis_url=redis.url)
        student = await create_user(app)
        async with live_server(app) as url:
            redis.stop()
            capfd.readouterr()
            async with await signed_in(url, student) as socket:
                assert await close_code(socket) == 1013
                assert socket.close_reason == "live updates unavailable: try again later"
            logged = capfd.readouterr().err  # the JSON log lines
            assert '"event": "socket_hub_unavailable"' in logged
            assert student.token not in logged
            redis.start()
            async with await signed_in(url, student) as socket:
                await asyncio.sleep(0.2)
                row = await notify(app, student)
                assert_notification_message(await receive(socket), row)
    finally:
        redis.remove()
