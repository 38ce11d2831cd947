"""Media's domain errors. Lesson access errors (`lesson_not_found`, `not_enrolled`,
`not_course_staff`) are the catalog's; `lesson_not_video` is learning's."""

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


class StorageQuotaExceeded(DomainError):
    """The upload (or restore) would take the owner's files beyond `FILE_QUOTA_BYTES`."""

    code = "storage_quota_exceeded"
    status = 413
    title = "The owner's files would exceed their storage quota"


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


class LessonVideoNotFound(NotFound):
    """The video lesson has no video yet: nobody started an upload for it."""

    code = "lesson_video_not_found"
    title = "The lesson has no video"


class VideoNotReady(Conflict):
    """The lesson's video is still waiting for its upload or being processed, or it failed
    (`video.status` says which); playback opens once it is `ready`."""

    code = "video_not_ready"
    title = "The video is not ready"


class VideoUploadInvalid(InvalidInput):
    """The upload request lacks what the configured provider needs (the local provider needs
    `size_bytes` and a video `content_type`), or declares a video above the size limit."""

    code = "video_upload_invalid"
    title = "Invalid video upload"


class VideoProviderError(DomainError):
    """The video provider (Mux) refused or failed the request; nothing was changed. Retrying
    later may work."""

    code = "video_provider_error"
    status = 502
    title = "The video provider failed"


class VideoProviderUnavailable(DomainError):
    """The video provider (Mux) could not be reached in time; nothing was changed."""

    code = "video_provider_unavailable"
    status = 503
    title = "The video provider is unavailable"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail)
        self.headers["Retry-After"] = "5"


class WebhookSignatureInvalid(DomainError):
    """A webhook whose `Mux-Signature` is missing, malformed, does not match the body, or is
    older (or newer) than the tolerance; nothing was changed."""

    code = "webhook_signature_invalid"
    status = 400
    title = "Invalid webhook signature"


class WebhookPayloadInvalid(DomainError):
    """A correctly signed webhook whose body is not a Mux event (`id`, `type`, `data`)."""

    code = "webhook_payload_invalid"
    status = 400
    title = "Invalid webhook payload"
