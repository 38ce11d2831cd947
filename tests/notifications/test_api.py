"""The notifications API: the caller's list, marking read, and preferences."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import insert, text
from sqlalchemy.dialects import postgresql

from studyhall.core.clock import utcnow
from studyhall.notifications import service
from studyhall.notifications.models import Notification, NotificationPreference
from tests.factories import (
    API,
    FakeClock,
    assert_problem,
    count_rows,
    create_notification,
    create_user,
    fresh_row,
    outcomes,
    race,
    rows,
)

NOTIFICATIONS = f"{API}/notifications"
PREFERENCES = f"{API}/me/notification-preferences"
DEFAULTS = {
    "enrollment.created": {"email": False, "in_app": True},
    "quiz.graded": {"email": True, "in_app": True},
    "submission.graded": {"email": True, "in_app": True},
    "course.completed": {"email": False, "in_app": True},
    "certificate.issued": {"email": True, "in_app": True},
    "post.created": {"email": False, "in_app": True},
    "announcement.posted": {"email": True, "in_app": True},
    "comment.created": {"email": False, "in_app": True},
}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/notifications"),
        # a fixed id: test ids must be the same in every test process (pytest-xdist)
        ("POST", f"/notifications/{uuid.UUID(int=1)}/read"),
        ("POST", "/notifications/read-all"),
        ("GET", "/me/notification-preferences"),
        ("PUT", "/me/notification-preferences"),
    ],
)
async def test_every_route_needs_a_signed_in_caller(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, f"{API}{path}", json={} if method == "PUT" else None)
    assert_problem(response, 401, "not_authenticated")
    assert response.headers["WWW-Authenticate"] == "Bearer"


def titles(body: dict[str, Any]) -> list[str]:
    return [item["title"] for item in body["items"]]


async def test_my_notifications_newest_first_with_the_unread_count(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    me, someone = await create_user(app), await create_user(app)
    first = await create_notification(app, me, title="First", read=True, data={"course_id": "c1"})
    clock.advance(minutes=1)
    await create_notification(app, me, title="Second")
    clock.advance(minutes=1)
    await create_notification(app, me, title="Third", type="quiz.graded")
    await create_notification(app, someone, title="Not mine")

    response = await client.get(NOTIFICATIONS, headers=me.headers)
    assert response.status_code == 200
    body = response.json()
    assert titles(body) == ["Third", "Second", "First"]
    assert (body["total"], body["limit"], body["offset"], body["unread_count"]) == (3, 20, 0, 2)
    oldest = body["items"][2]
    assert oldest == {
        "id": str(first.id),
        "type": "course.completed",
        "title": "First",
        "body": "First.",
        "data": {"course_id": "c1"},
        "created_at": oldest["created_at"],
        "read_at": oldest["read_at"],
    }
    assert oldest["read_at"] is not None and body["items"][0]["read_at"] is None

    unread = (await client.get(NOTIFICATIONS, params={"unread": "true"}, headers=me.headers)).json()
    assert titles(unread) == ["Third", "Second"]
    assert (unread["total"], unread["unread_count"]) == (2, 2)
    # The other user sees only theirs.
    theirs = (await client.get(NOTIFICATIONS, headers=someone.headers)).json()
    assert titles(theirs) == ["Not mine"] and theirs["unread_count"] == 1


async def test_the_list_is_paginated(app: FastAPI, client: httpx.AsyncClient, clock: FakeClock) -> None:
    me = await create_user(app)
    for n in range(5):
        clock.advance(seconds=1)
        await create_notification(app, me, title=f"N{n}")
    page = (await client.get(NOTIFICATIONS, params={"limit": 2, "offset": 2}, headers=me.headers)).json()
    assert titles(page) == ["N2", "N1"]
    assert (page["total"], page["limit"], page["offset"], page["unread_count"]) == (5, 2, 2, 5)
    past_the_end = (await client.get(NOTIFICATIONS, params={"offset": 9}, headers=me.headers)).json()
    assert past_the_end["items"] == [] and past_the_end["total"] == 5


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"unread": "maybe"}])
async def test_bad_list_parameters_are_422(
    app: FastAPI, client: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    me = await create_user(app)
    assert_problem(
        await client.get(NOTIFICATIONS, params=params, headers=me.headers), 422, "validation_error"
    )


async def test_marking_read_is_idempotent(app: FastAPI, client: httpx.AsyncClient, clock: FakeClock) -> None:
    me = await create_user(app)
    notification = await create_notification(app, me, title="Graded")
    url = f"{NOTIFICATIONS}/{notification.id}/read"

    response = await client.post(url, headers=me.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(notification.id) and body["title"] == "Graded"
    stored = await fresh_row(app, Notification, notification.id)
    assert stored.read_at == clock.now
    assert body["read_at"] == clock.now.isoformat().replace("+00:00", "Z")

    clock.advance(minutes=5)
    again = await client.post(url, headers=me.headers)
    assert again.status_code == 200 and again.json()["read_at"] == body["read_at"]
    assert (await fresh_row(app, Notification, notification.id)).read_at == stored.read_at
    listed = (await client.get(NOTIFICATIONS, headers=me.headers)).json()
    assert listed["unread_count"] == 0


async def test_someone_elses_or_an_unknown_notification_is_404(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    me, someone = await create_user(app), await create_user(app)
    theirs = await create_notification(app, someone)
    for notification_id in (theirs.id, uuid.uuid4()):
        response = await client.post(f"{NOTIFICATIONS}/{notification_id}/read", headers=me.headers)
        assert_problem(response, 404, "notification_not_found")
    assert (await fresh_row(app, Notification, theirs.id)).read_at is None
    bad_id = await client.post(f"{NOTIFICATIONS}/not-a-uuid/read", headers=me.headers)
    assert_problem(bad_id, 422, "validation_error")


async def test_read_all_marks_only_mine(app: FastAPI, client: httpx.AsyncClient, clock: FakeClock) -> None:
    me, someone = await create_user(app), await create_user(app)
    earlier = await create_notification(app, me, read=True)
    clock.advance(minutes=1)
    for _ in range(2):
        await create_notification(app, me)
    theirs = await create_notification(app, someone)

    response = await client.post(f"{NOTIFICATIONS}/read-all", headers=me.headers)
    assert response.status_code == 200 and response.json() == {"marked_read": 2}
    mine = await rows(app, Notification, Notification.user_id == me.user.id)
    assert all(n.read_at is not None for n in mine)
    assert (await fresh_row(app, Notification, earlier.id)).read_at == earlier.read_at  # kept
    assert (await fresh_row(app, Notification, theirs.id)).read_at is None
    again = await client.post(f"{NOTIFICATIONS}/read-all", headers=me.headers)
    assert again.json() == {"marked_read": 0}


@pytest.mark.postgresql_only
async def test_concurrent_reads_agree_on_the_time(app: FastAPI, client: httpx.AsyncClient) -> None:
    me = await create_user(app)
    notification = await create_notification(app, me)
    responses = await race(
        client.post(f"{NOTIFICATIONS}/{notification.id}/read", headers=me.headers) for _ in range(4)
    )
    assert outcomes(responses) == {(200, None): 4}
    stored = await fresh_row(app, Notification, notification.id)
    assert {r.json()["read_at"] for r in responses} == {stored.read_at.isoformat().replace("+00:00", "Z")}


async def test_preferences_default_to_in_app_and_mail_for_grades_and_certificates(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    me = await create_user(app)
    response = await client.get(PREFERENCES, headers=me.headers)
    assert response.status_code == 200 and response.json() == DEFAULTS
    assert await count_rows(app, NotificationPreference) == 0


async def test_put_replaces_the_types_it_names(app: FastAPI, client: httpx.AsyncClient) -> None:
    me, someone = await create_user(app), await create_user(app)
    change = {
        "submission.graded": {"email": False, "in_app": True},
        "post.created": {"email": True, "in_app": False},
    }
    response = await client.put(PREFERENCES, json=change, headers=me.headers)
    assert response.status_code == 200
    assert response.json() == {**DEFAULTS, **change}
    assert (await client.get(PREFERENCES, headers=me.headers)).json() == {**DEFAULTS, **change}
    stored = await rows(app, NotificationPreference, NotificationPreference.user_id == me.user.id)
    assert {(p.type, p.email, p.in_app) for p in stored} == {
        ("submission.graded", False, True),
        ("post.created", True, False),
    }

    # A second PUT changes what it names and keeps the rest.
    later = {"submission.graded": {"email": True, "in_app": False}}
    assert (await client.put(PREFERENCES, json=later, headers=me.headers)).json() == {
        **DEFAULTS,
        **change,
        **later,
    }
    # An empty map changes nothing; another user's preferences never move.
    assert (await client.put(PREFERENCES, json={}, headers=me.headers)).json() == {
        **DEFAULTS,
        **change,
        **later,
    }
    assert (await client.get(PREFERENCES, headers=someone.headers)).json() == DEFAULTS


@pytest.mark.parametrize(
    "body",
    [
        {"no.such_type": {"email": True, "in_app": True}},
        {"quiz.graded": {"email": True}},
        {"quiz.graded": {"email": "yes", "in_app": True}},
        {"quiz.graded": {"email": 1, "in_app": True}},
        {"quiz.graded": {"email": True, "in_app": True, "sms": True}},
        {"quiz.graded": True},
        ["quiz.graded"],
    ],
)
async def test_bad_preference_bodies_are_422(app: FastAPI, client: httpx.AsyncClient, body: Any) -> None:
    me = await create_user(app)
    # A valid type next to the bad one is not saved either.
    if isinstance(body, dict):
        body = {"course.completed": {"email": True, "in_app": True}, **body}
    response = await client.put(PREFERENCES, json=body, headers=me.headers)
    assert_problem(response, 422, "validation_error")
    assert await count_rows(app, NotificationPreference) == 0


@pytest.mark.postgresql_only
@pytest.mark.parametrize(
    ("unread_only", "index"),
    [(False, "ix_notifications_user_id_created_at"), (True, "ix_notifications_unread")],
)
async def test_a_page_of_the_list_is_read_from_an_index(app: FastAPI, unread_only: bool, index: str) -> None:
    people = [await create_user(app) for _ in range(4)]
    now = utcnow()
    async with app.state.database.sessionmaker() as session, session.begin():
        await session.execute(
            insert(Notification),
            [
                {
                    "user_id": person.user.id,
                    "type": "course.completed",
                    "title": "T",
                    "body": "B",
                    "data": {},
                    "event_id": uuid.uuid4(),
                    "created_at": now - timedelta(seconds=n),
                    "read_at": now if n % 10 else None,
                    "seq": 1000 - n,
                }
                for person in people
                for n in range(1000)
            ],
        )
        await session.execute(text("ANALYZE notifications"))
        page = service.notifications_of(people[0].user.id, unread_only=unread_only).limit(20)
        sql = page.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
        plan = "\n".join((await session.scalars(text(f"EXPLAIN {sql}"))).all())
    assert index in plan, plan
    assert "Sort" not in plan, plan
