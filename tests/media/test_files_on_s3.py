"""The files flow against a real S3 server (SeaweedFS, started by the harness): a plain HTTP
client sends the bytes to the presigned URL, the API completes the file by asking the store
for the object's size, and the download URL reads the bytes back from the store. A missing
upload and an object of another size leave the file pending; cleanup removes the objects."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from studyhall.core.storage import LocalStorage
from studyhall.media.cleanup import clean_up_files
from studyhall.media.models import File, FileStatus
from tests.factories import (
    API,
    AppFactory,
    FakeClock,
    assert_problem,
    client_for,
    create_user,
    fresh_row,
    put_bytes,
    start_upload,
)

CONTENT = b"%PDF-1.4\n" + bytes(range(256)) * 8


@dataclass
class OnS3:
    app: FastAPI
    api: httpx.AsyncClient  # the API, in process
    http: httpx.AsyncClient  # a plain client over the network, to the store


@pytest.fixture
async def on_s3(make_app: AppFactory, s3_settings: dict[str, object]) -> AsyncIterator[OnS3]:
    app = await make_app(**s3_settings)
    assert not isinstance(app.state.storage, LocalStorage)
    async with client_for(app) as api, httpx.AsyncClient() as http:
        yield OnS3(app, api, http)


async def test_upload_complete_and_download_through_the_store(on_s3: OnS3) -> None:
    user = await create_user(on_s3.app)
    ticket = await start_upload(on_s3.api, user, CONTENT, filename="Leçon 1.pdf")
    assert not ticket["upload_url"].startswith("http://testserver")
    sent = await put_bytes(on_s3.http, ticket, CONTENT)
    assert sent.is_success, sent.text
    completed = await on_s3.api.post(f"{API}/files/{ticket['file_id']}/complete", headers=user.headers)
    assert completed.status_code == 200 and completed.json()["status"] == "ready"
    download = await on_s3.http.get(completed.json()["download_url"])
    assert download.status_code == 200 and download.content == CONTENT
    assert "Le%C3%A7on%201.pdf" in download.headers["content-disposition"]


async def test_a_missing_or_wrong_sized_object_leaves_the_file_pending(on_s3: OnS3) -> None:
    user = await create_user(on_s3.app)
    ticket = await start_upload(on_s3.api, user, CONTENT)
    url = f"{API}/files/{ticket['file_id']}/complete"
    assert_problem(await on_s3.api.post(url, headers=user.headers), 409, "upload_missing")
    file = await fresh_row(on_s3.app, File, ticket["file_id"])
    # The store may refuse a body of another size itself; if it stores one, complete does.
    short = await put_bytes(on_s3.http, ticket, CONTENT[:-1])
    if short.is_success:
        assert_problem(await on_s3.api.post(url, headers=user.headers), 422, "upload_size_mismatch")
    else:
        assert await on_s3.app.state.storage.size(file.storage_key) is None
    await on_s3.app.state.storage.put(file.storage_key, CONTENT[:-1], content_type="application/pdf")
    assert_problem(await on_s3.api.post(url, headers=user.headers), 422, "upload_size_mismatch")
    assert (await fresh_row(on_s3.app, File, file.id)).status == FileStatus.PENDING


async def test_cleanup_removes_stale_uploads_from_the_store(on_s3: OnS3, clock: FakeClock) -> None:
    user = await create_user(on_s3.app)
    ticket = await start_upload(on_s3.api, user, CONTENT)
    assert (await put_bytes(on_s3.http, ticket, CONTENT)).is_success
    file = await fresh_row(on_s3.app, File, ticket["file_id"])
    assert await on_s3.app.state.storage.size(file.storage_key) == len(CONTENT)
    clock.advance(hours=25)
    app = on_s3.app
    result = await clean_up_files(app.state.database.sessionmaker, app.state.storage, app.state.settings)
    assert result.stale_uploads == 1
    assert await app.state.storage.size(file.storage_key) is None
