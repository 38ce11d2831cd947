"""Request and response models of uploaded files."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from studyhall.config import VideoProviderName
from studyhall.media.models import File, FilePurpose, FileStatus, VideoStatus

if TYPE_CHECKING:
    from studyhall.media.providers import DirectUpload, Playback
    from studyhall.media.service import FileView, NewUpload

#: The purposes a client may upload for (`video` files come from the video upload routes).
UploadPurpose = Literal[
    FilePurpose.AVATAR, FilePurpose.LESSON_MATERIAL, FilePurpose.SUBMISSION, FilePurpose.CERTIFICATE_ASSET
]


#: What a file name may not hold: folders (`/`, `\`), control characters, and the invisible
#: marks that reorder text (a name shown as `gpj.exe` that ends in `.jpg`).
_NOT_IN_FILENAME = r"/\\\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069"
#: A plain name with at least one character other than dots and spaces (so not `.` or `..`).
FILENAME_PATTERN = rf"^[^{_NOT_IN_FILENAME}]*[^{_NOT_IN_FILENAME}.\s][^{_NOT_IN_FILENAME}]*$"


def _nfc(name: str) -> str:
    return unicodedata.normalize("NFC", name)


#: Only ever shown, and sent as the download's name; never used as a path or storage key.
Filename = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=255, pattern=FILENAME_PATTERN),
    AfterValidator(_nfc),
]


#: A bare media type (no parameters); case-insensitive, stored and compared in lower case.
ContentType = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        max_length=127,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$",
    ),
]


class UploadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filename: Filename = Field(examples=["week-1-slides.pdf"])
    content_type: ContentType = Field(
        examples=["application/pdf"], description="A bare media type, without parameters"
    )
    size_bytes: int = Field(ge=1, le=2**53, description="The exact size of the bytes to upload")
    purpose: UploadPurpose


class UploadTicket(BaseModel):
    """How to send the bytes: `method` on `upload_url` with exactly `headers`, before
    `expires_at`; then `POST /files/{file_id}/complete`."""

    file_id: uuid.UUID
    upload_url: str
    method: str = Field(examples=["PUT"])
    headers: dict[str, str]
    expires_at: datetime

    @classmethod
    def of(cls, new: NewUpload) -> Self:
        return cls(
            file_id=new.file.id,
            upload_url=new.upload.url,
            method=new.upload.method,
            headers=dict(new.upload.headers),
            expires_at=new.upload.expires_at,
        )


class FileRead(BaseModel):
    id: uuid.UUID
    owner_id: uuid.UUID
    purpose: FilePurpose
    filename: str
    content_type: str
    size_bytes: int
    status: FileStatus
    created_at: datetime
    completed_at: datetime | None
    download_url: str | None = Field(description="Short-lived; null while the file is `pending`")
    download_expires_at: datetime | None

    @classmethod
    def of(cls, view: FileView) -> Self:
        file = view.file
        return cls(
            id=file.id,
            owner_id=file.owner_id,
            purpose=FilePurpose(file.purpose),
            filename=file.filename,
            content_type=file.content_type,
            size_bytes=file.size_bytes,
            status=FileStatus(file.status),
            created_at=file.created_at,
            completed_at=file.completed_at,
            download_url=view.download.url if view.download else None,
            download_expires_at=view.download.expires_at if view.download else None,
        )


class FileSummary(BaseModel):
    """A file in a list (no download URL: open the file for one)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    purpose: FilePurpose
    filename: str
    content_type: str
    size_bytes: int
    status: FileStatus
    created_at: datetime
    completed_at: datetime | None


class AttachedFile(BaseModel):
    """A file as another resource shows it (a file lesson's `file`)."""

    id: uuid.UUID
    filename: str
    content_type: str
    size_bytes: int
    download_url: str
    download_expires_at: datetime

    @classmethod
    def of(cls, view: FileView) -> Self:
        assert view.download is not None
        file: File = view.file
        return cls(
            id=file.id,
            filename=file.filename,
            content_type=file.content_type,
            size_bytes=file.size_bytes,
            download_url=view.download.url,
            download_expires_at=view.download.expires_at,
        )


# -- lesson videos -----------------------------------------------------------------------------


class LessonVideoRead(BaseModel):
    """A video lesson's `video`: where its video is in `waiting_upload → processing → ready`
    (or `errored`)."""

    model_config = ConfigDict(from_attributes=True)

    provider: VideoProviderName
    status: VideoStatus
    asset_id: str | None = Field(description="The provider's asset (Mux asset id; the file id locally)")
    playback_id: str | None = Field(description="Mux playback id once ready; null for local videos")
    duration_seconds: float | None = Field(description="Length of the ready video, when known")
    error: str | None = Field(description="Why processing failed (`errored`)")
    updated_at: datetime


class VideoUploadIn(BaseModel):
    """What the caller declares about the video. The local provider needs `content_type` and
    `size_bytes` (its limits are `FILE_MAX_BYTES_VIDEO` and `FILE_TYPES_VIDEO`); Mux needs
    nothing, so the body may be empty."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"filename": "intro.mp4", "content_type": "video/mp4", "size_bytes": 73_400_320}]
        },
    )

    filename: Filename | None = None
    content_type: ContentType | None = None
    size_bytes: int | None = Field(None, ge=1, le=2**53)


class VideoUploadTicket(BaseModel):
    """How to send the video: `method` to `upload_url` with exactly `headers`, before
    `expires_at`. With the local provider, finish with `POST /files/{upload_id}/complete`;
    Mux takes it from there by itself."""

    provider: VideoProviderName
    upload_id: str
    upload_url: str
    method: str = Field(examples=["PUT"])
    headers: dict[str, str]
    expires_at: datetime | None = Field(description="Null when the provider does not say")

    @classmethod
    def of(cls, upload: DirectUpload) -> Self:
        return cls(
            provider=upload.provider,
            upload_id=upload.upload_id,
            upload_url=upload.url,
            method=upload.method,
            headers=dict(upload.headers),
            expires_at=upload.expires_at,
        )


class PlaybackRead(BaseModel):
    playback_url: str = Field(
        description="An HLS URL (Mux, with `?token=` under signed playback) or a signed URL of the file"
    )
    expires_at: datetime

    @classmethod
    def of(cls, playback: Playback) -> Self:
        return cls(playback_url=playback.url, expires_at=playback.expires_at)


class WebhookAck(BaseModel):
    """What the webhook did with the delivery (Mux only needs a 2xx)."""

    outcome: Literal["applied", "ignored", "duplicate"] = Field(
        description="`applied`: the video changed; `ignored`: nothing to change (an unknown type, "
        "upload or asset, or a report the video has moved past); `duplicate`: delivered before"
    )
