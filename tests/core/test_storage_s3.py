"""The S3 backend against a real S3 server (SeaweedFS, started by the harness): configuration,
the objects certificates use, `size`, the bucket probe, and what /health makes of it.

The presigned flows both backends share are in test_storage_presigned.py.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from studyhall.config import Settings
from studyhall.core.s3_storage import S3Storage
from studyhall.core.storage import InvalidStorageKey, StoredObjectNotFound, storage_from_settings
from studyhall.main import create_app
from tests.conftest import TEST_SECRET, make_settings
from tests.factories import assert_problem, client_for
from tests.servers import SeaweedServer


def s3_storage(tmp_path: Path, **values: object) -> S3Storage:
    settings = Settings(environment="test", secret_key=TEST_SECRET, data_dir=tmp_path, **values)  # type: ignore[arg-type]
    storage = storage_from_settings(settings)
    assert isinstance(storage, S3Storage)
    return storage


@pytest.fixture
def storage(tmp_path: Path, s3_settings: dict[str, object]) -> S3Storage:
    return s3_storage(tmp_path, **s3_settings)


def test_storage_url_selects_s3_with_its_settings(tmp_path: Path) -> None:
    storage = s3_storage(
        tmp_path,
        storage_url="s3://media-bucket/studyhall/prod/",
        s3_endpoint_url="https://s3.example.test",
        s3_region="eu-west-3",
        s3_access_key_id="AKIAEXAMPLE",
        s3_secret_access_key="very-secret-value",
        s3_force_path_style=True,
    )
    assert (storage.bucket, storage.prefix) == ("media-bucket", "studyhall/prod")
    assert storage.object_key("certificates/a.pdf") == "studyhall/prod/certificates/a.pdf"
    assert storage.client.meta.endpoint_url == "https://s3.example.test"
    assert storage.client.meta.region_name == "eu-west-3"
    assert storage.client.meta.config.s3 == {"addressing_style": "path"}
    bare = s3_storage(tmp_path, storage_url="s3://media-bucket")
    assert (bare.prefix, bare.object_key("a")) == ("", "a")
    with pytest.raises(InvalidStorageKey):
        bare.object_key("../a")
    with pytest.raises(ValueError, match="STORAGE_URL"):
        s3_storage(tmp_path, storage_url="s3:///no-bucket")


def test_the_secret_access_key_stays_out_of_the_settings_repr(tmp_path: Path) -> None:
    settings = Settings(
        environment="test",  # type: ignore[arg-type]
        secret_key=TEST_SECRET,
        data_dir=tmp_path,
        storage_url="s3://bucket",
        s3_access_key_id="AKIAEXAMPLE",
        s3_secret_access_key="very-secret-value",
    )
    assert "very-secret-value" not in repr(settings) and "very-secret-value" not in str(settings)
    assert "AKIAEXAMPLE" in repr(settings)


async def test_put_read_exists_size_delete(
    storage: S3Storage, s3_server: SeaweedServer, s3_bucket: str
) -> None:
    key = "certificates/0b6c1f9e.pdf"
    assert not await storage.exists(key) and await storage.size(key) is None
    await storage.put(key, b"%PDF-1.7 first", content_type="application/pdf")
    assert await storage.read(key) == b"%PDF-1.7 first"
    assert await storage.exists(key) and await storage.size(key) == len(b"%PDF-1.7 first")
    stored = s3_server.client().head_object(Bucket=s3_bucket, Key="files/" + key)
    assert (stored["ContentType"], stored["ContentLength"]) == ("application/pdf", 14)

    await storage.put(key, b"%PDF-1.7 second", content_type="application/pdf")
    assert await storage.read(key) == b"%PDF-1.7 second", "put replaces the object"
    await storage.delete(key)
    assert not await storage.exists(key)
    await storage.delete(key)  # deleting again is not an error
    with pytest.raises(StoredObjectNotFound):
        await storage.read(key)


async def test_probe_checks_the_bucket(tmp_path: Path, s3_server: SeaweedServer, storage: S3Storage) -> None:
    await storage.probe()
    missing = s3_storage(tmp_path, **s3_server.settings("no-such-bucket"))
    with pytest.raises(Exception) as raised:  # noqa: PT011 (botocore's ClientError)
        await missing.probe()
    assert "404" in str(raised.value) or "NoSuchBucket" in str(raised.value)


async def health_of(tmp_path: Path, **overrides: Any) -> tuple[httpx.Response, httpx.Response]:
    """`/health` and `/health/ready` of an app with these settings (its SQLite database empty,
    which `SELECT 1` needs no more than)."""
    app = create_app(make_settings(f"sqlite+aiosqlite:///{tmp_path / 'health.db'}", tmp_path, **overrides))
    try:
        async with client_for(app) as client:
            return await client.get("/health"), await client.get("/health/ready")
    finally:
        await app.state.database.dispose()


async def test_health_shows_s3_storage_ok(tmp_path: Path, s3_settings: dict[str, object]) -> None:
    health, ready = await health_of(tmp_path, **s3_settings)
    body = health.json()
    assert (health.status_code, body["status"]) == (200, "ok")
    assert body["checks"]["storage"]["status"] == "ok"
    assert body["checks"]["storage"]["latency_ms"] > 0
    assert (ready.status_code, ready.json()["checks"]["storage"]) == (200, "ok")


async def test_health_is_degraded_when_the_bucket_is_missing(
    tmp_path: Path, s3_server: SeaweedServer
) -> None:
    """Storage is not a required dependency: the API still serves (certificate PDFs are
    rendered again when they cannot be read), so /health says `degraded` and /ready stays 200."""
    health, ready = await health_of(tmp_path, **s3_server.settings("studyhall-never-created"))
    body = health.json()
    assert (health.status_code, body["status"]) == (200, "degraded")
    assert body["checks"]["storage"]["status"] == "down"
    assert body["checks"]["storage"]["error"] == "ClientError"
    assert body["checks"]["database"]["status"] == "ok"
    assert (ready.status_code, ready.json()["checks"]["storage"]) == (200, "down")


async def test_health_is_degraded_when_the_s3_server_stops(tmp_path: Path) -> None:
    server = SeaweedServer().start()
    try:
        server.create_bucket("studyhall-stopping")
        settings = server.settings("studyhall-stopping")
        running, _ = await health_of(tmp_path / "running", **settings)
        assert running.json()["checks"]["storage"]["status"] == "ok"
        server.stop()
        stopped, ready = await health_of(tmp_path / "stopped", **settings)
    finally:
        server.remove()
    body = stopped.json()
    assert (stopped.status_code, body["status"]) == (200, "degraded")
    assert body["checks"]["storage"]["status"] == "down"
    assert ready.status_code == 200


async def test_the_local_storage_routes_answer_404_with_s3(
    tmp_path: Path, s3_settings: dict[str, object]
) -> None:
    """With S3 the API signs no `/storage` URL: even one signed with the same secret is 404."""
    local = storage_from_settings(
        Settings(environment="test", secret_key=TEST_SECRET, data_dir=tmp_path)  # type: ignore[arg-type]
    )
    url = await local.presign_download(
        "docs/a.pdf", filename="a.pdf", content_type="application/pdf", expires_in=timedelta(minutes=5)
    )
    app = create_app(make_settings(f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}", tmp_path, **s3_settings))
    async with client_for(app) as client:
        assert_problem(await client.get(url.url), 404, "not_found")
