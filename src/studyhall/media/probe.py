"""Reading a stored video's duration from its header (MP4/MOV `moov` box, with mutagen),
without loading the file: mutagen seeks from box to box."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from mutagen import MutagenError
from mutagen.mp4 import MP4

from studyhall.core.storage import LocalStorage, Storage


async def stored_video_duration(storage: Storage, key: str) -> float | None:
    """Seconds, or None when unknown: not an MP4/MOV file, no duration in its header, or a
    storage whose objects cannot be opened as files (S3: reading the header would take
    ranged requests the storage interface does not offer)."""
    if not isinstance(storage, LocalStorage):
        return None
    return await asyncio.to_thread(_mp4_duration, storage.path_of(key))


def _mp4_duration(path: Path) -> float | None:
    try:
        info: Any = MP4(path).info  # type: ignore[no-untyped-call]
        length = info.length
    except (MutagenError, OSError):
        return None
    return float(length) if length and length > 0 else None
