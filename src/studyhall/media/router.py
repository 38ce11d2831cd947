"""File endpoints: presigned uploads, completion, metadata with a download URL, deletion."""

from __future__ import annotations

import uuid

from fastapi import Response, status

from studyhall.core.deps import SessionDep
from studyhall.core.openapi import error_responses
from studyhall.core.pagination import Page, PageParamsDep
from studyhall.core.routing import DomainRouter
from studyhall.identity.deps import CurrentUser, OptionalUser
from studyhall.media import service
from studyhall.media.models import FilePurpose
from studyhall.media.schemas import FileRead, FileSummary, UploadRequest, UploadTicket

router = DomainRouter(prefix="/files", tags=["files"])

_NOT_FOUND = "`file_not_found`: no such file the caller may see (deleted files included)"


@router.post(
    "/uploads",
    status_code=status.HTTP_201_CREATED,
    summary="Start an upload",
    description=(
        "Any signed-in user. Creates a `pending` file and answers a short-lived presigned "
        "URL (`FILE_UPLOAD_URL_TTL_SECONDS`): send the bytes with `method` to `upload_url` "
        "with exactly `headers`, straight to storage, then call `POST /files/{file_id}/complete`. "
        "Each purpose has a largest size (`413 file_too_large`) and accepted content types "
        "(`415 unsupported_file_type`), set by `FILE_MAX_BYTES_<PURPOSE>` and "
        "`FILE_TYPES_<PURPOSE>`. With `FILE_QUOTA_BYTES` set, the caller's live files and this "
        "one must fit in it (`413 storage_quota_exceeded`). `filename` is a plain name (no "
        "folders, no control characters), kept for the download."
    ),
    responses=error_responses(
        401,
        413,
        415,
        422,
        status_413="`file_too_large`: over the purpose's largest size; `storage_quota_exceeded`: "
        "beyond the caller's storage quota",
        status_415="`unsupported_file_type`: a content type the purpose does not accept",
    ),
)
async def start_upload(body: UploadRequest, user: CurrentUser, session: SessionDep) -> UploadTicket:
    return UploadTicket.of(await service.create_upload(session, user, body))


@router.get(
    "",
    summary="My files",
    description="The caller's files (pending and ready, not deleted), newest first; `?purpose=` filters.",
    responses=error_responses(401, 422),
)
async def my_files(
    user: CurrentUser, session: SessionDep, params: PageParamsDep, purpose: FilePurpose | None = None
) -> Page[FileSummary]:
    items, total = await service.my_files(session, user, params, purpose)
    return Page[FileSummary].of([FileSummary.model_validate(item) for item in items], total, params)


@router.post(
    "/{file_id:uuid}/complete",
    summary="Finish an upload",
    description=(
        "The uploader. Checks that storage holds an object of the declared `size_bytes` and "
        "makes the file `ready` (emits `file.ready`); completing a ready file again answers it "
        "unchanged. `409 upload_missing` when nothing was uploaded, `422 upload_size_mismatch` "
        "when the object has another size: the file stays `pending` and may be uploaded and "
        "completed again while the upload URL is valid."
    ),
    responses=error_responses(
        401,
        403,
        404,
        409,
        422,
        status_403="`not_file_owner`: the caller sees the file but did not upload it",
        status_404=_NOT_FOUND,
        status_409="`upload_missing`: nothing stored for this file yet",
        status_422="`upload_size_mismatch`: the stored object is not of the declared size",
    ),
)
async def complete_upload(file_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> FileRead:
    return FileRead.of(await service.complete_upload(session, user, file_id))


@router.get(
    "/{file_id:uuid}",
    summary="A file and its download URL",
    description=(
        "Whoever may see what the file is attached to (lesson material: those who may open "
        "the lesson, or the assignment; a submission file: its student and the course's staff; "
        "an avatar: any signed-in user), the uploader (also while `pending`, without a URL) "
        "and admins. Anonymous callers see the files of preview lessons. `download_url` is "
        "short-lived (`FILE_DOWNLOAD_URL_TTL_SECONDS`): fetch the file again for a new one."
    ),
    responses=error_responses(401, 404, 422, status_404=_NOT_FOUND),
)
async def get_file(file_id: uuid.UUID, user: OptionalUser, session: SessionDep) -> FileRead:
    return FileRead.of(await service.get_file(session, user, file_id))


@router.delete(
    "/{file_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a file",
    description=(
        "The uploader, the staff of a course the file is attached to, and admins. A soft "
        "delete: the file disappears (`404`) and can be restored until its object is purged "
        "(`FILE_RETENTION_DAYS`). Of concurrent deletes one answers `204`, the others `404`; "
        "one `file.deleted` event."
    ),
    responses=error_responses(
        401,
        403,
        404,
        422,
        status_403="`cannot_delete_file`: the caller sees the file but may not delete it",
        status_404=_NOT_FOUND,
    ),
)
async def delete_file(file_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> Response:
    await service.delete_file(session, user, file_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{file_id:uuid}/restore",
    summary="Restore a deleted file",
    description=(
        "The uploader and admins bring back a deleted file, with its attachments, until its "
        "object is purged (`409 file_purged`); it counts in its owner's storage quota again "
        "(`413 storage_quota_exceeded`)."
    ),
    responses=error_responses(
        401,
        404,
        409,
        413,
        422,
        status_404="`file_not_found`: no deleted file of the caller's with this id",
        status_409="`file_purged`: the object is gone",
        status_413="`storage_quota_exceeded`: the file no longer fits in its owner's quota",
    ),
)
async def restore_file(file_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> FileRead:
    return FileRead.of(await service.restore_file(session, user, file_id))
