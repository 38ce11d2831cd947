"""Analytics request and response bodies."""

from __future__ import annotations

from pydantic import BaseModel, Field

# -- Activity events ------------------------------------------------------------------------


class RejectedEvent(BaseModel):
    index: int = Field(description="Position of the event in the batch (from 0)")
    code: str = Field(
        description="`invalid_event`, `unknown_event_type`, `invalid_data` or `timestamp_out_of_window`"
    )
    error: str = Field(description="What is wrong, field by field")


class IngestResult(BaseModel):
    accepted: int = Field(
        description="Events taken in: stored now (embedded mode), or queued for storage (broker mode)"
    )
    duplicates: int = Field(
        description="Events skipped as repeats of an `event_id` earlier in the batch, or (embedded "
        "mode) already stored; in broker mode repeats of earlier batches are dropped by the worker"
    )
    rejected: list[RejectedEvent]
