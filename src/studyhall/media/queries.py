"""Lesson video lookups for the hot reads of other domains: the lesson page (catalog) and
the video heartbeat (learning). This module imports nothing but media's models, so that
`learning.service` (which `catalog.access` imports) can use it without an import cycle.
Each is one statement built once, with the lesson id bound at execution."""

from __future__ import annotations

import uuid
from typing import cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.media.models import LessonVideo, VideoStatus

_videos = cast(Table, LessonVideo.__table__)

_LESSON_VIDEO = select(LessonVideo).where(LessonVideo.lesson_id == bindparam("lesson_id"))
_READY_DURATION = select(_videos.c.duration_seconds).where(
    _videos.c.lesson_id == bindparam("lesson_id"), _videos.c.status == VideoStatus.READY
)


async def lesson_video(session: AsyncSession, lesson_id: uuid.UUID) -> LessonVideo | None:
    """The lesson's video in its current cycle; None before the first upload."""
    video: LessonVideo | None = await session.scalar(_LESSON_VIDEO, {"lesson_id": lesson_id})
    return video


async def known_duration(session: AsyncSession, lesson_id: uuid.UUID) -> float | None:
    """The length in seconds of the lesson's ready video, when the provider reported it."""
    duration: float | None = await session.scalar(_READY_DURATION, {"lesson_id": lesson_id})
    return duration
