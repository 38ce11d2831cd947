"""activity events: activity_events (monthly partitions on PostgreSQL), activity_event_keys

Revision ID: 0020
Revises: 0017
Create Date: 2026-11-26 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Where the monthly partitions of `activity_events` live on PostgreSQL (analytics/store.py
#: creates them ahead of time and drops them after the retention period).
PARTITION_SCHEMA = "activity_partitions"


def upgrade() -> None:
    op.create_table(
        "activity_event_keys",
        sa.Column("dedup_key", sa.String(length=200), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("dedup_key", name=op.f("pk_activity_event_keys")),
    )
    op.create_index(
        op.f("ix_activity_event_keys_occurred_at"), "activity_event_keys", ["occurred_at"], unique=False
    )
    op.create_table(
        "activity_events",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=True),
        sa.Column("lesson_id", sa.Uuid(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "occurred_at", "event_id", name=op.f("pk_activity_events")),
        postgresql_partition_by="RANGE (occurred_at)",
    )
    if op.get_bind().dialect.name == "postgresql":
        # The partitions themselves are made at start-up and by a periodic job, for the
        # months around "now" (analytics/store.py `ensure_partitions`).
        op.execute(f"CREATE SCHEMA IF NOT EXISTS {PARTITION_SCHEMA}")


def downgrade() -> None:
    op.drop_table("activity_events")  # its partitions go with it
    op.drop_index(op.f("ix_activity_event_keys_occurred_at"), table_name="activity_event_keys")
    op.drop_table("activity_event_keys")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP SCHEMA IF EXISTS {PARTITION_SCHEMA} CASCADE")
