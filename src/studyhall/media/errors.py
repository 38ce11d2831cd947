"""Media's domain errors."""

from __future__ import annotations

from studyhall.core.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied


class FileNotFound(NotFound):
    """No such file, a deleted one, or one the caller may not see (pending files are seen by
    their uploader only)."""

    code = "file_not_found"
    title = "File not found"


class FileTooLarge(DomainError):
    """The declared size is over the largest upload the purpose accepts."""

    code = "file_too_large"
    status = 413
    title = "The file is larger than this purpose accepts"


class UnsupportedFileType(DomainError):
    """The declared content type is not among those the purpose accepts."""

    code = "unsupported_file_type"
    status = 415
    title = "This purpose does not accept files of this content type"


class UploadMissing(Conflict):
    """`complete` found no object under the file's key: upload the bytes to the upload URL,
    then complete again. The file stays `pending`."""

    code = "upload_missing"
    title = "Nothing has been uploaded for this file yet"


class UploadSizeMismatch(InvalidInput):
    """`complete` found an object of another size than the declared `size_bytes`. The file
    stays `pending`; upload the declared bytes again, then complete."""

    code = "upload_size_mismatch"
    title = "The uploaded object is not of the declared size"


class NotFileOwner(PermissionDenied):
    """Only the uploader completes (or restores) a file; others who may see it get this."""

    code = "not_file_owner"
    title = "Only the file's uploader may do this"


class CannotDeleteFile(PermissionDenied):
    """The caller may see the file but is neither its uploader, nor staff of the course it is
    attached to, nor an admin."""

    code = "cannot_delete_file"
    title = "Only the uploader, the course's staff and admins may delete this file"


class FilePurged(Conflict):
    """The file was deleted so long ago that its object is gone: it cannot be restored."""

    code = "file_purged"
    title = "The file's content has been removed and cannot be restored"


class InvalidFile(InvalidInput):
    """A file id given to another resource (an avatar, an assignment's attachments, a
    submission, a file lesson) is unknown, deleted, not `ready`, not the caller's, or of
    another purpose; `detail` names the id and the reason."""

    code = "invalid_file"
    title = "This file cannot be used here"
