"""oauth web handoff: the web app's challenge on sign-in attempts, one-time handoff codes;
withdrawn organisation invitations

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-27 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("organization_invitations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("oauth_states", schema=None) as batch_op:
        batch_op.add_column(sa.Column("app_challenge", sa.String(length=64), nullable=True))

    op.create_table(
        "oauth_handoffs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("app_challenge", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_oauth_handoffs_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_handoffs")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_oauth_handoffs_code_hash")),
    )
    with op.batch_alter_table("oauth_handoffs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oauth_handoffs_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_oauth_handoffs_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("oauth_handoffs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_handoffs_user_id"))
        batch_op.drop_index(batch_op.f("ix_oauth_handoffs_expires_at"))

    op.drop_table("oauth_handoffs")
    with op.batch_alter_table("oauth_states", schema=None) as batch_op:
        batch_op.drop_column("app_challenge")
    with op.batch_alter_table("organization_invitations", schema=None) as batch_op:
        batch_op.drop_column("revoked_at")
