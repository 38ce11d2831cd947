"""event delivery: processed_events (exactly once in effect) and event_failures (retries, dead)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 01:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "processed_events",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("handler", sa.String(length=200), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", "handler", name=op.f("pk_processed_events")),
    )
    op.create_table(
        "event_failures",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("handler", sa.String(length=200), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dead_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("event_id", "handler", name=op.f("pk_event_failures")),
    )
    with op.batch_alter_table("event_failures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_failures_dead_at"), ["dead_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("event_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_failures_dead_at"))
    op.drop_table("event_failures")
    op.drop_table("processed_events")
