"""Analytics tables."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from studyhall.core.clock import utcnow
from studyhall.core.db import Base

# -- Audit log -------------------------------------------------------------------------------


class AuditLogEntry(Base):
    """One privileged or security-relevant action, written in the transaction of the action
    (`analytics.audit.record`). Append-only: nothing updates a row; only the retention job
    deletes rows past `AUDIT_RETENTION_DAYS`. No foreign keys, so an entry outlives
    whatever it names."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_occurred_at", "occurred_at", "id"),
        Index("ix_audit_log_resource_type_resource_id", "resource_type", "resource_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(default=None, index=True)
    #: The actor's address when the action happened (or the address a failed sign-in tried).
    actor_email: Mapped[str | None] = mapped_column(String(320), default=None)
    action: Mapped[str] = mapped_column(String(64), index=True)
    resource_type: Mapped[str] = mapped_column(String(40))
    resource_id: Mapped[str | None] = mapped_column(String(64), default=None)
    #: The organisation the resource belongs to: what a principal may read.
    organization_id: Mapped[uuid.UUID | None] = mapped_column(default=None, index=True)
    #: `{field: [old, new]}`; secret fields are redacted before they get here.
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(400), default=None)
    request_id: Mapped[str | None] = mapped_column(String(128), default=None)
