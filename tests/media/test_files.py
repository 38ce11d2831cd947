"""The files API route by route: starting an upload (limits, bad input), completing it
(missing object, wrong size, twice, concurrently), reading it with a download URL that
downloads the bytes, listing, deleting (concurrently) and restoring."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI

from studyhall import event_types
from studyhall.identity.models import Role
from studyhall.media import service as media
from studyhall.media.errors import FileTooLarge, UnsupportedFileType
from studyhall.media.models import File, FilePurpose, FileStatus
from tests.factories import (
    API,
    Actor,
    AppFactory,
    assert_problem,
    client_for,
    create_file,
    create_user,
    events,
    fresh_row,
    outcomes,
    put_bytes,
    race,
    rows,
    start_upload,
)

PDF = b"%PDF-1.4\n" + b"0123456789" * 100


def upload_body(**overrides: object) -> dict[str, object]:
    return {
        "filename": "slides.pdf",
        "content_type": "application/pdf",
        "size_bytes": 1000,
        "purpose": "lesson_material",
        **overrides,
    }


async def test_an_upload_starts_as_a_pending_file_with_a_presigned_url(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await create_user(app)
    response = await client.post(
        f"{API}/files/uploads", headers=user.headers, json=upload_body(content_type="Application/PDF")
    )
    assert response.status_code == 201, response.text
    ticket = response.json()
    assert ticket.keys() == {"file_id", "upload_url", "method", "headers", "expires_at"}
    assert ticket["method"] == "PUT" and ticket["upload_url"].startswith("http")
    file = await fresh_row(app, File, ticket["file_id"])
    assert (file.status, file.owner_id, file.purpose) == ("pending", user.user.id, "lesson_material")
    assert (file.filename, file.content_type, file.size_bytes) == ("slides.pdf", "application/pdf", 1000)
    assert file.storage_key == f"uploads/lesson_material/{file.id}"
    assert file.completed_at is None and file.deleted_at is None
    assert await app.state.storage.size(file.storage_key) is None


@pytest.mark.parametrize(
    ("purpose", "content_type", "size_bytes"),
    [
        ("avatar", "image/png", 5 * 1024 * 1024 + 1),
        ("certificate_asset", "image/png", 5 * 1024 * 1024 + 1),
        ("submission", "application/pdf", 50 * 1024 * 1024 + 1),
        ("lesson_material", "application/pdf", 200 * 1024 * 1024 + 1),
    ],
)
async def test_each_purpose_has_a_largest_size(
    app: FastAPI, client: httpx.AsyncClient, purpose: str, content_type: str, size_bytes: int
) -> None:
    user = await create_user(app)
    body = upload_body(purpose=purpose, content_type=content_type)
    fits = await client.post(
        f"{API}/files/uploads", headers=user.headers, json={**body, "size_bytes": size_bytes - 1}
    )
    assert fits.status_code == 201, fits.text
    too_large = await client.post(
        f"{API}/files/uploads", headers=user.headers, json={**body, "size_bytes": size_bytes}
    )
    assert str(size_bytes - 1) in assert_problem(too_large, 413, "file_too_large")["detail"]
    assert len(await _files_of(app)) == 1


@pytest.mark.parametrize(
    ("purpose", "refused", "accepted"),
    [
        ("avatar", "application/pdf", "image/webp"),
        ("avatar", "image/svg+xml", "image/jpeg"),
        ("certificate_asset", "image/gif", "image/png"),
        ("submission", "video/mp4", "application/zip"),
        ("submission", "text/html", "text/plain"),
        ("lesson_material", "application/x-msdownload", "audio/mpeg"),
    ],
)
async def test_each_purpose_accepts_its_content_types(
    app: FastAPI, client: httpx.AsyncClient, purpose: str, refused: str, accepted: str
) -> None:
    user = await create_user(app)
    no = await client.post(
        f"{API}/files/uploads", headers=user.headers, json=upload_body(purpose=purpose, content_type=refused)
    )
    assert refused in assert_problem(no, 415, "unsupported_file_type")["detail"]
    yes = await client.post(
        f"{API}/files/uploads", headers=user.headers, json=upload_body(purpose=purpose, content_type=accepted)
    )
    assert yes.status_code == 201, yes.text
    assert [file.content_type for file in await _files_of(app)] == [accepted]


async def test_limits_are_settings(make_app: AppFactory) -> None:
    app = await make_app(file_max_bytes_avatar=10, file_types_avatar="image/png, image/x-icon")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        user = await create_user(app)
        body = upload_body(purpose="avatar", content_type="image/x-icon", size_bytes=10)
        assert (await client.post(f"{API}/files/uploads", headers=user.headers, json=body)).status_code == 201
        assert_problem(
            await client.post(f"{API}/files/uploads", headers=user.headers, json={**body, "size_bytes": 11}),
            413,
            "file_too_large",
        )
        assert_problem(
            await client.post(
                f"{API}/files/uploads", headers=user.headers, json={**body, "content_type": "image/jpeg"}
            ),
            415,
            "unsupported_file_type",
        )


async def test_a_quota_counts_the_owners_live_files(make_app: AppFactory) -> None:
    app = await make_app(file_quota_bytes=2500)
    async with client_for(app) as client:
        user, other = await create_user(app), await create_user(app)

        async def upload(actor: Actor, size: int) -> httpx.Response:
            return await client.post(
                f"{API}/files/uploads", headers=actor.headers, json=upload_body(size_bytes=size)
            )

        kept = await create_file(app, user, content=b"x" * 1000)  # ready
        assert (await upload(user, 1000)).status_code == 201  # pending ones count too
        full = await upload(user, 501)
        assert_problem(full, 413, "storage_quota_exceeded")
        assert "2000 of their 2500 bytes" in full.json()["detail"]
        assert (await upload(user, 500)).status_code == 201  # exactly full
        assert (await upload(other, 2500)).status_code == 201  # a quota per owner
        assert len([f for f in await _files_of(app) if f.owner_id == user.user.id]) == 3

        assert (await client.delete(f"{API}/files/{kept.id}", headers=user.headers)).status_code == 204
        assert (await upload(user, 1000)).status_code == 201  # deleted files do not count
        assert_problem(
            await client.post(f"{API}/files/{kept.id}/restore", headers=user.headers),
            413,
            "storage_quota_exceeded",
        )
        assert (await fresh_row(app, File, kept.id)).deleted_at is not None


async def test_concurrent_uploads_cannot_overrun_a_quota(make_app: AppFactory) -> None:
    app = await make_app(file_quota_bytes=1500)
    async with client_for(app) as client:
        user = await create_user(app)
        responses = await race(
            client.post(f"{API}/files/uploads", headers=user.headers, json=upload_body(size_bytes=1000))
            for _ in range(4)
        )
        assert outcomes(responses) == {(201, None): 1, (413, "storage_quota_exceeded"): 3}
        assert [f.size_bytes for f in await _files_of(app)] == [1000]


@pytest.mark.parametrize(
    "bad",
    [
        {"filename": ""},
        {"filename": "   "},
        {"filename": "../etc/passwd"},
        {"filename": "folder/name.pdf"},
        {"filename": "back\\slash.pdf"},
        {"filename": ".."},
        {"filename": "line\nbreak.pdf"},
        {"filename": "tab\there.pdf"},
        {"filename": "x" * 256},
        {"content_type": "pdf"},
        {"content_type": "application/pdf; charset=utf-8"},
        {"content_type": ""},
        {"size_bytes": 0},
        {"size_bytes": -1},
        {"size_bytes": "many"},
        {"purpose": "video"},
        {"purpose": "anything"},
        {"owner_id": str(uuid.uuid4())},
    ],
)
async def test_bad_upload_requests_are_422(
    app: FastAPI, client: httpx.AsyncClient, bad: dict[str, object]
) -> None:
    user = await create_user(app)
    response = await client.post(f"{API}/files/uploads", headers=user.headers, json=upload_body(**bad))
    assert_problem(response, 422, "validation_error")
    assert await _files_of(app) == []


async def test_uploading_needs_a_signed_in_user(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{API}/files/uploads", json=upload_body())
    assert_problem(response, 401, "not_authenticated")


async def test_a_file_is_ready_once_its_bytes_are_stored_and_downloads_them(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await create_user(app)
    ticket = await start_upload(client, user, PDF, filename="Week 1 – slides.pdf")
    assert (await put_bytes(client, ticket, PDF)).status_code in (200, 201, 204)
    completed = await client.post(f"{API}/files/{ticket['file_id']}/complete", headers=user.headers)
    assert completed.status_code == 200, completed.text
    body = completed.json()
    assert (body["status"], body["size_bytes"], body["filename"]) == (
        "ready",
        len(PDF),
        "Week 1 – slides.pdf",
    )
    assert body["download_url"] and body["download_expires_at"]
    file = await fresh_row(app, File, ticket["file_id"])
    assert file.status == FileStatus.READY and file.completed_at is not None
    assert await events(app, event_types.FILE_READY) == [
        {
            "file_id": ticket["file_id"],
            "owner_id": user.id,
            "purpose": "lesson_material",
            "size_bytes": len(PDF),
        }
    ]
    read = await client.get(f"{API}/files/{ticket['file_id']}", headers=user.headers)
    assert read.status_code == 200 and read.json()["id"] == ticket["file_id"]
    download = await client.get(read.json()["download_url"])
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"].startswith("application/pdf")


async def test_completing_without_an_upload_is_409_and_the_file_stays_pending(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await create_user(app)
    ticket = await start_upload(client, user, PDF)
    response = await client.post(f"{API}/files/{ticket['file_id']}/complete", headers=user.headers)
    assert_problem(response, 409, "upload_missing")
    assert (await fresh_row(app, File, ticket["file_id"])).status == FileStatus.PENDING
    assert await events(app, event_types.FILE_READY) == []


async def test_completing_with_an_object_of_another_size_is_422_and_the_file_stays_pending(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await create_user(app)
    ticket = await start_upload(client, user, PDF)
    file = await fresh_row(app, File, ticket["file_id"])
    await app.state.storage.put(file.storage_key, PDF[:-1], content_type="application/pdf")
    response = await client.post(f"{API}/files/{ticket['file_id']}/complete", headers=user.headers)
    detail = assert_problem(response, 422, "upload_size_mismatch")["detail"]
    assert str(len(PDF)) in detail and str(len(PDF) - 1) in detail
    assert (await fresh_row(app, File, ticket["file_id"])).status == FileStatus.PENDING
    # The right bytes, sent again, complete it.
    await app.state.storage.put(file.storage_key, PDF, content_type="application/pdf")
    again = await client.post(f"{API}/files/{ticket['file_id']}/complete", headers=user.headers)
    assert again.status_code == 200 and again.json()["status"] == "ready"


async def test_completing_twice_or_concurrently_makes_it_ready_once(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await create_user(app)
    ticket = await start_upload(client, user, PDF)
    await put_bytes(client, ticket, PDF)
    url = f"{API}/files/{ticket['file_id']}/complete"
    responses = await race(client.post(url, headers=user.headers) for _ in range(4))
    assert outcomes(responses) == {(200, None): 4}
    completed_at = {r.json()["completed_at"] for r in responses}
    assert len(completed_at) == 1
    again = await client.post(url, headers=user.headers)
    assert again.status_code == 200 and again.json()["completed_at"] in completed_at
    assert len(await events(app, event_types.FILE_READY)) == 1


async def test_only_the_uploader_completes(app: FastAPI, client: httpx.AsyncClient) -> None:
    uploader, other = await create_user(app), await create_user(app)
    pending = await create_file(app, uploader, ready=False)
    assert_problem(
        await client.post(f"{API}/files/{pending.id}/complete", headers=other.headers), 404, "file_not_found"
    )
    avatar = await create_file(app, uploader, purpose="avatar", content_type="image/png")
    await client.patch(f"{API}/auth/me", headers=uploader.headers, json={"avatar_file_id": str(avatar.id)})
    assert_problem(
        await client.post(f"{API}/files/{avatar.id}/complete", headers=other.headers), 403, "not_file_owner"
    )
    assert_problem(await client.post(f"{API}/files/{pending.id}/complete"), 401, "not_authenticated")
    assert_problem(
        await client.post(f"{API}/files/{uuid.uuid4()}/complete", headers=uploader.headers),
        404,
        "file_not_found",
    )
    assert (await fresh_row(app, File, pending.id)).status == FileStatus.PENDING


async def test_the_uploader_sees_a_pending_file_without_a_url(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    uploader = await create_user(app)
    pending = await create_file(app, uploader, ready=False)
    body = (await client.get(f"{API}/files/{pending.id}", headers=uploader.headers)).json()
    assert (body["status"], body["download_url"], body["download_expires_at"]) == ("pending", None, None)


async def test_my_files_lists_the_callers_live_files(app: FastAPI, client: httpx.AsyncClient) -> None:
    user, other = await create_user(app), await create_user(app)
    notes = await create_file(app, user)
    avatar = await create_file(app, user, purpose="avatar", content_type="image/png")
    gone = await create_file(app, user)
    await create_file(app, other)
    assert (await client.delete(f"{API}/files/{gone.id}", headers=user.headers)).status_code == 204
    mine = (await client.get(f"{API}/files", headers=user.headers)).json()
    assert mine["total"] == 2 and {item["id"] for item in mine["items"]} == {str(notes.id), str(avatar.id)}
    assert "download_url" not in mine["items"][0]
    avatars = (await client.get(f"{API}/files?purpose=avatar", headers=user.headers)).json()
    assert [item["id"] for item in avatars["items"]] == [str(avatar.id)]
    assert_problem(
        await client.get(f"{API}/files?purpose=nope", headers=user.headers), 422, "validation_error"
    )
    assert_problem(await client.get(f"{API}/files"), 401, "not_authenticated")


async def test_deleting_is_soft_and_concurrent_deletes_succeed_once(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await create_user(app)
    file = await create_file(app, user)
    url = f"{API}/files/{file.id}"
    responses = await race(client.delete(url, headers=user.headers) for _ in range(4))
    assert outcomes(responses) == {(204, None): 1, (404, "file_not_found"): 3}
    row = await fresh_row(app, File, file.id)
    assert row.deleted_at is not None and row.purged_at is None
    assert await app.state.storage.exists(file.storage_key)  # kept for the retention period
    assert_problem(await client.get(url, headers=user.headers), 404, "file_not_found")
    assert len(await events(app, event_types.FILE_DELETED)) == 1


async def test_restoring_brings_a_deleted_file_back(app: FastAPI, client: httpx.AsyncClient) -> None:
    user, other = await create_user(app), await create_user(app)
    file = await create_file(app, user)
    assert_problem(
        await client.post(f"{API}/files/{file.id}/restore", headers=user.headers), 404, "file_not_found"
    )  # not deleted
    await client.delete(f"{API}/files/{file.id}", headers=user.headers)
    assert_problem(
        await client.post(f"{API}/files/{file.id}/restore", headers=other.headers), 404, "file_not_found"
    )
    restored = await client.post(f"{API}/files/{file.id}/restore", headers=user.headers)
    assert restored.status_code == 200 and restored.json()["download_url"]
    assert (await fresh_row(app, File, file.id)).deleted_at is None
    admin = await create_user(app, Role.ADMIN)
    await client.delete(f"{API}/files/{file.id}", headers=admin.headers)
    assert (await client.post(f"{API}/files/{file.id}/restore", headers=admin.headers)).status_code == 200


async def _files_of(app: FastAPI) -> list[File]:
    return await rows(app, File)


async def test_other_domains_start_and_finish_video_uploads_through_the_service(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """The video upload routes create `video` files with `start_upload` (never through
    `POST /files/uploads`); the client sends the bytes and completes as for any file."""
    teacher = await create_user(app, Role.INSTRUCTOR)
    clip = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100
    async with app.state.database.session_scope() as session:
        with pytest.raises(FileTooLarge):
            await media.start_upload(
                session,
                owner_id=teacher.user.id,
                purpose=FilePurpose.VIDEO,
                filename="intro.mp4",
                content_type="video/mp4",
                size_bytes=5 * 1024**3 + 1,
            )
        with pytest.raises(UnsupportedFileType):
            await media.start_upload(
                session,
                owner_id=teacher.user.id,
                purpose=FilePurpose.VIDEO,
                filename="intro.pdf",
                content_type="application/pdf",
                size_bytes=10,
            )
        new = await media.start_upload(
            session,
            owner_id=teacher.user.id,
            purpose=FilePurpose.VIDEO,
            filename="intro.mp4",
            content_type="video/mp4",
            size_bytes=len(clip),
        )
    assert new.file.storage_key == f"uploads/video/{new.file.id}"
    ticket = {"method": new.upload.method, "upload_url": new.upload.url, "headers": new.upload.headers}
    assert (await put_bytes(client, ticket, clip)).status_code == 204
    completed = await client.post(f"{API}/files/{new.file.id}/complete", headers=teacher.headers)
    assert completed.status_code == 200 and completed.json()["purpose"] == "video"
    assert [e["purpose"] for e in await events(app, event_types.FILE_READY)] == ["video"]
    ranged = await client.get(completed.json()["download_url"], headers={"Range": "bytes=0-3"})
    assert ranged.status_code == 206 and ranged.content == clip[:4]
