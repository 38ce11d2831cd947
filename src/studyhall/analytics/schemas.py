"""Analytics request and response models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# -- Audit log -------------------------------------------------------------------------------


class AuditLogRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    occurred_at: datetime
    actor_id: uuid.UUID | None
    actor_email: str | None
    action: str = Field(examples=["user.role_changed"])
    resource_type: str = Field(examples=["user"])
    resource_id: str | None
    organization_id: uuid.UUID | None
    changes: dict[str, list[Any]] = Field(
        description="`{field: [old, new]}` for each changed field; secret fields are never shown",
        examples=[{"role": ["student", "instructor"]}],
    )
    ip: str | None
    user_agent: str | None
    request_id: str | None


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
