"""A lesson's video upload, the admin upload and playback with the Mux provider (the Mux stub
server): what Mux is asked, what is stored, the provider's failures, signed playback, and who
may call each route."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import RSAKey

from studyhall.catalog.models import Course, CourseInstructor, Lesson
from studyhall.core.clock import utcnow
from studyhall.identity.models import Role
from studyhall.media.models import LessonVideo
from tests.factories import (
    API,
    Actor,
    AppFactory,
    assert_problem,
    client_for,
    count_rows,
    course_lessons,
    create_course,
    create_lesson,
    create_lesson_video,
    create_user,
    enroll_directly,
    fresh_row,
    post_mux_webhook,
    rows,
    set_course,
    soft_delete_lesson,
)
from tests.media.conftest import SigningKeyPair, mux_settings
from tests.mux_stub import MuxStub
from tests.servers import free_port

PLAYBACK_TTL = 3600


async def add_instructor(app: FastAPI, lesson: Lesson, instructor: Actor) -> None:
    async with app.state.database.sessionmaker() as session, session.begin():
        session.add(CourseInstructor(course_id=lesson.course_id, user_id=instructor.user.id))


class Cast:
    """Everyone the authorisation matrix asks, around one published course with a video lesson."""

    def __init__(self, owner: Actor, co: Actor, admin: Actor, student: Actor, outsider: Actor) -> None:
        self.owner, self.co, self.admin, self.student, self.outsider = owner, co, admin, student, outsider


async def cast_and_lesson(app: FastAPI, *, is_preview: bool = False) -> tuple[Cast, Lesson]:
    owner = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, owner, lessons=1, lesson_type="video")
    lesson = (await course_lessons(app, course))[0]
    if is_preview:
        async with app.state.database.sessionmaker() as session, session.begin():
            (await session.get(Lesson, lesson.id)).is_preview = True  # type: ignore[union-attr]
    cast = Cast(
        owner,
        await create_user(app, Role.INSTRUCTOR),
        await create_user(app, Role.ADMIN),
        await create_user(app),
        await create_user(app),
    )
    await add_instructor(app, lesson, cast.co)
    await enroll_directly(app, cast.student, course)
    return cast, lesson


def upload_url(lesson: Lesson) -> str:
    return f"{API}/lessons/{lesson.id}/video/upload"


# -- uploading -------------------------------------------------------------------------------


async def test_staff_start_a_mux_direct_upload(
    mux_app: FastAPI, mux_client: httpx.AsyncClient, mux: MuxStub
) -> None:
    cast, lesson = await cast_and_lesson(mux_app)

    response = await mux_client.post(upload_url(lesson), headers=cast.owner.headers)

    assert response.status_code == 201, response.text
    body = response.json()
    [upload_id] = mux.uploads
    assert body["provider"] == "mux"
    assert (body["upload_id"], body["upload_url"]) == (upload_id, mux.uploads[upload_id]["url"])
    assert (body["method"], body["headers"]) == ("PUT", {})
    assert abs((_parse(body["expires_at"]) - (utcnow() + timedelta(seconds=3600))).total_seconds()) < 5
    assert mux.requests == [
        (
            "POST",
            "/video/v1/uploads",
            {
                "cors_origin": mux_app.state.settings.app_url,
                "new_asset_settings": {"playback_policy": ["public"], "passthrough": str(lesson.id)},
            },
        )
    ]
    video = await fresh_row(mux_app, LessonVideo, lesson.id)
    assert (video.provider, video.status, video.upload_id) == ("mux", "waiting_upload", upload_id)
    assert (video.asset_id, video.playback_id, video.playback_policy) == (None, None, "public")
    page = (await mux_client.get(f"{API}/lessons/{lesson.id}", headers=cast.student.headers)).json()
    assert page["video"]["status"] == "waiting_upload"


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_with_a_signing_key_new_videos_get_signed_playback(
    make_app: AppFactory, mux: MuxStub, signing_key: SigningKeyPair
) -> None:
    app = await make_app(
        **mux_settings(
            mux, mux_signing_key_id=signing_key.key_id, mux_signing_key_private=signing_key.private_base64
        )
    )
    cast, lesson = await cast_and_lesson(app)
    async with client_for(app) as client:
        response = await client.post(upload_url(lesson), headers=cast.owner.headers)
    assert response.status_code == 201, response.text
    assert mux.requests[0][2]["new_asset_settings"]["playback_policy"] == ["signed"]
    assert (await fresh_row(app, LessonVideo, lesson.id)).playback_policy == "signed"


async def test_who_may_start_an_upload(mux_app: FastAPI, mux_client: httpx.AsyncClient, mux: MuxStub) -> None:
    cast, lesson = await cast_and_lesson(mux_app)
    for actor in (cast.owner, cast.co, cast.admin):
        response = await mux_client.post(upload_url(lesson), headers=actor.headers)
        assert response.status_code == 201, response.text
        assert (await fresh_row(mux_app, LessonVideo, lesson.id)).upload_id == response.json()["upload_id"]
    kept = (await fresh_row(mux_app, LessonVideo, lesson.id)).upload_id

    for actor in (cast.student, cast.outsider):
        assert_problem(
            await mux_client.post(upload_url(lesson), headers=actor.headers), 403, "not_course_staff"
        )
    assert_problem(await mux_client.post(upload_url(lesson)), 401, "not_authenticated")

    assert len(mux.uploads) == 3
    assert (await fresh_row(mux_app, LessonVideo, lesson.id)).upload_id == kept


async def test_invisible_deleted_and_other_lessons(
    mux_app: FastAPI, mux_client: httpx.AsyncClient, mux: MuxStub
) -> None:
    cast, lesson = await cast_and_lesson(mux_app)
    text_lesson = await create_lesson(mux_app, await _course(mux_app, lesson), lesson_type="text")
    assert_problem(
        await mux_client.post(upload_url(text_lesson), headers=cast.owner.headers), 409, "lesson_not_video"
    )
    await set_course(mux_app, await _course(mux_app, lesson), status="draft")
    assert_problem(
        await mux_client.post(upload_url(lesson), headers=cast.student.headers), 404, "lesson_not_found"
    )
    await soft_delete_lesson(mux_app, lesson)
    assert_problem(
        await mux_client.post(upload_url(lesson), headers=cast.owner.headers), 404, "lesson_not_found"
    )
    assert_problem(
        await mux_client.post(
            f"{API}/lessons/00000000-0000-0000-0000-000000000000/video/upload", headers=cast.owner.headers
        ),
        404,
        "lesson_not_found",
    )
    assert mux.uploads == {}
    assert await count_rows(mux_app, LessonVideo) == 0


async def _course(app: FastAPI, lesson: Lesson) -> Course:
    return await fresh_row(app, Course, lesson.course_id)


@pytest.mark.parametrize(
    ("failure", "status", "code"),
    [
        ("server error", 502, "video_provider_error"),
        ("refused", 502, "video_provider_error"),
        ("wrong token", 502, "video_provider_error"),
        ("timeout", 503, "video_provider_unavailable"),
        ("unreachable", 503, "video_provider_unavailable"),
    ],
)
async def test_mux_failures_change_nothing(
    make_app: AppFactory, mux: MuxStub, failure: str, status: int, code: str
) -> None:
    overrides = {
        "wrong token": {"mux_token_secret": "not-the-secret"},
        "timeout": {"mux_http_timeout": 0.3},
        "unreachable": {"mux_api_url": f"http://127.0.0.1:{free_port()}"},
    }.get(failure, {})
    app = await make_app(**mux_settings(mux, **overrides))
    cast, lesson = await cast_and_lesson(app)
    before = await create_lesson_video(
        app, lesson, status="ready", asset_id="old-asset", playback_id="old-play"
    )
    if failure == "server error":
        mux.failing_with(500)
    elif failure == "refused":
        mux.failing_with(400)
    elif failure == "timeout":
        mux.slow(1.0)

    async with client_for(app) as client:
        response = await client.post(upload_url(lesson), headers=cast.owner.headers)

    body = assert_problem(response, status, code)
    assert "secret" not in body["detail"].lower()
    video = await fresh_row(app, LessonVideo, lesson.id)
    assert (video.status, video.upload_id, video.asset_id) == ("ready", before.upload_id, "old-asset")


async def test_admins_start_uploads_tied_to_no_lesson(
    mux_app: FastAPI, mux_client: httpx.AsyncClient, mux: MuxStub
) -> None:
    admin, instructor = await create_user(mux_app, Role.ADMIN), await create_user(mux_app, Role.INSTRUCTOR)

    response = await mux_client.post("/admin/uploads", headers=admin.headers)

    assert response.status_code == 201, response.text
    [upload_id] = mux.uploads
    assert response.json()["upload_id"] == upload_id
    assert mux.requests[0][2]["new_asset_settings"] == {"playback_policy": ["public"]}
    assert_problem(
        await mux_client.post("/admin/uploads", headers=instructor.headers), 403, "insufficient_role"
    )
    assert_problem(await mux_client.post("/admin/uploads"), 401, "not_authenticated")
    assert len(mux.uploads) == 1
    assert await count_rows(mux_app, LessonVideo) == 0
    # Its reports concern no lesson: acknowledged and ignored.
    answer = await post_mux_webhook(mux_client, mux.asset_created(upload_id))
    assert answer.json() == {"outcome": "ignored"}


async def test_an_upload_body_must_be_well_formed(mux_app: FastAPI, mux_client: httpx.AsyncClient) -> None:
    cast, lesson = await cast_and_lesson(mux_app)
    for body in ({"size_bytes": 0}, {"content_type": "not a type"}, {"unknown": 1}, {"filename": "../x.mp4"}):
        response = await mux_client.post(upload_url(lesson), headers=cast.owner.headers, json=body)
        assert_problem(response, 422, "validation_error")
    assert await rows(mux_app, LessonVideo) == []


# -- playback ------------------------------------------------------------------------------


def playback_url(lesson: Lesson) -> str:
    return f"{API}/lessons/{lesson.id}/playback"


async def test_a_public_mux_video_plays_from_its_playback_id(
    mux_app: FastAPI, mux_client: httpx.AsyncClient
) -> None:
    cast, lesson = await cast_and_lesson(mux_app)
    await create_lesson_video(
        mux_app, lesson, status="ready", asset_id="a1", playback_id="pb1", playback_policy="public"
    )

    response = await mux_client.get(playback_url(lesson), headers=cast.student.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["playback_url"] == "https://stream.mux.com/pb1.m3u8"
    expected = utcnow() + timedelta(seconds=PLAYBACK_TTL)
    assert abs((_parse(body["expires_at"]) - expected).total_seconds()) < 5


async def test_a_signed_playback_token_verifies_with_the_public_key(
    make_app: AppFactory, mux: MuxStub, signing_key: SigningKeyPair
) -> None:
    app = await make_app(
        **mux_settings(
            mux,
            mux_signing_key_id=signing_key.key_id,
            mux_signing_key_private=signing_key.private_base64,
            video_playback_ttl_seconds=600,
        )
    )
    cast, lesson = await cast_and_lesson(app)
    await create_lesson_video(
        app, lesson, status="ready", asset_id="a1", playback_id="pb1", playback_policy="signed"
    )
    async with client_for(app) as client:
        response = await client.get(playback_url(lesson), headers=cast.student.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    base, _, token = body["playback_url"].partition("?token=")
    assert base == "https://stream.mux.com/pb1.m3u8"
    decoded = jwt.decode(token, signing_key.public, algorithms=["RS256"])
    assert decoded.header == {"alg": "RS256", "typ": "JWT", "kid": signing_key.key_id}
    expires_at = int(_parse(body["expires_at"]).timestamp())
    assert decoded.claims == {"sub": "pb1", "aud": "v", "exp": expires_at}
    assert abs(expires_at - (utcnow().timestamp() + 600)) < 5
    # Any other key does not verify it.
    with pytest.raises(BadSignatureError):
        jwt.decode(token, RSAKey.generate_key(2048), algorithms=["RS256"])


async def test_who_may_play_a_lesson_video(mux_app: FastAPI, mux_client: httpx.AsyncClient) -> None:
    cast, lesson = await cast_and_lesson(mux_app)
    await create_lesson_video(
        mux_app, lesson, status="ready", asset_id="a1", playback_id="pb1", playback_policy="public"
    )
    for actor in (cast.owner, cast.co, cast.admin, cast.student):
        response = await mux_client.get(playback_url(lesson), headers=actor.headers)
        assert response.status_code == 200, response.text
    assert_problem(
        await mux_client.get(playback_url(lesson), headers=cast.outsider.headers), 403, "not_enrolled"
    )
    assert_problem(await mux_client.get(playback_url(lesson)), 401, "not_authenticated")

    # Unpublished afterwards: the enrolled student loses it, staff keep it.
    await set_course(mux_app, await _course(mux_app, lesson), status="draft")
    for actor in (cast.student, cast.outsider):
        assert_problem(
            await mux_client.get(playback_url(lesson), headers=actor.headers), 404, "lesson_not_found"
        )
    assert_problem(await mux_client.get(playback_url(lesson)), 404, "lesson_not_found")
    assert (await mux_client.get(playback_url(lesson), headers=cast.owner.headers)).status_code == 200

    # Deleted: nobody.
    await soft_delete_lesson(mux_app, lesson)
    for actor in (cast.owner, cast.admin, cast.student):
        assert_problem(
            await mux_client.get(playback_url(lesson), headers=actor.headers), 404, "lesson_not_found"
        )


async def test_anyone_who_sees_the_course_plays_a_preview_lesson(
    mux_app: FastAPI, mux_client: httpx.AsyncClient
) -> None:
    cast, lesson = await cast_and_lesson(mux_app, is_preview=True)
    await create_lesson_video(
        mux_app, lesson, status="ready", asset_id="a1", playback_id="pb1", playback_policy="public"
    )
    for headers in (cast.outsider.headers, {}):
        response = await mux_client.get(playback_url(lesson), headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["playback_url"] == "https://stream.mux.com/pb1.m3u8"
    await set_course(mux_app, await _course(mux_app, lesson), status="draft")
    assert_problem(await mux_client.get(playback_url(lesson)), 404, "lesson_not_found")


@pytest.mark.parametrize("status", ["waiting_upload", "processing", "errored"])
async def test_a_video_that_is_not_ready_does_not_play(
    mux_app: FastAPI, mux_client: httpx.AsyncClient, status: str
) -> None:
    cast, lesson = await cast_and_lesson(mux_app)
    await create_lesson_video(mux_app, lesson, status=status)
    for actor in (cast.owner, cast.student):
        body = assert_problem(
            await mux_client.get(playback_url(lesson), headers=actor.headers), 409, "video_not_ready"
        )
        assert status in body["detail"]


async def test_no_video_yet_and_lessons_without_video(
    mux_app: FastAPI, mux_client: httpx.AsyncClient
) -> None:
    cast, lesson = await cast_and_lesson(mux_app)
    assert_problem(
        await mux_client.get(playback_url(lesson), headers=cast.student.headers),
        404,
        "lesson_video_not_found",
    )
    text_lesson = await create_lesson(mux_app, await _course(mux_app, lesson), lesson_type="text")
    assert_problem(
        await mux_client.get(playback_url(text_lesson), headers=cast.student.headers), 409, "lesson_not_video"
    )
