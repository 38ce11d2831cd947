"""Object storage: bytes under a key (`certificates/<id>.pdf`), behind one small interface.

The embedded default, `LocalStorage`, keeps objects as files under `DATA_DIR/files` (or the
folder of a `STORAGE_URL=file:///path`); its presigned URLs point at routes StudyHall serves
itself (core/signed_urls.py, core/storage_router.py). An S3-compatible backend
(`STORAGE_URL=s3://bucket`, core/s3_storage.py) implements the same `Storage` interface;
`storage_from_settings` is the one place that picks the backend. Domains reach it through
`app.state.storage` (routes) or `storage_of(session)` (outbox handlers), never by building one
themselves.

Keys are relative, `/`-separated names of letters, digits, `.`, `_` and `-`: no absolute
paths, no `..`, nothing a backend could resolve outside its own root.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import os
import re
import tempfile
from collections.abc import AsyncIterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from stat import S_ISREG
from typing import BinaryIO
from urllib.parse import quote, unquote, urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.config import Settings
from studyhall.core.clock import utcnow
from studyhall.core.errors import StorageSizeMismatch
from studyhall.core.signed_urls import UrlSigner

#: `Session.info` key of the application's storage (see `Database.provide`).
STORAGE_INFO_KEY = "studyhall.storage"

_SEGMENT = r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}"
_KEY = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT}){{0,15}}")


class InvalidStorageKey(ValueError):
    """A key that is not a plain relative name (absolute, `..`, odd characters)."""


class StoredObjectNotFound(LookupError):
    """No object under this key."""


def check_key(key: str) -> str:
    if not _KEY.fullmatch(key):
        raise InvalidStorageKey(f"not a storage key: {key!r}")
    return key


def content_disposition(filename: str) -> str:
    """`attachment` under `filename`: RFC 6266's `filename*` (UTF-8, percent-encoded) for
    every client that reads it, and a plain ASCII `filename` for the few that do not."""
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def expiry(expires_in: timedelta) -> datetime:
    """When a URL signed now for `expires_in` stops working, to the second (what URLs carry)."""
    return (utcnow() + expires_in).replace(microsecond=0)


@dataclass(frozen=True, slots=True)
class PresignedUpload:
    """How a client sends an object's bytes straight to storage: `method` (always `PUT`) on
    `url` with exactly `headers`, before `expires_at`."""

    url: str
    expires_at: datetime
    method: str = "PUT"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PresignedDownload:
    """A URL that reads one object until `expires_at`, without any other credential."""

    url: str
    expires_at: datetime


class Storage(abc.ABC):
    """Where files live. Every method takes a key checked by `check_key`."""

    @abc.abstractmethod
    async def presign_upload(
        self, key: str, *, content_type: str, size_bytes: int, expires_in: timedelta
    ) -> PresignedUpload:
        """A short-lived URL that stores one object of `content_type` under `key`. A backend
        that can refuses a body of another size; `size` after the upload is the check that
        holds for every backend."""

    @abc.abstractmethod
    async def presign_download(
        self, key: str, *, filename: str, content_type: str, expires_in: timedelta
    ) -> PresignedDownload:
        """A short-lived URL that reads the object under `key` (honouring `Range`), served as
        `content_type` with `filename` as the attachment name."""

    @abc.abstractmethod
    async def size(self, key: str) -> int | None:
        """The stored object's size in bytes; `None` when there is no object under `key`."""

    @abc.abstractmethod
    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        """Store `data` under `key`, replacing what was there. Readers see the old object or
        the new one, never a partial write."""

    @abc.abstractmethod
    async def read(self, key: str) -> bytes:
        """The object's bytes; `StoredObjectNotFound` when there is none."""

    @abc.abstractmethod
    async def exists(self, key: str) -> bool: ...

    @abc.abstractmethod
    async def delete(self, key: str) -> None:
        """Remove the object; deleting a missing key is not an error."""

    @abc.abstractmethod
    async def probe(self) -> None:
        """Raise when the storage cannot be used (the health check calls it)."""


class LocalStorage(Storage):
    """Files under one root folder. Writes go to a temporary file in the target folder that is
    renamed over the target, so a crash never leaves half a file under a key. Presigned URLs
    need the `signer` (which `storage_from_settings` gives it)."""

    def __init__(self, root: Path, signer: UrlSigner | None = None) -> None:
        self.root = root.resolve()
        self._signer = signer

    @property
    def signer(self) -> UrlSigner:
        if self._signer is None:
            raise RuntimeError("this LocalStorage was built without a URL signer")
        return self._signer

    def path_of(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        if not path.is_relative_to(self.root):  # a symlink inside the root pointing out of it
            raise InvalidStorageKey(f"not a storage key: {key!r}")
        return path

    async def presign_upload(
        self, key: str, *, content_type: str, size_bytes: int, expires_in: timedelta
    ) -> PresignedUpload:
        expires_at = expiry(expires_in)
        fields = {"content_type": content_type, "size": str(size_bytes)}
        url = self.signer.url("PUT", check_key(key), expires_at, fields)
        return PresignedUpload(url=url, expires_at=expires_at, headers={"Content-Type": content_type})

    async def presign_download(
        self, key: str, *, filename: str, content_type: str, expires_in: timedelta
    ) -> PresignedDownload:
        expires_at = expiry(expires_in)
        fields = {"filename": filename, "content_type": content_type}
        return PresignedDownload(self.signer.url("GET", check_key(key), expires_at, fields), expires_at)

    async def write_stream(self, key: str, chunks: AsyncIterable[bytes], *, size: int) -> None:
        """Store the `size` bytes `chunks` yields under `key`, never holding more than a chunk:
        `StorageSizeMismatch` as soon as they pass `size`, or at their end when short of it,
        and then nothing is stored."""
        path = self.path_of(key)
        file, temporary = await asyncio.to_thread(_open_temporary, path)
        try:
            written = 0
            async for chunk in chunks:
                written += len(chunk)
                if written > size:
                    raise StorageSizeMismatch(f"The body is longer than the signed {size} bytes.")
                await asyncio.to_thread(file.write, chunk)
            if written != size:
                raise StorageSizeMismatch(f"The body has {written} bytes, not the signed {size}.")
            await asyncio.to_thread(_move_into_place, file, temporary, path)
        except BaseException:
            await asyncio.to_thread(_discard, file, temporary)
            raise

    async def stat(self, key: str) -> os.stat_result | None:
        """The file's `stat` (size, modification time); None when there is no file (a folder
        of other keys is not an object)."""
        try:
            found = await asyncio.to_thread(self.path_of(key).stat)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return found if S_ISREG(found.st_mode) else None

    async def size(self, key: str) -> int | None:
        found = await self.stat(key)
        return None if found is None else found.st_size

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        path = self.path_of(key)
        await asyncio.to_thread(_write_atomically, path, data)

    async def read(self, key: str) -> bytes:
        path = self.path_of(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError as exc:
            raise StoredObjectNotFound(key) from exc

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path_of(key).is_file)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path_of(key).unlink, missing_ok=True)

    async def probe(self) -> None:
        def check() -> None:
            self.root.mkdir(parents=True, exist_ok=True)
            if not os.access(self.root, os.W_OK):
                raise PermissionError(f"{self.root} is not writable")

        await asyncio.to_thread(check)


def _open_temporary(path: Path) -> tuple[BinaryIO, str]:
    """A new temporary file beside `path` (same file system, so it can be renamed over it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    return os.fdopen(descriptor, "wb"), temporary


def _move_into_place(file: BinaryIO, temporary: str, path: Path) -> None:
    with file:
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def _discard(file: BinaryIO, temporary: str) -> None:
    file.close()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temporary)


def _write_atomically(path: Path, data: bytes) -> None:
    file, temporary = _open_temporary(path)
    try:
        file.write(data)
        _move_into_place(file, temporary, path)
    except BaseException:
        _discard(file, temporary)
        raise


def storage_from_settings(settings: Settings) -> Storage:
    """The backend `STORAGE_URL` names: unset is `DATA_DIR/files`, `file:///path` a folder,
    `s3://bucket[/prefix]` an S3-compatible store."""
    url = settings.storage_url
    signer = UrlSigner(settings.secret_key, settings.public_url)
    if not url:
        return LocalStorage(settings.files_dir, signer)
    parts = urlsplit(url)
    if parts.scheme == "file" and parts.netloc in ("", "localhost") and parts.path:
        return LocalStorage(Path(unquote(parts.path)), signer)
    if parts.scheme == "s3":
        from studyhall.core.s3_storage import s3_storage_from_settings  # boto3 loads only for S3

        return s3_storage_from_settings(settings)
    raise ValueError(
        f"STORAGE_URL: unsupported storage {parts.scheme or url!r} (use file:///path or s3://bucket[/prefix])"
    )


def storage_of(session: AsyncSession) -> Storage:
    """The application's storage, from a session of its session factory."""
    storage: Storage = session.info[STORAGE_INFO_KEY]
    return storage
