"""The local video provider end to end: the upload goes to the file storage through its
presigned URL, `POST /files/{id}/complete` makes the lesson's video ready (with the duration
read from the MP4 header), and playback is a signed storage URL that honours `Range`."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from studyhall import event_types
from studyhall.catalog.models import Lesson
from studyhall.identity.models import Role
from studyhall.media.models import File, LessonVideo
from tests.factories import (
    API,
    Actor,
    AppFactory,
    assert_problem,
    client_for,
    count_rows,
    course_lessons,
    create_course,
    create_user,
    deliver_events,
    enroll_directly,
    events,
    fresh_row,
    mp4_bytes,
    put_bytes,
    rows,
)

VIDEO = mp4_bytes(12.5, media_bytes=4096)


async def video_lesson(app: FastAPI) -> tuple[Actor, Actor, Lesson]:
    owner, student = await create_user(app, Role.INSTRUCTOR), await create_user(app)
    course = await create_course(app, owner, lessons=1, lesson_type="video")
    await enroll_directly(app, student, course)
    return owner, student, (await course_lessons(app, course))[0]


def declared(content: bytes, **fields: Any) -> dict[str, Any]:
    return {"filename": "intro.mp4", "content_type": "video/mp4", "size_bytes": len(content), **fields}


async def upload_video(
    client: httpx.AsyncClient, owner: Actor, lesson: Lesson, content: bytes
) -> dict[str, Any]:
    """Start, send the bytes, complete: the upload ticket."""
    response = await client.post(
        f"{API}/lessons/{lesson.id}/video/upload", headers=owner.headers, json=declared(content)
    )
    assert response.status_code == 201, response.text
    ticket: dict[str, Any] = response.json()
    stored = await put_bytes(client, ticket, content)
    assert stored.status_code in (200, 201, 204), stored.text
    completed = await client.post(f"{API}/files/{ticket['upload_id']}/complete", headers=owner.headers)
    assert completed.status_code == 200, completed.text
    return ticket


async def test_a_local_video_goes_from_upload_to_playback(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner, student, lesson = await video_lesson(app)

    response = await client.post(
        f"{API}/lessons/{lesson.id}/video/upload", headers=owner.headers, json=declared(VIDEO)
    )
    assert response.status_code == 201, response.text
    ticket = response.json()
    assert (ticket["provider"], ticket["method"]) == ("local", "PUT")
    assert ticket["expires_at"] is not None
    file = await fresh_row(app, File, ticket["upload_id"])
    assert (file.purpose, file.status, file.owner_id, file.size_bytes) == (
        "video",
        "pending",
        owner.user.id,
        len(VIDEO),
    )
    video = await fresh_row(app, LessonVideo, lesson.id)
    assert (video.provider, video.status, video.upload_id) == ("local", "waiting_upload", ticket["upload_id"])

    assert (await put_bytes(client, ticket, VIDEO)).status_code in (200, 201, 204)
    completed = await client.post(f"{API}/files/{ticket['upload_id']}/complete", headers=owner.headers)
    assert completed.status_code == 200, completed.text
    await deliver_events(app)

    video = await fresh_row(app, LessonVideo, lesson.id)
    assert (video.status, video.asset_id, video.playback_id, video.duration_seconds) == (
        "ready",
        ticket["upload_id"],
        None,
        12.5,
    )
    [ready] = await events(app, event_types.LESSON_VIDEO_READY)
    assert (ready["lesson_id"], ready["provider"], ready["duration_seconds"]) == (
        str(lesson.id),
        "local",
        12.5,
    )
    page = (await client.get(f"{API}/lessons/{lesson.id}", headers=student.headers)).json()
    assert (page["video"]["provider"], page["video"]["status"], page["video"]["duration_seconds"]) == (
        "local",
        "ready",
        12.5,
    )

    playback = await client.get(f"{API}/lessons/{lesson.id}/playback", headers=student.headers)
    assert playback.status_code == 200, playback.text
    url = playback.json()["playback_url"]
    whole = await client.get(url)  # no credential but the URL's signature
    assert (whole.status_code, whole.content) == (200, VIDEO)
    part = await client.get(url, headers={"Range": "bytes=0-99"})
    assert (part.status_code, part.content) == (206, VIDEO[:100])
    assert part.headers["content-range"] == f"bytes 0-99/{len(VIDEO)}"

    # The heartbeat knows the real length now.
    beat = await client.put(
        f"{API}/lessons/{lesson.id}/position",
        headers=student.headers,
        json={"position_seconds": 12, "duration_seconds": 3600},
    )
    assert (beat.json()["duration_seconds"], beat.json()["is_completed"]) == (12.5, True)


async def test_a_file_that_is_not_an_mp4_is_ready_without_a_duration(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner, _student, lesson = await video_lesson(app)
    await upload_video(client, owner, lesson, b"\x1a\x45\xdf\xa3 a matroska file, say")
    await deliver_events(app)
    video = await fresh_row(app, LessonVideo, lesson.id)
    assert (video.status, video.duration_seconds) == ("ready", None)


async def test_completing_an_older_upload_changes_nothing(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner, _student, lesson = await video_lesson(app)
    first = await client.post(
        f"{API}/lessons/{lesson.id}/video/upload", headers=owner.headers, json=declared(VIDEO)
    )
    second = await upload_video(client, owner, lesson, VIDEO)  # a new cycle, completed
    await deliver_events(app)
    assert (await fresh_row(app, LessonVideo, lesson.id)).upload_id == second["upload_id"]

    old = first.json()
    assert (await put_bytes(client, old, VIDEO)).status_code in (200, 201, 204)
    assert (
        await client.post(f"{API}/files/{old['upload_id']}/complete", headers=owner.headers)
    ).status_code == 200
    await deliver_events(app)

    video = await fresh_row(app, LessonVideo, lesson.id)
    assert (video.status, video.upload_id, video.asset_id) == (
        "ready",
        second["upload_id"],
        second["upload_id"],
    )
    assert len(await events(app, event_types.LESSON_VIDEO_READY)) == 1


async def test_local_uploads_need_a_declared_video_within_the_limits(make_app: AppFactory) -> None:
    app = await make_app(file_max_bytes_video=1000)
    owner, _student, lesson = await video_lesson(app)
    url = f"{API}/lessons/{lesson.id}/video/upload"
    async with client_for(app) as client:
        assert_problem(await client.post(url, headers=owner.headers), 422, "video_upload_invalid")
        assert_problem(
            await client.post(url, headers=owner.headers, json={"content_type": "video/mp4"}),
            422,
            "video_upload_invalid",
        )
        assert_problem(
            await client.post(url, headers=owner.headers, json=declared(b"x" * 1001)), 413, "file_too_large"
        )
        assert_problem(
            await client.post(
                url, headers=owner.headers, json=declared(b"x", content_type="application/pdf")
            ),
            415,
            "unsupported_file_type",
        )
    assert await count_rows(app, LessonVideo) == 0
    assert await count_rows(app, File) == 0


async def test_a_deleted_video_file_no_longer_plays(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner, student, lesson = await video_lesson(app)
    ticket = await upload_video(client, owner, lesson, VIDEO)
    await deliver_events(app)
    assert (
        await client.get(f"{API}/lessons/{lesson.id}/playback", headers=student.headers)
    ).status_code == 200

    deleted = await client.delete(f"{API}/files/{ticket['upload_id']}", headers=owner.headers)
    assert deleted.status_code == 204, deleted.text

    assert_problem(
        await client.get(f"{API}/lessons/{lesson.id}/playback", headers=student.headers),
        409,
        "video_not_ready",
    )


async def test_an_admin_upload_is_a_video_file_and_no_lesson_video(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await create_user(app, Role.ADMIN)
    response = await client.post("/admin/uploads", headers=admin.headers, json=declared(VIDEO))
    assert response.status_code == 201, response.text
    ticket = response.json()
    assert (await put_bytes(client, ticket, VIDEO)).status_code in (200, 201, 204)
    assert (
        await client.post(f"{API}/files/{ticket['upload_id']}/complete", headers=admin.headers)
    ).status_code == 200
    await deliver_events(app)

    [file] = await rows(app, File)
    assert (str(file.id), file.purpose, file.status, file.owner_id) == (
        ticket["upload_id"],
        "video",
        "ready",
        admin.user.id,
    )
    assert await count_rows(app, LessonVideo) == 0
    assert await events(app, event_types.LESSON_VIDEO_READY) == []
