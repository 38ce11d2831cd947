"""The presigned flows, on both backends: the local storage (URLs StudyHall signs and serves
itself, driven over ASGI) and S3 (a real SeaweedFS, driven over HTTP). A plain HTTP client
uploads with the presigned PUT, `size` sees the object, and the presigned GET returns the same
bytes; a changed or expired URL and a body of the wrong size are refused by whichever serves
the URL, and nothing is stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from studyhall.core.storage import Storage
from studyhall.main import create_app
from tests.conftest import make_settings
from tests.factories import FakeClock, assert_problem

TTL = timedelta(minutes=5)
KEY = "uploads/lesson_material/0f8e2b7c-5a41-4b1e-9d0e-3c2a1b0f9e8d"
CONTENT = b"%PDF-1.7\n" + bytes(range(256)) * 64
PDF = "application/pdf"


@dataclass
class Store:
    """A backend under test, the client that follows its URLs, and how it says no."""

    name: str
    storage: Storage
    http: httpx.AsyncClient
    #: Moves time past an URL's expiry: the fake clock for the local storage, real time for S3.
    wait: Callable[[float], Awaitable[None]]

    def assert_refused(self, response: httpx.Response, local_code: str, s3_code: str) -> None:
        """Local URLs answer problem documents; S3 its XML errors (`<Code>...</Code>`)."""
        if self.name == "local":
            assert_problem(response, 403 if local_code != "storage_size_mismatch" else 400, local_code)
        else:
            assert response.status_code == 403, response.text
            assert f"<Code>{s3_code}</Code>" in response.text


@pytest.fixture(params=["local", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> AsyncIterator[Store]:
    overrides: dict[str, object] = {}
    if request.param == "s3":
        overrides = request.getfixturevalue("s3_settings")
    app = create_app(
        make_settings(f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}", tmp_path / "var", **overrides)
    )
    if request.param == "local":
        transport: httpx.AsyncBaseTransport = httpx.ASGITransport(app=app, raise_app_exceptions=False)

        async def wait(seconds: float) -> None:
            clock.advance(seconds=seconds)
    else:
        transport = httpx.AsyncHTTPTransport()

        async def wait(seconds: float) -> None:
            await asyncio.sleep(seconds)

    async with httpx.AsyncClient(transport=transport) as http:
        yield Store(request.param, app.state.storage, http, wait)


def changed(url: str, **parameters: str) -> str:
    """`url` with query parameters replaced (their names as the backend spells them)."""
    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    return parts._replace(query=urlencode({**query, **parameters})).geturl()


def expiry_parameter(store: Store) -> str:
    return "expires" if store.name == "local" else "X-Amz-Expires"


def signature_parameter(store: Store) -> str:
    return "signature" if store.name == "local" else "X-Amz-Signature"


async def upload(store: Store, url: str, content: bytes, content_type: str = PDF) -> httpx.Response:
    return await store.http.put(url, content=content, headers={"Content-Type": content_type})


async def test_upload_then_size_then_download_the_same_bytes(store: Store) -> None:
    presigned = await store.storage.presign_upload(
        KEY, content_type=PDF, size_bytes=len(CONTENT), expires_in=TTL
    )
    assert presigned.method == "PUT" and presigned.headers == {"Content-Type": PDF}
    assert urlsplit(presigned.url).scheme == "http", "absolute, for any HTTP client"
    assert await store.storage.size(KEY) is None

    response = await store.http.request(
        presigned.method, presigned.url, content=CONTENT, headers=presigned.headers
    )
    assert response.is_success, response.text
    assert await store.storage.size(KEY) == len(CONTENT)

    download = await store.storage.presign_download(
        KEY, filename="Leçon 1.pdf", content_type=PDF, expires_in=TTL
    )
    response = await store.http.get(download.url)
    assert response.status_code == 200
    assert response.content == CONTENT
    assert response.headers["content-type"] == PDF
    assert "filename*=UTF-8''Le%C3%A7on%201.pdf" in response.headers["content-disposition"]
    assert response.headers["content-disposition"].startswith("attachment;")
    assert await store.storage.read(KEY) == CONTENT, "the same object through the interface"

    ranged = await store.http.get(download.url, headers={"Range": "bytes=9-18"})
    assert (ranged.status_code, ranged.content) == (206, CONTENT[9:19])


async def test_a_tampered_upload_url_is_refused(store: Store) -> None:
    presigned = await store.storage.presign_upload(
        KEY, content_type=PDF, size_bytes=len(CONTENT), expires_in=TTL
    )
    signature = parse_qs(urlsplit(presigned.url).query)[signature_parameter(store)][0]
    tampered = {
        "signature": changed(presigned.url, **{signature_parameter(store): signature[:-4] + "0000"}),
        "key": presigned.url.replace(KEY, KEY[:-1] + "0"),
        "expiry": changed(
            presigned.url, **{expiry_parameter(store): "9999999999" if store.name == "local" else "604800"}
        ),
    }
    for url in tampered.values():
        response = await upload(store, url, CONTENT)
        store.assert_refused(response, "storage_signature_invalid", "SignatureDoesNotMatch")
    assert await store.storage.size(KEY) is None
    assert await store.storage.size(KEY[:-1] + "0") is None


async def test_a_tampered_download_url_is_refused(store: Store) -> None:
    await store.storage.put(KEY, CONTENT, content_type=PDF)
    await store.storage.put(KEY[:-1] + "0", b"another object", content_type=PDF)
    presigned = await store.storage.presign_download(KEY, filename="a.pdf", content_type=PDF, expires_in=TTL)
    signature = parse_qs(urlsplit(presigned.url).query)[signature_parameter(store)][0]
    for url in (
        changed(presigned.url, **{signature_parameter(store): signature[:-4] + "0000"}),
        presigned.url.replace(KEY, KEY[:-1] + "0"),
        changed(
            presigned.url, **{expiry_parameter(store): "9999999999" if store.name == "local" else "604800"}
        ),
    ):
        response = await store.http.get(url)
        store.assert_refused(response, "storage_signature_invalid", "SignatureDoesNotMatch")
        assert b"another object" not in response.content and CONTENT not in response.content


async def test_an_expired_url_is_refused(store: Store) -> None:
    await store.storage.put(KEY, CONTENT, content_type=PDF)
    download = await store.storage.presign_download(
        KEY, filename="a.pdf", content_type=PDF, expires_in=timedelta(seconds=1)
    )
    upload_url = await store.storage.presign_upload(
        KEY, content_type=PDF, size_bytes=3, expires_in=timedelta(seconds=1)
    )
    await store.wait(2.5)
    store.assert_refused(await store.http.get(download.url), "storage_url_expired", "AccessDenied")
    store.assert_refused(await upload(store, upload_url.url, b"new"), "storage_url_expired", "AccessDenied")
    assert await store.storage.read(KEY) == CONTENT, "the object is unchanged"


@pytest.mark.parametrize("size", [len(CONTENT) - 1, len(CONTENT) + 1], ids=["shorter", "longer"])
async def test_a_body_of_another_size_is_refused_by_the_store(store: Store, size: int) -> None:
    """Both backends refuse it outright (the local routes check the signed size, S3 the signed
    `Content-Length`), so nothing is stored and `size` says so; `complete`'s size check
    would catch a store that accepted it."""
    presigned = await store.storage.presign_upload(
        KEY, content_type=PDF, size_bytes=len(CONTENT), expires_in=TTL
    )
    response = await upload(store, presigned.url, (CONTENT * 2)[:size])
    store.assert_refused(response, "storage_size_mismatch", "SignatureDoesNotMatch")
    assert await store.storage.size(KEY) is None


async def test_another_content_type_is_refused(store: Store) -> None:
    presigned = await store.storage.presign_upload(
        KEY, content_type=PDF, size_bytes=len(CONTENT), expires_in=TTL
    )
    response = await upload(store, presigned.url, CONTENT, content_type="text/html")
    if store.name == "local":
        assert_problem(response, 415, "storage_content_type_mismatch")
    else:
        store.assert_refused(response, "", "SignatureDoesNotMatch")
    assert await store.storage.size(KEY) is None
