"""Media's outbox event handlers (`studyhall.subscribers` says which events each handles)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.core.events import Event
from studyhall.core.storage import storage_of
from studyhall.media import video
from studyhall.media.models import File, FilePurpose
from studyhall.media.probe import stored_video_duration


async def finish_local_video(event: Event, session: AsyncSession) -> None:
    """On `file.ready` of a `video` file (the local provider's upload, completed by
    `POST /files/{id}/complete`): the lesson video waiting for this upload goes `processing`,
    its duration is read from the file's header, and it becomes `ready`, in one transaction.
    A file no lesson video waits for (an admin upload, an older upload of the lesson) and a
    repeated delivery change nothing."""
    if event.payload.get("purpose") != FilePurpose.VIDEO:
        return
    file_id = str(event.payload["file_id"])
    if await video.mark_processing(session, upload_id=file_id, asset_id=file_id) is None:
        return
    file = await session.get(File, uuid.UUID(file_id))
    duration = await stored_video_duration(storage_of(session), file.storage_key) if file else None
    await video.mark_ready(
        session,
        upload_id=file_id,
        asset_id=file_id,
        playback_id=None,
        playback_policy=None,
        duration_seconds=duration,
    )
