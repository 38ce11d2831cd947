"""Rollup tables maintained incrementally from stored activity records."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.analytics.records import ActivityRecord


async def apply_events(session: AsyncSession, records: Sequence[ActivityRecord]) -> None:
    """Fold newly stored (never duplicate) records into the rollups, in the caller's
    transaction. The rollup tables and their maintenance are built on this signature."""
    del session, records
