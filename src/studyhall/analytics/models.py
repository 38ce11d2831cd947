"""Analytics tables."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from studyhall.core.db import Base

# -- Activity events ------------------------------------------------------------------------
#
# The raw activity stream (`POST /events` and the server-side events from the outbox), kept
# `ANALYTICS_RETENTION_MONTHS`. On PostgreSQL `activity_events` is partitioned by month of
# `occurred_at` (partitions live in the `activity_partitions` schema, see analytics/store.py);
# a unique index on it would have to include `occurred_at`, so exact deduplication by
# `event_id` is the job of the unpartitioned `activity_event_keys`. No foreign keys: the
# stream is an append-only log written in bulk, and its ids are checked when it is accepted.


class ActivityEventKey(Base):
    """One row per event stored: `INSERT ... ON CONFLICT DO NOTHING RETURNING` tells new
    events from retries, across requests and processes, in the storing transaction. The key
    of a client event is `<user id>:<event id>` (one user's ids never collide with
    another's); a server event's is its `outbox:<id>`."""

    __tablename__ = "activity_event_keys"

    dedup_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    #: Retention removes keys with their events.
    occurred_at: Mapped[datetime] = mapped_column(index=True)


class ActivityEvent(Base):
    __tablename__ = "activity_events"
    #: The key serves a user's stream in time order (exports, audits); insights read rollups.
    __table_args__ = ({"postgresql_partition_by": "RANGE (occurred_at)"},)

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    course_id: Mapped[uuid.UUID | None]
    lesson_id: Mapped[uuid.UUID | None]
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: `metadata` is the declarative base's own attribute.
    event_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", JSON)
    #: When the API accepted it; `stored_at - received_at` is the pipeline's latency.
    received_at: Mapped[datetime]
    stored_at: Mapped[datetime]
