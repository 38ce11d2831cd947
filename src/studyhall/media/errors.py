"""Media's domain errors. Lesson access errors (`lesson_not_found`, `not_enrolled`,
`not_course_staff`) are the catalog's; `lesson_not_video` is learning's."""

from __future__ import annotations

from studyhall.core.errors import Conflict, DomainError, InvalidInput, NotFound


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
