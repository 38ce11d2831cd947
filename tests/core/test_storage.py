"""Object storage: the local backend's round trip, atomic writes, key checks, configuration."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from studyhall.config import Settings
from studyhall.core.storage import (
    InvalidStorageKey,
    LocalStorage,
    StoredObjectNotFound,
    storage_from_settings,
)
from tests.conftest import TEST_SECRET


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "files")


async def test_put_read_exists_delete(storage: LocalStorage, tmp_path: Path) -> None:
    key = "certificates/0b6c1f9e.pdf"
    assert not await storage.exists(key)
    await storage.put(key, b"%PDF-1.7 first", content_type="application/pdf")
    assert await storage.exists(key)
    assert await storage.read(key) == b"%PDF-1.7 first"
    assert (tmp_path / "files" / "certificates" / "0b6c1f9e.pdf").read_bytes() == b"%PDF-1.7 first"

    await storage.put(key, b"%PDF-1.7 second", content_type="application/pdf")
    assert await storage.read(key) == b"%PDF-1.7 second", "put replaces the object"

    await storage.delete(key)
    assert not await storage.exists(key)
    await storage.delete(key)  # deleting again is not an error
    with pytest.raises(StoredObjectNotFound):
        await storage.read(key)


async def test_writes_leave_no_temporary_files_and_survive_concurrent_writers(
    storage: LocalStorage, tmp_path: Path
) -> None:
    key = "certificates/same.pdf"
    payloads = [bytes([n]) * 200_000 for n in range(8)]
    await asyncio.gather(*(storage.put(key, data, content_type="application/pdf") for data in payloads))
    assert await storage.read(key) in payloads, "one whole write wins, never a mix"
    assert os.listdir(tmp_path / "files" / "certificates") == ["same.pdf"]


async def test_a_failed_write_keeps_the_old_object(storage: LocalStorage, tmp_path: Path) -> None:
    key = "certificates/kept.pdf"
    await storage.put(key, b"old", content_type="application/pdf")
    with pytest.raises(TypeError):
        await storage.put(key, "not bytes", content_type="application/pdf")  # type: ignore[arg-type]
    assert await storage.read(key) == b"old"
    assert os.listdir(tmp_path / "files" / "certificates") == ["kept.pdf"]


@pytest.mark.parametrize(
    "key",
    [
        "../outside.pdf",
        "certificates/../../outside.pdf",
        "/etc/passwd",
        "certificates/",
        "certificates//x.pdf",
        ".hidden",
        "certificates/.",
        "a\\b",
        "a b",
        "",
        "x" * 200,
    ],
)
async def test_keys_cannot_leave_the_root(storage: LocalStorage, key: str) -> None:
    with pytest.raises(InvalidStorageKey):
        await storage.put(key, b"x", content_type="text/plain")
    with pytest.raises(InvalidStorageKey):
        await storage.exists(key)


async def test_a_symlink_out_of_the_root_is_refused(storage: LocalStorage, tmp_path: Path) -> None:
    (tmp_path / "files").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "files" / "link").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(InvalidStorageKey):
        await storage.put("link/escape.pdf", b"x", content_type="application/pdf")
    assert list((tmp_path / "elsewhere").iterdir()) == []


async def test_probe_creates_the_root_and_fails_when_it_cannot(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "new" / "files")
    await storage.probe()
    assert (tmp_path / "new" / "files").is_dir()
    (tmp_path / "blocker").write_text("a file where the folder should be")
    with pytest.raises(OSError):  # noqa: PT011 (whichever OSError the platform raises)
        await LocalStorage(tmp_path / "blocker" / "files").probe()


def _settings(tmp_path: Path, storage_url: str | None) -> Settings:
    return Settings(
        environment="test",  # type: ignore[arg-type]
        secret_key=TEST_SECRET,
        data_dir=tmp_path / "var",
        storage_url=storage_url,
    )


def test_storage_url_selects_the_backend(tmp_path: Path) -> None:
    default = storage_from_settings(_settings(tmp_path, None))
    assert isinstance(default, LocalStorage)
    assert default.root == (tmp_path / "var" / "files").resolve()

    folder = storage_from_settings(_settings(tmp_path, f"file://{tmp_path}/objects"))
    assert isinstance(folder, LocalStorage)
    assert folder.root == (tmp_path / "objects").resolve()

    for unsupported in ("ftp://host/x", "file://otherhost/x", "nonsense"):
        with pytest.raises(ValueError, match="STORAGE_URL"):
            storage_from_settings(_settings(tmp_path, unsupported))
