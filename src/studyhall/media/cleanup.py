"""The file cleanup job: uploads never completed, and the objects of files deleted long ago.

- A file still `pending` `FILE_PENDING_TTL_HOURS` after it was created (its upload URL long
  expired) is removed: its object, if any bytes arrived, and its row.
- A file deleted more than `FILE_RETENTION_DAYS` ago loses its object; the row stays, marked
  `purged_at` (what was uploaded, by whom), and can no longer be restored.

Rows are claimed in batches with `FOR UPDATE SKIP LOCKED`, each batch in a transaction of its
own, so several processes may run the job at once. An object is deleted before its row
changes: a crash in between leaves a row whose object is already gone, which the next run
handles again (deleting a missing object is not an error).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from studyhall.config import Settings
from studyhall.core.clock import utcnow
from studyhall.core.storage import Storage
from studyhall.media.models import File, FileStatus

BATCH_SIZE = 200
#: What happens to a batch's rows once their objects are deleted.
Settle = Callable[[AsyncSession, list[File]], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class CleanupResult:
    #: Pending uploads removed (row and object).
    stale_uploads: int
    #: Deleted files whose object was removed.
    purged: int


async def clean_up_files(
    sessionmaker: async_sessionmaker[AsyncSession], storage: Storage, settings: Settings
) -> CleanupResult:
    now = utcnow()
    stale_before = now - timedelta(hours=settings.file_pending_ttl_hours)
    purge_before = now - timedelta(days=settings.file_retention_days)
    stale = await _in_batches(
        sessionmaker,
        storage,
        (File.status == FileStatus.PENDING) & (File.created_at < stale_before),
        lambda session, files: session.execute(delete(File).where(File.id.in_([f.id for f in files]))),
    )
    purged = await _in_batches(
        sessionmaker,
        storage,
        (File.deleted_at < purge_before) & File.purged_at.is_(None) & (File.status == FileStatus.READY),
        lambda session, files: _mark_purged(session, files, now),
    )
    return CleanupResult(stale_uploads=stale, purged=purged)


async def _mark_purged(session: AsyncSession, files: list[File], now: datetime) -> None:
    await session.execute(update(File).where(File.id.in_([f.id for f in files])).values(purged_at=now))


async def _in_batches(
    sessionmaker: async_sessionmaker[AsyncSession],
    storage: Storage,
    condition: ColumnElement[bool],
    settle: Settle,
) -> int:
    """Claim batches of files matching `condition`, delete their objects, then `settle` the
    rows; how many files in all."""
    total = 0
    while True:
        async with sessionmaker() as session, session.begin():
            files = list(
                (
                    await session.scalars(
                        select(File)
                        .where(condition)
                        .order_by(File.created_at)
                        .limit(BATCH_SIZE)
                        .with_for_update(skip_locked=True)
                    )
                ).all()
            )
            for file in files:
                await storage.delete(file.storage_key)
            if files:
                await settle(session, files)
        total += len(files)
        if len(files) < BATCH_SIZE:
            return total
