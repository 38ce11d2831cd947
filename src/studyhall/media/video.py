"""Lesson videos: starting an upload, the status machine, playback.

A video lesson has at most one `lesson_videos` row. Each upload starts a new cycle: the row
is overwritten with the new `upload_id` at `waiting_upload`. The provider's reports then move
it forward with conditional UPDATEs (`mark_processing`, `mark_ready`, `mark_errored`) that
name the upload or asset they are about and the statuses they may leave:

    waiting_upload → processing → ready
                  ↘            ↘ errored

So a report about an older upload or asset matches no row, a late or repeated report finds
the status already past it and changes nothing, and two reports arriving at once run one
after the other (the UPDATE locks the row; PostgreSQL re-checks the WHERE clause on the row
the first one left). Becoming `ready` emits `lesson.video_ready`, once per cycle.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall import event_types
from studyhall.catalog.access import LessonAccess, lesson_access, require_lesson_reader
from studyhall.catalog.models import Lesson, LessonType
from studyhall.core.clock import utcnow
from studyhall.core.db import dialect_insert, session_settings
from studyhall.core.events import emit
from studyhall.identity.models import User
from studyhall.learning.errors import LessonNotVideo
from studyhall.media.errors import LessonVideoNotFound, VideoNotReady
from studyhall.media.models import LessonVideo, VideoStatus
from studyhall.media.providers import (
    DirectUpload,
    Playback,
    VideoUploadRequest,
    provider_for_uploads,
    provider_named,
)
from studyhall.media.queries import lesson_video

_videos = cast(Table, LessonVideo.__table__)
#: Statuses a processing report may move on from.
_UNFINISHED = (VideoStatus.WAITING_UPLOAD, VideoStatus.PROCESSING)
ERROR_MAX_LENGTH = 2000


def _require_video_lesson(access: LessonAccess) -> None:
    if access.lesson.type != LessonType.VIDEO:
        raise LessonNotVideo("Videos belong to lessons of type `video`")


# -- uploads -------------------------------------------------------------------------------


async def start_lesson_upload(
    session: AsyncSession, user: User, access: LessonAccess, request: VideoUploadRequest
) -> DirectUpload:
    """`POST /lessons/{id}/video/upload`, for course staff: a direct upload at the configured
    provider, and the lesson's video back at `waiting_upload` for it (a new cycle). When the
    provider fails, nothing is written."""
    access.course.require_staff("Only course staff upload a lesson's video")
    _require_video_lesson(access)
    upload = await provider_for_uploads(session).create_upload(
        session, user.id, request, passthrough=str(access.lesson.id)
    )
    await _start_cycle(session, access.lesson.id, upload)
    return upload


async def start_admin_upload(session: AsyncSession, user: User, request: VideoUploadRequest) -> DirectUpload:
    """`POST /admin/uploads`: the same direct upload, tied to no lesson (admins only; the
    route checks the role). No lesson video tracks it, so provider reports about it are
    ignored; with the local provider it is the admin's `video` file."""
    return await provider_for_uploads(session).create_upload(session, user.id, request, passthrough=None)


async def _start_cycle(session: AsyncSession, lesson_id: uuid.UUID, upload: DirectUpload) -> None:
    now = utcnow()
    cycle: dict[str, Any] = {
        "provider": upload.provider,
        "status": VideoStatus.WAITING_UPLOAD,
        "upload_id": upload.upload_id,
        "asset_id": None,
        "playback_id": None,
        "playback_policy": upload.playback_policy,
        "duration_seconds": None,
        "error": None,
        "updated_at": now,
    }
    statement = dialect_insert(session, _videos).values(lesson_id=lesson_id, created_at=now, **cycle)
    await session.execute(statement.on_conflict_do_update(index_elements=["lesson_id"], set_=cycle))


# -- the status machine --------------------------------------------------------------------


def _about(upload_id: str | None, asset_id: str | None) -> ColumnElement[bool]:
    """The row a report is about: its asset, or its upload while no asset is known yet (Mux
    may report an asset ready before it reports the asset created)."""
    conditions = []
    if asset_id is not None:
        conditions.append(_videos.c.asset_id == asset_id)
    if upload_id is not None:
        conditions.append(and_(_videos.c.upload_id == upload_id, _videos.c.asset_id.is_(None)))
    return or_(*conditions) if conditions else _videos.c.lesson_id.is_(None)


async def _advance(session: AsyncSession, where: ColumnElement[bool], **values: Any) -> Any:
    """One conditional UPDATE; the changed row's lesson id and provider, or None."""
    statement = (
        update(_videos)
        .where(where)
        .values(updated_at=utcnow(), **values)
        .returning(_videos.c.lesson_id, _videos.c.provider)
    )
    return (await session.execute(statement)).first()


async def mark_processing(session: AsyncSession, *, upload_id: str, asset_id: str) -> uuid.UUID | None:
    """The upload arrived and became `asset_id`: `waiting_upload → processing`."""
    changed = await _advance(
        session,
        and_(_videos.c.upload_id == upload_id, _videos.c.status == VideoStatus.WAITING_UPLOAD),
        status=VideoStatus.PROCESSING,
        asset_id=asset_id,
    )
    return changed.lesson_id if changed else None


async def mark_ready(
    session: AsyncSession,
    *,
    upload_id: str | None,
    asset_id: str,
    playback_id: str | None,
    playback_policy: str | None,
    duration_seconds: float | None,
) -> uuid.UUID | None:
    """The asset can be played: `→ ready`, and `lesson.video_ready` once."""
    changed = await _advance(
        session,
        and_(_about(upload_id, asset_id), _videos.c.status.in_(_UNFINISHED)),
        status=VideoStatus.READY,
        asset_id=asset_id,
        playback_id=playback_id,
        playback_policy=playback_policy,
        duration_seconds=duration_seconds,
    )
    if changed is None:
        return None
    course_id = await session.scalar(select(Lesson.course_id).where(Lesson.id == changed.lesson_id))
    emit(
        session,
        event_types.LESSON_VIDEO_READY,
        {
            "lesson_id": changed.lesson_id,
            "course_id": course_id,
            "provider": changed.provider,
            "asset_id": asset_id,
            "playback_id": playback_id,
            "duration_seconds": duration_seconds,
        },
    )
    return cast(uuid.UUID, changed.lesson_id)


async def mark_errored(
    session: AsyncSession, *, upload_id: str | None, asset_id: str | None, error: str
) -> uuid.UUID | None:
    """The provider gave up: `→ errored` with its reason. About an upload (no asset yet), it
    applies only while the video still waits for that upload."""
    where = (
        and_(_about(upload_id, asset_id), _videos.c.status.in_(_UNFINISHED))
        if asset_id is not None
        else and_(_videos.c.upload_id == upload_id, _videos.c.status == VideoStatus.WAITING_UPLOAD)
    )
    changed = await _advance(
        session, where, status=VideoStatus.ERRORED, asset_id=asset_id, error=error[:ERROR_MAX_LENGTH]
    )
    return changed.lesson_id if changed else None


# -- playback ------------------------------------------------------------------------------


async def playback(
    session: AsyncSession, user: User | None, lesson_id: uuid.UUID, *, now: datetime | None = None
) -> Playback:
    """`GET /lessons/{id}/playback`: whoever may open the lesson (staff, enrolled students;
    anyone who sees the course on a preview lesson) gets a short-lived URL of its ready video,
    from the provider that holds it."""
    access = await lesson_access(session, user, lesson_id)
    require_lesson_reader(user, access.course.role, is_preview=access.lesson.is_preview)
    _require_video_lesson(access)
    video = await lesson_video(session, lesson_id)
    if video is None:
        raise LessonVideoNotFound()
    if video.status != VideoStatus.READY:
        raise VideoNotReady(f"The video is {video.status}")
    ttl = timedelta(seconds=session_settings(session).video_playback_ttl_seconds)
    return await provider_named(session, video.provider).playback(session, video, (now or utcnow()) + ttl)
