"""lesson videos (local or Mux) and the Mux webhook deliveries already applied

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-26 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lesson_videos",
        sa.Column("lesson_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("upload_id", sa.String(length=128), nullable=False),
        sa.Column("asset_id", sa.String(length=128), nullable=True),
        sa.Column("playback_id", sa.String(length=128), nullable=True),
        sa.Column("playback_policy", sa.String(length=16), nullable=True),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lesson_id"], ["lessons.id"], name=op.f("fk_lesson_videos_lesson_id_lessons"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("lesson_id", name=op.f("pk_lesson_videos")),
        sa.UniqueConstraint("asset_id", name=op.f("uq_lesson_videos_asset_id")),
        sa.UniqueConstraint("upload_id", name=op.f("uq_lesson_videos_upload_id")),
    )
    op.create_table(
        "mux_webhook_events",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mux_webhook_events")),
    )


def downgrade() -> None:
    op.drop_table("mux_webhook_events")
    op.drop_table("lesson_videos")
