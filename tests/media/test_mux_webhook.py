"""The Mux webhook: signatures (Mux's documented vector, stale, wrong, missing), replays, and
the status machine under duplicate and out-of-order deliveries, against the Mux stub."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from studyhall import event_types
from studyhall.catalog.models import Lesson
from studyhall.core.clock import utcnow
from studyhall.identity.models import Role
from studyhall.media.errors import WebhookSignatureInvalid
from studyhall.media.models import LessonVideo, MuxWebhookEvent
from studyhall.media.mux import verify_webhook_signature, webhook_signature
from tests.factories import (
    API,
    Actor,
    AppFactory,
    assert_problem,
    count_rows,
    course_lessons,
    create_course,
    create_user,
    events,
    fresh_row,
    post_mux_webhook,
    race,
)
from tests.media.conftest import mux_settings
from tests.mux_stub import MuxStub

# Mux's documented example (https://docs.mux.com/guides/verify-webhook-signatures).
VECTOR_SECRET = "SuperSecret123"
VECTOR_TIMESTAMP = 1565125718
VECTOR_BODY = b'{"test":"body"}'
VECTOR_V1 = "854ece4c22acef7c66b57d4e504153bc512595e8e9c772ece2a68150548c19a7"
TOLERANCE = timedelta(minutes=5)


def at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


# -- the verifier --------------------------------------------------------------------------


def test_the_documented_vector_signs_and_verifies() -> None:
    assert webhook_signature(VECTOR_SECRET, VECTOR_TIMESTAMP, VECTOR_BODY) == VECTOR_V1
    verify_webhook_signature(
        VECTOR_SECRET,
        f"t={VECTOR_TIMESTAMP},v1={VECTOR_V1}",
        VECTOR_BODY,
        now=at(VECTOR_TIMESTAMP + 10),
        tolerance=TOLERANCE,
    )


def test_any_of_several_v1_signatures_may_match() -> None:
    header = f"t={VECTOR_TIMESTAMP},v1={'0' * 64},v1={VECTOR_V1}"
    verify_webhook_signature(
        VECTOR_SECRET, header, VECTOR_BODY, now=at(VECTOR_TIMESTAMP), tolerance=TOLERANCE
    )


@pytest.mark.parametrize(
    ("header", "body", "now", "reason"),
    [
        (f"t={VECTOR_TIMESTAMP},v1={VECTOR_V1}", VECTOR_BODY, VECTOR_TIMESTAMP + 301, "stale"),
        (f"t={VECTOR_TIMESTAMP},v1={VECTOR_V1}", VECTOR_BODY, VECTOR_TIMESTAMP - 301, "from the future"),
        (f"t={VECTOR_TIMESTAMP},v1={VECTOR_V1}", b'{"test":"bodY"}', VECTOR_TIMESTAMP, "other body"),
        (f"t={VECTOR_TIMESTAMP + 1},v1={VECTOR_V1}", VECTOR_BODY, VECTOR_TIMESTAMP, "other timestamp"),
        (f"t={VECTOR_TIMESTAMP},v1={'f' * 64}", VECTOR_BODY, VECTOR_TIMESTAMP, "wrong signature"),
        (f"t={VECTOR_TIMESTAMP},v0={VECTOR_V1}", VECTOR_BODY, VECTOR_TIMESTAMP, "no v1"),
        (f"v1={VECTOR_V1}", VECTOR_BODY, VECTOR_TIMESTAMP, "no timestamp"),
        ("garbage", VECTOR_BODY, VECTOR_TIMESTAMP, "garbage"),
        ("", VECTOR_BODY, VECTOR_TIMESTAMP, "empty"),
    ],
)
def test_the_verifier_refuses(header: str, body: bytes, now: int, reason: str) -> None:
    with pytest.raises(WebhookSignatureInvalid):
        verify_webhook_signature(VECTOR_SECRET, header, body, now=at(now), tolerance=TOLERANCE)


def test_another_secret_does_not_verify() -> None:
    with pytest.raises(WebhookSignatureInvalid):
        verify_webhook_signature(
            "SuperSecret124", f"t={VECTOR_TIMESTAMP},v1={VECTOR_V1}", VECTOR_BODY,
            now=at(VECTOR_TIMESTAMP), tolerance=TOLERANCE,
        )  # fmt: skip


# -- deliveries ----------------------------------------------------------------------------


async def video_lesson(app: FastAPI) -> tuple[Actor, Lesson]:
    owner = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, owner, lessons=1, lesson_type="video")
    return owner, (await course_lessons(app, course))[0]


async def start_mux_upload(client: httpx.AsyncClient, owner: Actor, lesson: Lesson) -> str:
    response = await client.post(f"{API}/lessons/{lesson.id}/video/upload", headers=owner.headers)
    assert response.status_code == 201, response.text
    upload_id: str = response.json()["upload_id"]
    return upload_id


async def video_of(app: FastAPI, lesson: Lesson) -> LessonVideo:
    return await fresh_row(app, LessonVideo, lesson.id)


def ack(response: httpx.Response, outcome: str) -> None:
    assert response.status_code == 200, response.text
    assert response.json() == {"outcome": outcome}


async def test_an_upload_goes_waiting_processing_ready(
    mux_app: FastAPI, mux_client: httpx.AsyncClient, mux: MuxStub
) -> None:
    owner, lesson = await video_lesson(mux_app)
    upload_id = await start_mux_upload(mux_client, owner, lesson)
    assert (await video_of(mux_app, lesson)).status == "waiting_upload"

    created = mux.asset_created(upload_id)
    ack(await post_mux_webhook(mux_client, created), "applied")
    video = await video_of(mux_app, lesson)
    asset_id = created["data"]["asset_id"]
    assert (video.status, video.asset_id, video.playback_id) == ("processing", asset_id, None)

    ready = mux.asset_ready(asset_id, duration=754.3)
    ack(await post_mux_webhook(mux_client, ready), "applied")
    video = await video_of(mux_app, lesson)
    playback_id = mux.assets[asset_id]["playback_ids"][0]["id"]
    assert (video.status, video.asset_id, video.playback_id) == ("ready", asset_id, playback_id)
    assert (video.playback_policy, video.duration_seconds, video.error) == ("public", 754.3, None)
    assert await events(mux_app, event_types.LESSON_VIDEO_READY) == [
        {
            "lesson_id": str(lesson.id),
            "course_id": str(lesson.course_id),
            "provider": "mux",
            "asset_id": asset_id,
            "playback_id": playback_id,
            "duration_seconds": 754.3,
        }
    ]
    assert await count_rows(mux_app, MuxWebhookEvent) == 2

    page = (await mux_client.get(f"{API}/lessons/{lesson.id}", headers=owner.headers)).json()
    assert {key: page["video"][key] for key in ("provider", "status", "asset_id", "playback_id")} == {
        "provider": "mux",
        "status": "ready",
        "asset_id": asset_id,
        "playback_id": playback_id,
    }
    assert page["video"]["duration_seconds"] == 754.3


async def test_a_replayed_delivery_changes_nothing(
    mux_app: FastAPI, mux_client: httpx.AsyncClient, mux: MuxStub
) -> None:
    owner, lesson = await video_lesson(mux_app)
    upload_id = await start_mux_upload(mux_client, owner, lesson)
    created = mux.asset_created(upload_id)
    ready = mux.asset_ready(created["data"]["asset_id"])
    ack(await post_mux_webhook(mux_client, created), "applied")
    ack(await post_mux_webhook(mux_client, ready), "applied")

    ack(await post_mux_webhook(mux_client, ready), "duplicate")
    ack(await post_mux_webhook(mux_client, created), "duplicate")

    assert (await video_of(mux_app, lesson)).status == "ready"
    assert len(await events(mux_app, event_types.LESSON_VIDEO_READY)) == 1
    assert await count_rows(mux_app, MuxWebhookEvent) == 2


async def test_concurrent_copies_of_a_delivery_apply_once(
    mux_app: FastAPI, mux_client: httpx.AsyncClient, mux: MuxStub
) -> None:
    owner, lesson = await video_lesson(mux_app)
    upload_id = await start_mux_upload(mux_client, owner, lesson)
    created = mux.asset_created(upload_id)
    ack(await post_mux_webhook(mux_client, created), "applied")
    ready = mux.asset_ready(created["data"]["asset_id"])

    responses = await race(post_mux_webhook(mux_client, ready) for _ in range(6))

    assert [r.status_code for r in responses] == [200] * 6
    assert sorted(r.json()["outcome"] for r in responses) == ["applied"] + ["duplicate"] * 5
    assert len(await events(mux_app, event_types.LESSON_VIDEO_READY)) == 1
    assert (await video_of(mux_app, lesson)).status == "ready"


async def test_ready_before_asset_created_is_ready_and_stays_ready(
    mux_app: FastAPI, mux_client: httpx.AsyncClient, mux: MuxStub
) -> None:
    owner, lesson = await video_lesson(mux_app)
    upload_id = await start_mux_upload(mux_client, owner, lesson)
    created = mux.asset_created(upload_id)
    asset_id = created["data"]["asset_id"]
    ready = mux.asset_ready(asset_id)

    ack(await post_mux_webhook(mux_client, ready), "applied")  # matched by its upload id
    ack(await post_mux_webhook(mux_client, created), "ignored")  # late: never backwards

    video = await video_of(mux_app, lesson)
    assert (video.status, video.asset_id) == ("ready", asset_id)
    assert video.playback_id == mux.assets[asset_id]["playback_ids"][0]["id"]


async def test_an_errored_asset_is_errored_with_muxs_message(
    mux_app: FastAPI, mux_client: httpx.AsyncClient, mux: MuxStub
) -> None:
    owner, lesson = await video_lesson(mux_app)
    upload_id = await start_mux_upload(mux_client, owner, lesson)
    created = mux.asset_created(upload_id)
    asset_id = created["data"]["asset_id"]
    ack(await post_mux_webhook(mux_client, created), "applied")

    errored = mux.asset_errored(asset_id, "The file could not be processed", "No video track")
    ack(await post_mux_webhook(mux_client, errored), "applied")
    # A ready report arriving afterwards (out of order, or made up) does not revive it.
    ack(await post_mux_webhook(mux_client, mux.asset_ready(asset_id)), "ignored")

    video = await video_of(mux_app, lesson)
    assert (video.status, video.asset_id) == ("errored", asset_id)
    assert video.error == "The file could not be processed; No video track"
    assert await events(mux_app, event_types.LESSON_VIDEO_READY) == []
    page = (await mux_client.get(f"{API}/lessons/{lesson.id}", headers=owner.headers)).json()
    assert (page["video"]["status"], page["video"]["error"]) == ("errored", video.error)


async def test_a_cancelled_upload_is_errored_and_a_new_upload_starts_over(
    mux_app: FastAPI, mux_client: httpx.AsyncClient, mux: MuxStub
) -> None:
    owner, lesson = await video_lesson(mux_app)
    first = await start_mux_upload(mux_client, owner, lesson)
    ack(await post_mux_webhook(mux_client, mux.upload_cancelled(first)), "applied")
    video = await video_of(mux_app, lesson)
    assert (video.status, video.error) == ("errored", "The upload was cancelled")

    second = await start_mux_upload(mux_client, owner, lesson)
    video = await video_of(mux_app, lesson)
    assert (video.status, video.upload_id, video.error, video.asset_id) == (
        "waiting_upload",
        second,
        None,
        None,
    )


async def test_reports_about_an_older_upload_are_ignored(
    mux_app: FastAPI, mux_client: httpx.AsyncClient, mux: MuxStub
) -> None:
    owner, lesson = await video_lesson(mux_app)
    old = await start_mux_upload(mux_client, owner, lesson)
    old_created = mux.asset_created(old)
    ack(await post_mux_webhook(mux_client, old_created), "applied")
    new = await start_mux_upload(mux_client, owner, lesson)  # a new cycle

    ack(await post_mux_webhook(mux_client, mux.asset_ready(old_created["data"]["asset_id"])), "ignored")
    ack(await post_mux_webhook(mux_client, mux.upload_cancelled(old)), "ignored")
    video = await video_of(mux_app, lesson)
    assert (video.status, video.upload_id, video.asset_id) == ("waiting_upload", new, None)

    new_created = mux.asset_created(new)
    ack(await post_mux_webhook(mux_client, new_created), "applied")
    ack(await post_mux_webhook(mux_client, mux.asset_ready(new_created["data"]["asset_id"])), "applied")
    assert (await video_of(mux_app, lesson)).asset_id == new_created["data"]["asset_id"]


async def test_unknown_types_and_unknown_uploads_are_acknowledged_and_ignored(
    mux_app: FastAPI, mux_client: httpx.AsyncClient, mux: MuxStub
) -> None:
    owner, lesson = await video_lesson(mux_app)
    await start_mux_upload(mux_client, owner, lesson)
    other = {"type": "video.asset.track.ready", "id": "evt-1", "data": {"id": "track-1"}}
    ack(await post_mux_webhook(mux_client, other), "ignored")
    ack(await post_mux_webhook(mux_client, {"type": "video.live_stream.active", "id": "evt-2"}), "ignored")
    stranger = {"type": "video.upload.asset_created", "id": "evt-3", "data": {"id": "nope", "asset_id": "a"}}
    ack(await post_mux_webhook(mux_client, stranger), "ignored")
    incomplete = {"type": "video.asset.ready", "id": "evt-4", "data": {"status": "ready"}}
    ack(await post_mux_webhook(mux_client, incomplete), "ignored")

    assert (await video_of(mux_app, lesson)).status == "waiting_upload"
    assert await count_rows(mux_app, MuxWebhookEvent) == 2  # the two of known types


@pytest.mark.parametrize("case", ["wrong secret", "stale", "future", "tampered body", "missing", "malformed"])
async def test_unverified_deliveries_are_400_and_change_nothing(
    mux_app: FastAPI, mux_client: httpx.AsyncClient, mux: MuxStub, case: str
) -> None:
    owner, lesson = await video_lesson(mux_app)
    upload_id = await start_mux_upload(mux_client, owner, lesson)
    event = mux.asset_created(upload_id)
    body = json.dumps(event).encode()
    now = int(utcnow().timestamp())
    send: dict[str, Any] = {
        "wrong secret": {"secret": "not-the-secret"},
        "stale": {"timestamp": now - 301},
        "future": {"timestamp": now + 301},
        "missing": {"signature": ""},
        "malformed": {"signature": "t=abc,v1=zz"},
    }.get(case, {})
    if case == "tampered body":
        signature = f"t={now},v1={webhook_signature('whsec-test-secret', now, body)}"
        response = await post_mux_webhook(
            mux_client, body.replace(b"asset_created", b"asset_created "), signature=signature
        )
    else:
        response = await post_mux_webhook(mux_client, event, **send)

    assert_problem(response, 400, "webhook_signature_invalid")
    assert (await video_of(mux_app, lesson)).status == "waiting_upload"
    assert await count_rows(mux_app, MuxWebhookEvent) == 0


async def test_a_delivery_just_inside_the_tolerance_is_applied(
    mux_app: FastAPI, mux_client: httpx.AsyncClient, mux: MuxStub
) -> None:
    owner, lesson = await video_lesson(mux_app)
    upload_id = await start_mux_upload(mux_client, owner, lesson)
    response = await post_mux_webhook(
        mux_client, mux.asset_created(upload_id), timestamp=int(utcnow().timestamp()) - 290
    )
    ack(response, "applied")


async def test_signed_bodies_that_are_not_mux_events_are_400(
    mux_app: FastAPI, mux_client: httpx.AsyncClient
) -> None:
    for body in (b"not json", b"[1, 2]", b'{"type": "video.asset.ready"}', b'{"id": "x", "data": {}}'):
        assert_problem(await post_mux_webhook(mux_client, body), 400, "webhook_payload_invalid")
    assert await count_rows(mux_app, MuxWebhookEvent) == 0


async def test_without_a_webhook_secret_every_delivery_is_refused(make_app: AppFactory, mux: MuxStub) -> None:
    app = await make_app(**mux_settings(mux, mux_webhook_secret=None))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        response = await post_mux_webhook(client, {"type": "video.asset.ready", "id": "e", "data": {}})
    assert_problem(response, 400, "webhook_signature_invalid")


async def test_the_webhook_needs_no_bearer_token_and_ignores_one(
    mux_app: FastAPI, mux_client: httpx.AsyncClient, mux: MuxStub
) -> None:
    owner, lesson = await video_lesson(mux_app)
    upload_id = await start_mux_upload(mux_client, owner, lesson)
    body = json.dumps(mux.asset_created(upload_id)).encode()
    now = int(utcnow().timestamp())
    response = await mux_client.post(
        "/webhooks/mux",
        content=body,
        headers={
            "Mux-Signature": f"t={now},v1={webhook_signature('whsec-test-secret', now, body)}",
            "Authorization": "Bearer not-a-token",
        },
    )
    ack(response, "applied")
