"""Video endpoints: a lesson's direct upload and playback (`/api/v1`), the admin upload and
the Mux webhook (no prefix)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Body, Header, Request, status

from studyhall.catalog.deps import LessonAccessDep
from studyhall.core.deps import SessionDep
from studyhall.core.openapi import Responses, error_responses
from studyhall.core.routing import DomainRouter
from studyhall.identity.deps import AdminUser, CurrentUser, OptionalUser
from studyhall.media import video, webhooks
from studyhall.media.providers import VideoUploadRequest
from studyhall.media.schemas import PlaybackRead, VideoUploadIn, VideoUploadTicket, WebhookAck

#: Under `/api/v1`.
router = DomainRouter(tags=["video"])
#: At the root: `/admin/uploads` and `/webhooks/mux`.
root_router = DomainRouter(tags=["video"])

UploadBody = Annotated[VideoUploadIn | None, Body()]
_PROVIDER_ERRORS: Responses = {
    502: {"description": "`video_provider_error`: Mux refused or failed the request; nothing changed"},
    503: {"description": "`video_provider_unavailable`: Mux could not be reached in time; nothing changed"},
}
_UPLOAD_DESCRIPTION = (
    "With `VIDEO_PROVIDER=mux`: a Mux direct upload (PUT the file to `upload_url`; Mux reports "
    "progress through the webhook). With `local`: a `video` file in the file storage "
    "(`content_type` and `size_bytes` required; limits `FILE_MAX_BYTES_VIDEO` (`413`) and "
    "`FILE_TYPES_VIDEO` (`415`), and the caller's `FILE_QUOTA_BYTES` (`413`)); send the bytes, "
    "then `POST /files/{upload_id}/complete`."
)


def _request(body: VideoUploadIn | None) -> VideoUploadRequest:
    if body is None:
        return VideoUploadRequest()
    return VideoUploadRequest(body.filename, body.content_type, body.size_bytes)


@router.post(
    "/lessons/{lesson_id}/video/upload",
    status_code=status.HTTP_201_CREATED,
    summary="Upload a lesson's video",
    description=(
        "Course staff of a `video` lesson. Starts a new upload cycle: the lesson's `video.status` "
        "becomes `waiting_upload` for this `upload_id`, then `processing` and `ready` (or "
        "`errored`); reports about earlier uploads are ignored from now on. " + _UPLOAD_DESCRIPTION
    ),
    responses={
        **error_responses(
            401,
            403,
            404,
            409,
            413,
            415,
            422,
            status_403="`not_course_staff`",
            status_404="`lesson_not_found`: no such lesson the caller may see",
            status_409="`lesson_not_video`: the lesson is not of type `video`",
            status_413="`file_too_large`, `storage_quota_exceeded` (local provider)",
            status_415="`unsupported_file_type` (local provider)",
            status_422="`validation_error`, or `video_upload_invalid` (the local provider needs "
            "`content_type` and `size_bytes`)",
        ),
        **_PROVIDER_ERRORS,
    },
)
async def upload_lesson_video(
    access: LessonAccessDep, user: CurrentUser, session: SessionDep, body: UploadBody = None
) -> VideoUploadTicket:
    return VideoUploadTicket.of(await video.start_lesson_upload(session, user, access, _request(body)))


@router.get(
    "/lessons/{lesson_id}/playback",
    summary="Play a lesson's video",
    description=(
        "Course staff and enrolled students; anyone who can see the course (anonymous callers "
        "too) on a preview lesson. A short-lived URL (`VIDEO_PLAYBACK_TTL_SECONDS`): Mux's HLS "
        "URL, with a signed `token` when the video's playback policy is `signed`; a signed "
        "storage URL of the file (Range requests work) for local videos. Ask again once it expires."
    ),
    responses=error_responses(
        401,
        403,
        404,
        409,
        422,
        status_401="Anonymous, on a lesson that is not a preview (`not_authenticated`), or a bad token",
        status_403="`not_enrolled`: enroll to watch this lesson",
        status_404="`lesson_not_found`, or `lesson_video_not_found`: no upload was started yet",
        status_409="`lesson_not_video`, or `video_not_ready`: waiting for its upload, processing, or errored",
    ),
)
async def lesson_playback(lesson_id: uuid.UUID, user: OptionalUser, session: SessionDep) -> PlaybackRead:
    return PlaybackRead.of(await video.playback(session, user, lesson_id))


@root_router.post(
    "/admin/uploads",
    status_code=status.HTTP_201_CREATED,
    summary="A direct video upload for the admin panel",
    description=(
        "Admins (bearer token). The same direct upload as a lesson's, tied to no lesson: "
        "nothing tracks its processing here. " + _UPLOAD_DESCRIPTION
    ),
    responses={
        **error_responses(
            401,
            403,
            413,
            415,
            422,
            status_403="`insufficient_role`: admins only",
            status_413="`file_too_large`, `storage_quota_exceeded` (local provider)",
            status_415="`unsupported_file_type` (local provider)",
        ),
        **_PROVIDER_ERRORS,
    },
)
async def admin_upload(user: AdminUser, session: SessionDep, body: UploadBody = None) -> VideoUploadTicket:
    return VideoUploadTicket.of(await video.start_admin_upload(session, user, _request(body)))


@root_router.post(
    "/webhooks/mux",
    summary="Mux webhook receiver",
    description=(
        "Called by Mux, not by clients; no bearer token. The `Mux-Signature` header "
        "(`t=<unix time>,v1=<hex HMAC-SHA256 of t.body>`, under `MUX_WEBHOOK_SECRET`) must verify "
        "and `t` be within `MUX_WEBHOOK_TOLERANCE_SECONDS` (5 minutes) of now; else `400` and "
        "nothing changes. Handles `video.upload.asset_created`, `video.asset.ready`, "
        "`video.asset.errored`, `video.upload.cancelled` and `video.upload.errored`; any other "
        "type, and events about uploads no lesson waits for, are acknowledged and ignored. A "
        "repeated delivery (same event id) is `duplicate` and changes nothing."
    ),
    responses={
        400: {
            "description": "`webhook_signature_invalid` (missing, wrong or stale signature), or "
            "`webhook_payload_invalid` (signed, but not a Mux event)"
        }
    },
)
async def mux_webhook(
    request: Request,
    session: SessionDep,
    mux_signature: Annotated[str | None, Header(description="`t=<unix time>,v1=<hex>`")] = None,
) -> WebhookAck:
    body = await request.body()
    outcome = await webhooks.receive_mux_webhook(session, mux_signature, body)
    return WebhookAck(outcome=outcome.value)
