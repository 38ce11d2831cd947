"""The local storage's signed URLs, served by StudyHall at `/storage/{key}`: signing, what
the routes refuse, streamed uploads of exactly the signed size, and downloads with `Range`.

No database is involved: these routes touch only files. The flows both backends share (upload,
size, download, tampering, expiry, wrong size) are in test_storage_presigned.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from studyhall.config import DEFAULT_PUBLIC_URL, Settings
from studyhall.core.clock import utcnow
from studyhall.core.security import derive_key
from studyhall.core.signed_urls import UrlSigner
from studyhall.core.storage import InvalidStorageKey, LocalStorage
from studyhall.main import create_app
from tests.conftest import TEST_SECRET, make_settings
from tests.factories import CHUNK, FakeClock, Upload, assert_problem, peak_memory

PUBLIC_URL = "https://api.example.test"
TTL = timedelta(minutes=5)
MiB = 1024 * 1024


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    return create_app(
        make_settings(
            f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}", tmp_path / "var", public_url=PUBLIC_URL
        )
    )


@pytest.fixture
def storage(app: FastAPI) -> LocalStorage:
    storage: LocalStorage = app.state.storage
    return storage


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A plain client; it follows the signed URLs to the app, whatever their host."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport) as client:
        yield client


def objects_in(storage: LocalStorage) -> list[str]:
    """Every file under the root, temporary ones included."""
    return sorted(str(path.relative_to(storage.root)) for path in storage.root.rglob("*") if path.is_file())


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    return parts._replace(query=urlencode({**query, **changes})).geturl()


async def upload_url(
    storage: LocalStorage, key: str, size: int, content_type: str = "application/pdf"
) -> str:
    presigned = await storage.presign_upload(key, content_type=content_type, size_bytes=size, expires_in=TTL)
    return presigned.url


async def download_url(storage: LocalStorage, key: str, filename: str = "notes.pdf") -> str:
    presigned = await storage.presign_download(
        key, filename=filename, content_type="application/pdf", expires_in=TTL
    )
    return presigned.url


# -- the URLs --------------------------------------------------------------------------------


async def test_urls_are_absolute_under_public_url_and_carry_what_they_grant(
    storage: LocalStorage, clock: FakeClock
) -> None:
    upload = await storage.presign_upload(
        "uploads/avatar/f1", content_type="image/png", size_bytes=1234, expires_in=TTL
    )
    parts = urlsplit(upload.url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "api.example.test",
        "/storage/uploads/avatar/f1",
    )
    query = parse_qs(parts.query)
    assert query["content_type"] == ["image/png"] and query["size"] == ["1234"]
    assert query["expires"] == [str(int(upload.expires_at.timestamp()))]
    assert len(query["signature"][0]) == 64  # hex HMAC-SHA256
    assert upload.expires_at == (clock.now + TTL).replace(microsecond=0)
    assert (upload.method, upload.headers) == ("PUT", {"Content-Type": "image/png"})

    download = await storage.presign_download(
        "uploads/avatar/f1", filename="été 1.png", content_type="image/png", expires_in=TTL
    )
    query = parse_qs(urlsplit(download.url).query)
    assert query["filename"] == ["été 1.png"] and query["content_type"] == ["image/png"]
    assert download.expires_at == upload.expires_at


def test_public_url_defaults_to_the_dev_server_and_sets_the_oauth_redirect_base(tmp_path: Path) -> None:
    default = Settings(environment="test", secret_key=TEST_SECRET, data_dir=tmp_path)  # type: ignore[arg-type]
    assert (default.public_url, default.oauth_redirect_base) == (DEFAULT_PUBLIC_URL, None)
    chosen = Settings(
        environment="test",  # type: ignore[arg-type]
        secret_key=TEST_SECRET,
        data_dir=tmp_path,
        public_url="https://api.example.com/",
    )
    assert (chosen.public_url, chosen.oauth_redirect_base) == (
        "https://api.example.com",
        "https://api.example.com",
    )
    own = Settings(
        environment="test",  # type: ignore[arg-type]
        secret_key=TEST_SECRET,
        data_dir=tmp_path,
        public_url="https://api.example.com",
        oauth_redirect_base="https://auth.example.com",
    )
    assert own.oauth_redirect_base == "https://auth.example.com"
    with pytest.raises(ValueError, match="public_url"):
        Settings(environment="test", secret_key=TEST_SECRET, public_url="api.example.com")  # type: ignore[arg-type]


async def test_the_signing_key_is_derived_from_secret_key(storage: LocalStorage) -> None:
    fields = {"filename": "a.txt", "content_type": "text/plain"}
    message = json.dumps(["GET", "a", 1, "a.txt", "text/plain"], separators=(",", ":")).encode()
    with_the_raw_secret = hmac.new(TEST_SECRET.encode(), message, hashlib.sha256).hexdigest()
    with_the_derived_key = hmac.new(
        derive_key(TEST_SECRET, b"studyhall storage url signing"), message, hashlib.sha256
    )
    assert storage.signer.signature("GET", "a", 1, fields) == with_the_derived_key.hexdigest()
    assert storage.signer.signature("GET", "a", 1, fields) != with_the_raw_secret
    assert (
        UrlSigner("another secret", PUBLIC_URL).signature("GET", "a", 1, fields)
        != with_the_derived_key.hexdigest()
    )


async def test_a_storage_built_without_a_signer_cannot_presign(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="signer"):
        await LocalStorage(tmp_path).presign_upload(
            "a", content_type="text/plain", size_bytes=1, expires_in=TTL
        )


# -- what the routes refuse ------------------------------------------------------------------


async def test_a_url_signed_for_one_method_does_not_work_for_another(
    storage: LocalStorage, http: httpx.AsyncClient
) -> None:
    await storage.put("docs/a.pdf", b"%PDF", content_type="application/pdf")
    put_url = await upload_url(storage, "docs/a.pdf", 4)
    get_url = await download_url(storage, "docs/a.pdf")
    assert_problem(await http.get(put_url), 403, "storage_signature_invalid")
    refused = await http.put(get_url, content=b"%PDF", headers={"Content-Type": "application/pdf"})
    assert_problem(refused, 403, "storage_signature_invalid")
    assert await storage.read("docs/a.pdf") == b"%PDF"


@pytest.mark.parametrize(
    "change",
    [
        {"signature": "0" * 64},
        {"signature": ""},
        {"expires": "9999999999"},
        {"expires": "soon"},
        {"expires": "²"},
        {"expires": "9" * 5000},
        {"size": "5"},
        {"content_type": "text/html"},
    ],
    ids=[
        "signature",
        "no-signature",
        "expiry",
        "non-numeric-expiry",
        "unicode-digit-expiry",
        "huge-expiry",
        "size",
        "content-type",
    ],
)
async def test_a_changed_upload_url_is_refused(
    storage: LocalStorage, http: httpx.AsyncClient, change: dict[str, str]
) -> None:
    url = with_query(await upload_url(storage, "docs/a.pdf", 4), **change)
    content_type = change.get("content_type", "application/pdf")
    response = await http.put(
        url, content=b"%PDF"[: int(change.get("size", 4))], headers={"Content-Type": content_type}
    )
    body = assert_problem(response, 403, "storage_signature_invalid")
    assert "0" * 64 not in response.text and body["detail"].startswith(("The signature", "The URL lacks"))
    assert objects_in(storage) == []


async def test_an_upload_url_for_another_key_is_refused(
    storage: LocalStorage, http: httpx.AsyncClient
) -> None:
    url = (await upload_url(storage, "docs/a.pdf", 4)).replace("/docs/a.pdf?", "/docs/b.pdf?")
    response = await http.put(url, content=b"%PDF", headers={"Content-Type": "application/pdf"})
    assert_problem(response, 403, "storage_signature_invalid")
    assert objects_in(storage) == []


async def test_an_expired_url_is_refused(
    storage: LocalStorage, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    await storage.put("docs/a.pdf", b"%PDF", content_type="application/pdf")
    url = await download_url(storage, "docs/a.pdf")
    clock.advance(seconds=TTL.total_seconds() - 1)
    assert (await http.get(url)).status_code == 200
    clock.advance(seconds=1)
    body = assert_problem(await http.get(url), 403, "storage_url_expired")
    assert body["detail"].startswith("The URL expired at ")


async def test_keys_out_of_the_root_are_refused_even_when_signed(
    storage: LocalStorage, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    """Keys are checked when signing; the routes check them again, so a validly signed
    traversal key (were one ever signed) still reaches nothing outside the root."""
    (tmp_path / "secret.txt").write_text("outside")
    with pytest.raises(InvalidStorageKey):
        await download_url(storage, "../../secret.txt")
    for key in ("../../secret.txt", "..%2F..%2Fsecret.txt", ".hidden"):
        fields = {"filename": "s.txt", "content_type": "text/plain"}
        expires = int((utcnow() + TTL).timestamp())
        signature = storage.signer.signature("GET", unquote(key), expires, fields)
        query = urlencode({"expires": expires, **fields, "signature": signature})
        response = await http.get(f"http://testserver/storage/{key}?{query}")
        assert_problem(response, 404, "not_found")
        assert "outside" not in response.text
    forged = await http.get("http://testserver/storage/..%2F..%2Fsecret.txt?expires=9999999999&signature=x")
    assert_problem(forged, 403, "storage_signature_invalid")


async def test_a_content_type_other_than_the_signed_one_is_refused(
    storage: LocalStorage, http: httpx.AsyncClient
) -> None:
    url = await upload_url(storage, "docs/a.pdf", 4)
    for headers in ({"Content-Type": "text/html"}, {"Content-Type": "application/pdf; charset=utf-8"}, {}):
        response = await http.put(url, content=b"%PDF", headers=headers)
        body = assert_problem(response, 415, "storage_content_type_mismatch")
        assert body["detail"] == "Send `Content-Type: application/pdf`, as signed."
    assert objects_in(storage) == []


# -- uploads: streamed, exactly the signed size -----------------------------------------------


async def test_an_upload_streams_to_its_key_past_the_request_body_limit(
    storage: LocalStorage, http: httpx.AsyncClient
) -> None:
    size = 3 * MiB  # MAX_REQUEST_BODY_BYTES is 1 MiB
    url = await upload_url(storage, "uploads/lesson_material/f1", size, "application/octet-stream")
    chunked = Upload(size)
    with peak_memory() as memory:
        response = await http.put(
            url, content=chunked.chunks(), headers={"Content-Type": "application/octet-stream"}
        )
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert objects_in(storage) == ["uploads/lesson_material/f1"]
    assert await storage.size("uploads/lesson_material/f1") == size
    assert memory["peak"] < MiB, "the body was streamed, not held"


async def test_a_body_longer_than_signed_is_refused_while_it_streams(
    storage: LocalStorage, http: httpx.AsyncClient
) -> None:
    await storage.put("docs/a.pdf", b"old", content_type="application/pdf")
    url = await upload_url(storage, "docs/a.pdf", 10 * CHUNK)
    chunked = Upload(100 * CHUNK)
    response = await http.put(url, content=chunked.chunks(), headers={"Content-Type": "application/pdf"})
    body = assert_problem(response, 400, "storage_size_mismatch")
    assert body["detail"] == f"The body is longer than the signed {10 * CHUNK} bytes."
    assert response.headers["connection"] == "close"
    assert chunked.sent <= 12 * CHUNK, "reading stopped at the chunk that passed the size"
    assert objects_in(storage) == ["docs/a.pdf"] and await storage.read("docs/a.pdf") == b"old"


async def test_a_body_shorter_than_signed_is_refused_at_its_end(
    storage: LocalStorage, http: httpx.AsyncClient
) -> None:
    url = await upload_url(storage, "docs/a.pdf", 10 * CHUNK)
    response = await http.put(
        url, content=Upload(9 * CHUNK).chunks(), headers={"Content-Type": "application/pdf"}
    )
    body = assert_problem(response, 400, "storage_size_mismatch")
    assert body["detail"] == f"The body has {9 * CHUNK} bytes, not the signed {10 * CHUNK}."
    assert objects_in(storage) == []


async def test_a_declared_length_other_than_signed_is_refused_before_reading(
    storage: LocalStorage, http: httpx.AsyncClient
) -> None:
    url = await upload_url(storage, "docs/a.pdf", 4)
    for body in (b"%PD", b"%PDF!"):
        response = await http.put(url, content=body, headers={"Content-Type": "application/pdf"})
        problem = assert_problem(response, 400, "storage_size_mismatch")
        assert problem["detail"] == f"Content-Length is {len(body)}, not the signed 4 bytes."
    assert objects_in(storage) == []


async def test_an_upload_replaces_the_object_and_a_url_may_be_used_again_until_it_expires(
    storage: LocalStorage, http: httpx.AsyncClient
) -> None:
    url = await upload_url(storage, "docs/a.pdf", 4)
    for content in (b"%PD1", b"%PD2"):
        response = await http.put(url, content=content, headers={"Content-Type": "application/pdf"})
        assert response.status_code == 204
        assert await storage.read("docs/a.pdf") == content


async def test_concurrent_uploads_to_one_key_leave_one_whole_object(
    storage: LocalStorage, http: httpx.AsyncClient
) -> None:
    size = 8 * CHUNK
    url = await upload_url(storage, "docs/a.bin", size, "application/octet-stream")
    bodies = [bytes([n]) * size for n in range(6)]
    responses = await asyncio.gather(
        *(
            http.put(url, content=body, headers={"Content-Type": "application/octet-stream"})
            for body in bodies
        )
    )
    assert [response.status_code for response in responses] == [204] * 6
    assert await storage.read("docs/a.bin") in bodies
    assert objects_in(storage) == ["docs/a.bin"]


# -- downloads: streamed, with Range ------------------------------------------------------------

CONTENT = bytes(range(256)) * 40  # 10 240 bytes


@pytest.fixture
async def stored(storage: LocalStorage) -> str:
    await storage.put("docs/report.pdf", CONTENT, content_type="application/pdf")
    return await download_url(storage, "docs/report.pdf", filename='Rapport d\'été "final".pdf')


async def test_a_download_serves_the_signed_type_and_name_with_validators(
    storage: LocalStorage, http: httpx.AsyncClient, stored: str
) -> None:
    response = await http.get(stored)
    assert response.status_code == 200
    assert response.content == CONTENT
    headers = response.headers
    assert headers["content-type"] == "application/pdf"
    assert headers["content-length"] == str(len(CONTENT))
    assert headers["content-disposition"] == (
        'attachment; filename="Rapport d\'_t_ _final_.pdf"; '
        "filename*=UTF-8''Rapport%20d%27%C3%A9t%C3%A9%20%22final%22.pdf"
    )
    assert headers["accept-ranges"] == "bytes"
    assert headers["etag"].startswith('"')
    modified = (await storage.stat("docs/report.pdf")).st_mtime  # type: ignore[union-attr]
    assert parsedate_to_datetime(headers["last-modified"]).timestamp() == int(modified)
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-request-id"]

    head = await http.head(stored)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(CONTENT))
    assert head.headers["etag"] == headers["etag"]


@pytest.mark.parametrize(
    ("requested", "first", "last"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=5000-5999", 5000, 5999),
        ("bytes=-100", 10140, 10239),
        ("bytes=10000-", 10000, 10239),
        ("bytes=10200-99999", 10200, 10239),
    ],
    ids=["first-bytes", "middle", "suffix", "open-ended", "past-the-end-clamped"],
)
async def test_a_single_range_is_served_as_206(
    http: httpx.AsyncClient, stored: str, requested: str, first: int, last: int
) -> None:
    response = await http.get(stored, headers={"Range": requested})
    assert response.status_code == 206, response.text
    assert response.content == CONTENT[first : last + 1]
    assert response.headers["content-range"] == f"bytes {first}-{last}/{len(CONTENT)}"
    assert response.headers["content-length"] == str(last - first + 1)
    assert response.headers["content-type"] == "application/pdf"


async def test_an_unsatisfiable_range_is_416_with_the_size(http: httpx.AsyncClient, stored: str) -> None:
    response = await http.get(stored, headers={"Range": f"bytes={len(CONTENT)}-"})
    body = assert_problem(response, 416, "range_not_satisfiable")
    assert response.headers["content-range"] == f"bytes */{len(CONTENT)}"
    assert body["detail"] == "The requested range starts past the end of the object."
    malformed = await http.get(stored, headers={"Range": "bytes=9-1"})
    assert_problem(malformed, 400, "bad_request")


async def test_if_range_with_a_stale_validator_serves_the_whole_object(
    http: httpx.AsyncClient, stored: str
) -> None:
    response = await http.get(stored, headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert response.status_code == 200 and response.content == CONTENT


async def test_a_missing_object_is_404(storage: LocalStorage, http: httpx.AsyncClient) -> None:
    url = await download_url(storage, "docs/never-uploaded.pdf")
    assert_problem(await http.get(url), 404, "not_found")
    await storage.put("docs/inside/a.pdf", b"%PDF", content_type="application/pdf")
    folder = await download_url(storage, "docs/inside")
    assert_problem(await http.get(folder), 404, "not_found")
    assert await storage.size("docs/inside") is None, "a folder of keys is not an object"
    assert await storage.size("docs/inside/a.pdf/deeper") is None
    head = await http.head(url)
    assert (head.status_code, head.headers["content-type"]) == (404, "application/problem+json")


async def test_a_200_mb_download_keeps_memory_flat(app: FastAPI, storage: LocalStorage) -> None:
    """The file is sparse (no disk used); the app is driven over ASGI directly, its body
    counted and dropped, because httpx's ASGI transport would itself collect the body."""
    size = 200 * MiB
    path = storage.root / "videos" / "big.mp4"
    path.parent.mkdir(parents=True)
    with path.open("wb") as file:
        file.truncate(size)
    url = urlsplit(await download_url(storage, "videos/big.mp4", filename="big.mp4"))
    with peak_memory() as memory:
        status, received = await drive(app, "/storage/videos/big.mp4", url.query)
    assert (status, received) == (200, size)
    assert memory["peak"] < 8 * MiB, f"peak {memory['peak']} bytes: the file was loaded"


async def drive(app: FastAPI, path: str, query: str) -> tuple[int, int]:
    """One GET through the whole ASGI app, counting the body's bytes without keeping them."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    status, received = 0, 0
    done = asyncio.Event()

    async def receive() -> dict[str, Any]:
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, received
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            received += len(message.get("body", b""))
            if not message.get("more_body", False):
                done.set()

    await app(scope, receive, send)
    return status, received
