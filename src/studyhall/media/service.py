"""Uploaded files: presigned uploads, completion, downloads, deletion, and the ownership
checks other domains call when they take file ids.

The API never streams a file's bytes: `start_upload` answers a presigned URL that sends them
straight to storage, `complete_upload` checks the stored object's size before the file is
`ready`, and a download is a short-lived presigned URL. Storage and settings come from the
session (`storage_of`, `session_settings`), so other domains call these functions with a
session alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall import event_types
from studyhall.catalog.access import locked
from studyhall.core.clock import utcnow
from studyhall.core.db import dialect_insert, session_settings
from studyhall.core.events import emit
from studyhall.core.pagination import PageParams, fetch_page
from studyhall.core.storage import PresignedDownload, PresignedUpload, storage_of
from studyhall.identity.models import User
from studyhall.media.access import deletable_file, load_file, may_see, visible_file
from studyhall.media.errors import (
    FileNotFound,
    FilePurged,
    FileTooLarge,
    InvalidFile,
    NotFileOwner,
    StorageQuotaExceeded,
    UnsupportedFileType,
    UploadMissing,
    UploadSizeMismatch,
)
from studyhall.media.models import (
    AttachmentKind,
    File,
    FileAttachment,
    FilePurpose,
    FileStatus,
    storage_key_for,
)
from studyhall.media.policies import accepts_content_type, is_uploader, sees_every_file
from studyhall.media.schemas import UploadRequest


@dataclass(frozen=True, slots=True)
class NewUpload:
    """A pending file and how its bytes are sent to storage."""

    file: File
    upload: PresignedUpload


@dataclass(frozen=True, slots=True)
class FileView:
    """A file as its reader may use it: the row and, once `ready`, a download URL."""

    file: File
    download: PresignedDownload | None


# -- uploading -----------------------------------------------------------------------------


def check_upload_limits(
    session: AsyncSession, purpose: FilePurpose, content_type: str, size_bytes: int
) -> None:
    """`FILE_MAX_BYTES_<PURPOSE>` (413) and `FILE_TYPES_<PURPOSE>` (415)."""
    max_bytes, accepted = session_settings(session).file_limit(purpose)
    if size_bytes > max_bytes:
        raise FileTooLarge(f"{purpose} files are at most {max_bytes} bytes; this one is {size_bytes}")
    if not accepts_content_type(accepted, content_type):
        raise UnsupportedFileType(f"{purpose} files may be {', '.join(accepted)}; not {content_type}")


async def check_quota(session: AsyncSession, owner_id: uuid.UUID, size_bytes: int) -> None:
    """`FILE_QUOTA_BYTES` (413 `storage_quota_exceeded`): the owner's live files, pending
    ones included (their objects may be stored already), plus `size_bytes` must fit. The
    owner's row is locked first, so concurrent uploads of one user are counted one after
    the other (SQLite's writers are serialised anyway); the lock leaves the row's key alone,
    so inserts that reference the user do not wait."""
    quota = session_settings(session).file_quota_bytes
    if not quota:
        return
    await session.execute(select(User.id).where(User.id == owner_id).with_for_update(key_share=True))
    used = await session.scalar(
        select(func.coalesce(func.sum(File.size_bytes), 0)).where(
            File.owner_id == owner_id, File.deleted_at.is_(None)
        )
    )
    if (used or 0) + size_bytes > quota:
        raise StorageQuotaExceeded(
            f"the owner's files take {used} of their {quota} bytes; {size_bytes} more do not fit"
        )


async def create_upload(session: AsyncSession, user: User, data: UploadRequest) -> NewUpload:
    """`POST /files/uploads`: a pending file of the caller and its presigned upload."""
    return await start_upload(
        session,
        owner_id=user.id,
        purpose=FilePurpose(data.purpose),
        filename=data.filename,
        content_type=data.content_type,
        size_bytes=data.size_bytes,
    )


async def start_upload(
    session: AsyncSession,
    *,
    owner_id: uuid.UUID,
    purpose: FilePurpose,
    filename: str,
    content_type: str,
    size_bytes: int,
) -> NewUpload:
    """A pending file of any purpose (the video routes create `video` files here) within its
    purpose's limits, and a presigned URL that stores its bytes under
    `uploads/<purpose>/<file id>`, valid `FILE_UPLOAD_URL_TTL_SECONDS`. The client finishes
    with `complete_upload`."""
    file = await _pending_file(session, owner_id, purpose, filename, content_type, size_bytes)
    upload = await storage_of(session).presign_upload(
        file.storage_key,
        content_type=content_type,
        size_bytes=size_bytes,
        expires_in=timedelta(seconds=session_settings(session).file_upload_url_ttl_seconds),
    )
    return NewUpload(file, upload)


async def store_file(
    session: AsyncSession,
    *,
    owner_id: uuid.UUID,
    purpose: FilePurpose,
    filename: str,
    content_type: str,
    data: bytes,
) -> File:
    """A file whose bytes the server itself has (the demo's lesson materials and videos),
    within its purpose's limits: stored, then `ready` as an uploaded file would be. The object
    is written before the transaction commits; if it rolls back, the object stays behind
    under a key no row names."""
    file = await _pending_file(session, owner_id, purpose, filename, content_type, len(data))
    await storage_of(session).put(file.storage_key, data, content_type=content_type)
    return await mark_ready(session, file)


async def _pending_file(
    session: AsyncSession,
    owner_id: uuid.UUID,
    purpose: FilePurpose,
    filename: str,
    content_type: str,
    size_bytes: int,
) -> File:
    check_upload_limits(session, purpose, content_type, size_bytes)
    await check_quota(session, owner_id, size_bytes)
    file_id = uuid.uuid4()
    file = File(
        id=file_id,
        owner_id=owner_id,
        purpose=purpose,
        filename=filename,
        content_type=content_type,
        size_bytes=size_bytes,
        storage_key=storage_key_for(purpose, file_id),
        status=FileStatus.PENDING,
    )
    session.add(file)
    await session.flush()
    return file


async def complete_upload(session: AsyncSession, user: User, file_id: uuid.UUID) -> FileView:
    """`POST /files/{id}/complete`, for the uploader: the file becomes `ready` once storage
    holds an object of its declared size (idempotent once ready)."""
    file = await load_file(session, file_id, for_update=True)
    if not is_uploader(user, file):
        raise NotFileOwner() if await may_see(session, user, file) else FileNotFound()
    await mark_ready(session, file)
    return await _view(session, file)


async def mark_ready(session: AsyncSession, file: File) -> File:
    """Check the stored object of a pending file (locked by the caller) and make it `ready`,
    emitting `file.ready` once; a ready file is returned as it is. `UploadMissing` (409) or
    `UploadSizeMismatch` (422) leave it pending."""
    if file.is_ready:
        return file
    stored = await storage_of(session).size(file.storage_key)
    if stored is None:
        raise UploadMissing(f"No object has been uploaded for file {file.id}")
    if stored != file.size_bytes:
        raise UploadSizeMismatch(
            f"File {file.id} was declared as {file.size_bytes} bytes; storage holds {stored}"
        )
    file.status = FileStatus.READY
    file.completed_at = utcnow()
    await session.flush()
    emit(
        session,
        event_types.FILE_READY,
        {
            "file_id": file.id,
            "owner_id": file.owner_id,
            "purpose": file.purpose,
            "size_bytes": file.size_bytes,
        },
    )
    return file


# -- reading -------------------------------------------------------------------------------


async def download_link(session: AsyncSession, file: File) -> PresignedDownload:
    """A presigned URL reading a ready file, valid `FILE_DOWNLOAD_URL_TTL_SECONDS`, served
    under the uploader's file name."""
    return await storage_of(session).presign_download(
        file.storage_key,
        filename=file.filename,
        content_type=file.content_type,
        expires_in=timedelta(seconds=session_settings(session).file_download_url_ttl_seconds),
    )


async def _view(session: AsyncSession, file: File) -> FileView:
    return FileView(file, await download_link(session, file) if file.is_ready else None)


async def get_file(session: AsyncSession, user: User | None, file_id: uuid.UUID) -> FileView:
    """`GET /files/{id}`: metadata and, once ready, a download URL, for whoever may see it
    (`media.access`)."""
    return await _view(session, await visible_file(session, user, file_id))


async def my_files(
    session: AsyncSession, user: User, params: PageParams, purpose: FilePurpose | None = None
) -> tuple[list[File], int]:
    """The caller's live files, newest first."""
    statement = select(File).where(File.owner_id == user.id, File.deleted_at.is_(None))
    if purpose is not None:
        statement = statement.where(File.purpose == purpose)
    return await fetch_page(session, statement.order_by(File.created_at.desc(), File.id), params)


# -- deleting and restoring ----------------------------------------------------------------


async def delete_file(session: AsyncSession, user: User, file_id: uuid.UUID) -> None:
    """Soft delete, by the uploader, staff of a course the file is attached to, or an admin.
    The row is locked first: of concurrent deletes one succeeds, the others find nothing.
    Attachments stay, so a restore gives the file back where it was."""
    file = await deletable_file(session, user, file_id)
    file.deleted_at = utcnow()
    file.deletion_id = uuid.uuid4()
    await session.flush()
    emit(session, event_types.FILE_DELETED, {"file_id": file.id, "owner_id": file.owner_id, "by": user.id})


async def restore_file(session: AsyncSession, user: User, file_id: uuid.UUID) -> FileView:
    """Undo a delete, by the uploader or an admin, while the object is kept
    (`FILE_RETENTION_DAYS`); `409 file_purged` afterwards."""
    file = await load_file(session, file_id, for_update=True, deleted=True)
    if not (is_uploader(user, file) or sees_every_file(user)):
        raise FileNotFound()
    if file.purged_at is not None:
        raise FilePurged()
    await check_quota(session, file.owner_id, file.size_bytes)
    file.deleted_at = None
    file.deletion_id = None
    await session.flush()
    return await _view(session, file)


# -- ownership checks for other domains ----------------------------------------------------


async def attach_files(
    session: AsyncSession,
    user: User,
    file_ids: Sequence[uuid.UUID],
    *,
    purpose: FilePurpose,
    kind: AttachmentKind,
    target_id: uuid.UUID,
    course_id: uuid.UUID | None = None,
) -> list[File]:
    """Make `file_ids` exactly the files attached to (`kind`, `target_id`), in the caller's
    transaction, and return them in the order given.

    A newly attached file must be live, `ready`, the caller's, and of `purpose`; else
    `InvalidFile` (422) naming the id and the reason. Files already attached to this target
    stay accepted (a co-instructor editing an assignment keeps a colleague's attachments).
    The files are locked while they are checked, so a file deleted concurrently is not
    attached."""
    wanted = list(dict.fromkeys(file_ids))
    current = set(
        (
            await session.scalars(
                select(FileAttachment.file_id).where(
                    FileAttachment.kind == kind, FileAttachment.target_id == target_id
                )
            )
        ).all()
    )
    files = await _checked_files(session, user, wanted, purpose=purpose, already_attached=current)
    removed = current - set(wanted)
    if removed:
        await session.execute(
            delete(FileAttachment).where(
                FileAttachment.kind == kind,
                FileAttachment.target_id == target_id,
                FileAttachment.file_id.in_(removed),
            )
        )
    added = [file_id for file_id in wanted if file_id not in current]
    if added:
        await session.execute(
            dialect_insert(session, FileAttachment)
            .values(
                [
                    {
                        "file_id": file_id,
                        "kind": kind,
                        "target_id": target_id,
                        "course_id": course_id,
                        "created_at": utcnow(),
                    }
                    for file_id in added
                ]
            )
            .on_conflict_do_nothing()
        )
    return files


async def _checked_files(
    session: AsyncSession,
    user: User,
    file_ids: list[uuid.UUID],
    *,
    purpose: FilePurpose,
    already_attached: set[uuid.UUID],
) -> list[File]:
    if not file_ids:
        return []
    found = {
        file.id: file
        for file in (
            await session.scalars(locked(select(File).where(File.id.in_(file_ids)), key_share=True))
        ).all()
    }
    for file_id in file_ids:
        problem = _unusable(found.get(file_id), user, purpose, already_attached=file_id in already_attached)
        if problem:
            raise InvalidFile(f"File {file_id}: {problem}")
    return [found[file_id] for file_id in file_ids]


def _unusable(file: File | None, user: User, purpose: FilePurpose, *, already_attached: bool) -> str | None:
    """Why a file cannot be attached here, or None."""
    if file is None or file.deleted_at is not None:
        return "no such file"
    if already_attached:
        return None
    if file.owner_id != user.id:  # other people's files are not told apart from missing ones
        return "no such file"
    if not file.is_ready:
        return "not completed yet (POST /files/{id}/complete)"
    if file.purpose != purpose:
        return f"uploaded as {file.purpose}, needed as {purpose}"
    return None


async def detach_all(session: AsyncSession, kind: AttachmentKind, target_id: uuid.UUID) -> None:
    """Forget what was attached to a target that is gone for good (a deleted assignment)."""
    await session.execute(
        delete(FileAttachment).where(FileAttachment.kind == kind, FileAttachment.target_id == target_id)
    )


async def attached_file(session: AsyncSession, file_id: uuid.UUID) -> FileView | None:
    """A live, ready file with its download URL, for a resource that shows its file to those
    who may see the resource (a file lesson's readers); None when the file is gone."""
    file = await session.scalar(
        select(File).where(File.id == file_id, File.deleted_at.is_(None), File.status == FileStatus.READY)
    )
    return await _view(session, file) if file is not None else None
