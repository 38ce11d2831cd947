"""Video providers behind one small interface: where an upload goes, and how a ready video
is played. `VIDEO_PROVIDER` picks the one new uploads use (`provider_for_uploads`); a video
is always played by the provider that holds it (`provider_named`), so switching providers
leaves existing videos playable.

- `local`: the upload is a file of the internal purpose `video` in the file storage (its
  `upload_id` is the file id); the client sends the bytes to the presigned URL and finishes
  with `POST /files/{id}/complete`. Playback is a presigned download URL (Range requests work).
- `mux`: a Mux direct upload; Mux reports progress through webhooks (`media.webhooks`).
  Playback is `https://stream.mux.com/{playback_id}.m3u8`, with a signed token when the
  asset's playback policy is `signed`.

Providers read settings and storage from the session (`session_settings`, `storage_of`), so
services need nothing but a session.
"""

from __future__ import annotations

import abc
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.config import Settings, VideoProviderName
from studyhall.core.clock import utcnow
from studyhall.core.db import session_settings
from studyhall.core.storage import storage_of
from studyhall.media import service as files
from studyhall.media.errors import VideoNotReady, VideoProviderError, VideoUploadInvalid
from studyhall.media.models import File, FilePurpose, FileStatus, LessonVideo, PlaybackPolicy
from studyhall.media.mux import MuxClient, SigningKey, playback_url


@dataclass(frozen=True, slots=True)
class VideoUploadRequest:
    """What the caller declares about the video. The local provider needs all of it to
    presign the upload; Mux needs none (it learns the file as it arrives)."""

    filename: str | None = None
    content_type: str | None = None
    size_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class DirectUpload:
    """Where and how the client sends the video: `method` to `url` with `headers`, before
    `expires_at` (None when the provider does not say)."""

    provider: VideoProviderName
    upload_id: str
    url: str
    method: str = "PUT"
    headers: dict[str, str] = field(default_factory=dict)
    expires_at: datetime | None = None
    playback_policy: PlaybackPolicy | None = None


@dataclass(frozen=True, slots=True)
class Playback:
    url: str
    expires_at: datetime


class VideoProvider(abc.ABC):
    name: VideoProviderName

    @abc.abstractmethod
    async def create_upload(
        self,
        session: AsyncSession,
        owner_id: uuid.UUID,
        request: VideoUploadRequest,
        *,
        passthrough: str | None,
    ) -> DirectUpload:
        """A direct upload; `passthrough` (a lesson id) comes back with the provider's reports."""

    @abc.abstractmethod
    async def playback(self, session: AsyncSession, video: LessonVideo, expires_at: datetime) -> Playback:
        """A URL that plays the ready `video` until `expires_at`."""


class LocalVideoProvider(VideoProvider):
    name = VideoProviderName.LOCAL

    async def create_upload(
        self,
        session: AsyncSession,
        owner_id: uuid.UUID,
        request: VideoUploadRequest,
        *,
        passthrough: str | None,
    ) -> DirectUpload:
        if request.size_bytes is None or request.content_type is None:
            raise VideoUploadInvalid("The local video provider needs `content_type` and `size_bytes`")
        new = await files.start_upload(
            session,
            owner_id=owner_id,
            purpose=FilePurpose.VIDEO,
            filename=request.filename or "video.mp4",
            content_type=request.content_type,
            size_bytes=request.size_bytes,
        )
        return DirectUpload(
            provider=self.name,
            upload_id=str(new.file.id),
            url=new.upload.url,
            method=new.upload.method,
            headers=dict(new.upload.headers),
            expires_at=new.upload.expires_at,
        )

    async def playback(self, session: AsyncSession, video: LessonVideo, expires_at: datetime) -> Playback:
        file = await session.scalar(
            select(File).where(
                File.id == uuid.UUID(video.upload_id),
                File.deleted_at.is_(None),
                File.status == FileStatus.READY,
            )
        )
        if file is None:  # the video's file was deleted since
            raise VideoNotReady("The video's file is no longer available; upload the video again")
        link = await storage_of(session).presign_download(
            file.storage_key,
            filename=file.filename,
            content_type=file.content_type,
            expires_in=expires_at - utcnow(),
        )
        return Playback(link.url, link.expires_at)


class MuxVideoProvider(VideoProvider):
    name = VideoProviderName.MUX

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def create_upload(
        self,
        session: AsyncSession,
        owner_id: uuid.UUID,
        request: VideoUploadRequest,
        *,
        passthrough: str | None,
    ) -> DirectUpload:
        settings = self.settings
        assert settings.mux_token_id and settings.mux_token_secret  # Settings refuses mux without them
        client = MuxClient(
            settings.mux_api_url, settings.mux_token_id, settings.mux_token_secret, settings.mux_http_timeout
        )
        policy = PlaybackPolicy.SIGNED if signing_key(settings) is not None else PlaybackPolicy.PUBLIC
        upload = await client.create_upload(
            cors_origin=settings.app_url, playback_policy=policy, passthrough=passthrough
        )
        expires_at = utcnow() + timedelta(seconds=upload.timeout) if upload.timeout else None
        return DirectUpload(
            provider=self.name,
            upload_id=upload.id,
            url=upload.url,
            expires_at=expires_at,
            playback_policy=policy,
        )

    async def playback(self, session: AsyncSession, video: LessonVideo, expires_at: datetime) -> Playback:
        assert video.playback_id is not None  # set with `ready`
        if video.playback_policy != PlaybackPolicy.SIGNED:
            return Playback(playback_url(video.playback_id), expires_at)
        key = signing_key(self.settings)
        if key is None:
            raise VideoProviderError("The video needs signed playback and no Mux signing key is configured")
        return Playback(
            playback_url(video.playback_id, key.playback_token(video.playback_id, expires_at)), expires_at
        )


def signing_key(settings: Settings) -> SigningKey | None:
    if not (settings.mux_signing_key_id and settings.mux_signing_key_private):
        return None
    return _signing_key(settings.mux_signing_key_id, settings.mux_signing_key_private)


@cache
def _signing_key(key_id: str, private_key: str) -> SigningKey:
    return SigningKey.from_settings(key_id, private_key)


def check_video_settings(settings: Settings) -> None:
    """Refuse to start with a signing key that cannot sign (raises `ValueError`)."""
    signing_key(settings)


def provider_named(session: AsyncSession, name: str) -> VideoProvider:
    if name == VideoProviderName.MUX:
        return MuxVideoProvider(session_settings(session))
    return LocalVideoProvider()


def provider_for_uploads(session: AsyncSession) -> VideoProvider:
    """The provider `VIDEO_PROVIDER` names."""
    return provider_named(session, session_settings(session).video_provider)
