"""`POST /events` in embedded mode: per-event validation, exact deduplication, the caller as the
acting user, the limits, and the metrics."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from studyhall.analytics.models import ActivityEvent, ActivityEventKey
from studyhall.core.clock import utcnow
from tests.conftest import apps_on
from tests.factories import (
    API,
    Actor,
    activity_event,
    assert_problem,
    client_for,
    count_rows,
    create_user,
    post_events,
    rows,
)


@pytest.fixture
async def student(app: FastAPI) -> Actor:
    return await create_user(app)


async def stored(app: FastAPI) -> list[ActivityEvent]:
    return await rows(app, ActivityEvent)


async def test_a_mixed_batch_stores_the_valid_events_and_rejects_each_bad_one(
    app: FastAPI, client: httpx.AsyncClient, student: Actor
) -> None:
    now = utcnow()
    lesson_id, course_id, quiz_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    batch = [
        activity_event("lesson.viewed", data={"course_id": str(course_id), "lesson_id": str(lesson_id)}),
        activity_event("spaceship.launched", data={}),  # unknown type
        activity_event(
            "video.progress", data={"lesson_id": str(lesson_id), "position_seconds": 42.5, "rate": 2}
        ),
        activity_event("video.played", data={"lesson_id": str(lesson_id)}),  # missing field
        activity_event(
            "video.paused", data={"lesson_id": str(lesson_id), "position_seconds": "ten"}
        ),  # mistyped
        activity_event("quiz.started", data={"quiz_id": str(quiz_id)}, timestamp=now + timedelta(minutes=6)),
        activity_event(
            "search.performed", data={"query": "sql", "results": 3}, timestamp=now - timedelta(days=8)
        ),
        {"event_type": "page.viewed", "timestamp": now.isoformat(), "data": {"path": "/"}},  # no event_id
        "not an object",
        activity_event(
            "search.performed", data={"query": "sql", "results": 3}, timestamp=now - timedelta(days=6)
        ),
        activity_event("quiz.started", data={"quiz_id": str(quiz_id)}, timestamp=now + timedelta(minutes=4)),
        activity_event(
            "page.viewed", data={"path": "/courses"}, metadata={"client": "ios", "version": "2.1"}
        ),
    ]

    response = await post_events(client, student, batch)

    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["accepted"], body["duplicates"]) == (5, 0)
    by_index = {entry["index"]: entry for entry in body["rejected"]}
    assert {index: entry["code"] for index, entry in by_index.items()} == {
        1: "unknown_event_type",
        3: "invalid_data",
        4: "invalid_data",
        5: "timestamp_out_of_window",
        6: "timestamp_out_of_window",
        7: "invalid_event",
        8: "invalid_event",
    }
    assert "data.position_seconds" in by_index[3]["error"]
    assert "data.position_seconds" in by_index[4]["error"]
    assert "event_id" in by_index[7]["error"]
    events = {event.event_id: event for event in await stored(app)}
    assert set(events) == {str(batch[i]["event_id"]) for i in (0, 2, 9, 10, 11)}
    viewed = events[str(batch[0]["event_id"])]
    assert (viewed.event_type, viewed.user_id, viewed.course_id, viewed.lesson_id, viewed.source) == (
        "lesson.viewed",
        student.user.id,
        course_id,
        lesson_id,
        "client",
    )
    progress = events[str(batch[2]["event_id"])]
    assert progress.data == {"lesson_id": str(lesson_id), "position_seconds": 42.5, "rate": 2}  # kept as sent
    assert progress.lesson_id == lesson_id
    assert events[str(batch[11]["event_id"])].event_metadata == {"client": "ios", "version": "2.1"}
    assert await count_rows(app, ActivityEventKey) == 5


async def test_the_acting_user_comes_from_the_token_only(
    app: FastAPI, client: httpx.AsyncClient, student: Actor
) -> None:
    other = await create_user(app)
    event = activity_event(
        data={"path": "/", "user_id": other.id}, metadata={"user_id": other.id, "app": "web"}
    )
    event["user_id"] = other.id

    response = await post_events(client, student, [event])

    assert response.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    [row] = await stored(app)
    assert row.user_id == student.user.id
    assert (row.data, row.event_metadata) == ({"path": "/"}, {"app": "web"})  # the spoofed ids are dropped


async def test_a_retried_batch_is_stored_once_and_counted_as_duplicates(
    app: FastAPI, client: httpx.AsyncClient, student: Actor
) -> None:
    batch = [activity_event() for _ in range(3)]
    repeat = dict(batch[0])

    first = await post_events(client, student, [*batch, repeat])
    second = await post_events(client, student, [*batch, activity_event()])

    assert first.json() == {"accepted": 3, "duplicates": 1, "rejected": []}
    assert second.json() == {"accepted": 1, "duplicates": 3, "rejected": []}
    assert len(await stored(app)) == 4


async def test_free_form_values_are_stored_as_sent(
    app: FastAPI, client: httpx.AsyncClient, student: Actor
) -> None:
    """Whatever JSON writer stores them, integers beyond 64 bits and nested values included."""
    data = {"path": "/courses", "views": 2**70, "filters": {"level": ["beginner"], "ratio": 0.25}}
    metadata = {"client": "web", "build": -(2**65)}
    sent = activity_event(data=data, metadata=metadata)
    response = await post_events(client, student, [sent])
    assert response.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    (row,) = await stored(app)
    assert (row.data, row.event_metadata) == (data, metadata)


async def test_another_users_event_id_is_their_own(
    app: FastAPI, client: httpx.AsyncClient, student: Actor
) -> None:
    other = await create_user(app)
    event = activity_event(event_id="same-id-for-both")

    mine = await post_events(client, student, [event])
    theirs = await post_events(client, other, [event])

    assert (mine.json()["accepted"], theirs.json()["accepted"]) == (1, 1)
    assert sorted(str(row.user_id) for row in await stored(app)) == sorted([student.id, other.id])


async def test_whole_body_errors_are_problems_and_store_nothing(
    app: FastAPI, client: httpx.AsyncClient, student: Actor
) -> None:
    headers = {**student.headers, "Content-Type": "application/json"}
    not_json = await client.post(f"{API}/events", content=b"[{not json", headers=headers)
    not_a_list = await post_events(client, student, {"events": [activity_event()]})
    too_many = await post_events(client, student, [activity_event() for _ in range(501)])

    for response in (not_json, not_a_list, too_many):
        assert_problem(response, 422, "validation_error")
    assert await stored(app) == []


async def test_five_hundred_events_are_one_batch(
    app: FastAPI, client: httpx.AsyncClient, student: Actor
) -> None:
    response = await post_events(client, student, [activity_event() for _ in range(500)])

    assert response.json() == {"accepted": 500, "duplicates": 0, "rejected": []}
    assert len(await stored(app)) == 500


async def test_signing_in_is_required(app: FastAPI, client: httpx.AsyncClient) -> None:
    response = await client.post(f"{API}/events", json=[activity_event()])

    assert_problem(response, 401, "not_authenticated")
    assert await stored(app) == []


async def test_the_batch_size_and_the_rate_are_limited(database_url: str, tmp_path: Path) -> None:
    async with apps_on(database_url, tmp_path) as make_app:
        app = await make_app(rate_limit_events="2/minute", analytics_max_batch_bytes=4096)
        student = await create_user(app)
        async with client_for(app) as client:
            big = [activity_event(metadata={"padding": "x" * 500}) for _ in range(10)]
            too_big = await post_events(client, student, big)
            allowed = await post_events(client, student, [activity_event()])
            limited = await post_events(client, student, [activity_event()])
            other = await post_events(client, await create_user(app), [activity_event()])

        assert_problem(too_big, 413, "payload_too_large")
        assert allowed.status_code == 202
        assert_problem(limited, 429, "rate_limited")
        assert int(limited.headers["Retry-After"]) >= 1
        assert other.status_code == 202  # per user
        assert await count_rows(app, ActivityEvent) == 2


async def test_the_metrics_count_accepted_rejected_duplicate_and_stored_events(
    app: FastAPI, client: httpx.AsyncClient, student: Actor
) -> None:
    event = activity_event()
    await post_events(client, student, [event, event, activity_event("nope"), activity_event()])
    await post_events(client, student, [event])

    metrics = (await client.get("/metrics")).text

    assert "studyhall_activity_events_accepted_total 2.0" in metrics
    assert 'studyhall_activity_events_rejected_total{reason="unknown_event_type"} 1.0' in metrics
    assert 'studyhall_activity_events_duplicates_total{stage="batch"} 1.0' in metrics
    assert 'studyhall_activity_events_duplicates_total{stage="store"} 1.0' in metrics
    assert 'studyhall_activity_events_stored_total{source="client"} 2.0' in metrics
    assert "studyhall_activity_ingest_latency_seconds_count 2.0" in metrics


@pytest.mark.postgresql_only
async def test_concurrent_retries_from_several_clients_store_each_event_once(
    database_url: str, tmp_path: Path
) -> None:
    """Five API processes get the same batch at once (a client retrying on every node): each
    event is stored once, and exactly one request counts each event as accepted."""
    async with apps_on(database_url, tmp_path) as make_app:
        apps = [await make_app() for _ in range(5)]
        student = await create_user(apps[0])
        batch = [activity_event() for _ in range(200)]
        clients = [client_for(app) for app in apps]
        try:
            responses = await asyncio.gather(
                *(post_events(c, student, batch) for c in clients for _ in range(2))
            )
        finally:
            for client in clients:
                await client.aclose()

        bodies = [r.json() for r in responses]
        assert all(r.status_code == 202 for r in responses)
        assert sum(b["accepted"] for b in bodies) == 200
        assert all(b["accepted"] + b["duplicates"] == 200 for b in bodies)
        async with apps[0].state.database.sessionmaker() as session:
            ids = list((await session.scalars(select(ActivityEvent.event_id))).all())
        assert sorted(ids) == sorted(str(e["event_id"]) for e in batch)
        assert await count_rows(apps[0], ActivityEventKey) == 200
