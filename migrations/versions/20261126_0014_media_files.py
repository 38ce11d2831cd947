"""media: uploaded files and what they are attached to

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26 13:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "files",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=127), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("storage_key", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deletion_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_files_owner_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_files")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_files_storage_key")),
    )
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_files_deleted_at"), ["deleted_at"], unique=False)
        batch_op.create_index("ix_files_owner_id_created_at", ["owner_id", "created_at"], unique=False)
        batch_op.create_index("ix_files_status_created_at", ["status", "created_at"], unique=False)

    op.create_table(
        "file_attachments",
        sa.Column("file_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_file_attachments_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["file_id"], ["files.id"], name=op.f("fk_file_attachments_file_id_files"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("file_id", "kind", "target_id", name=op.f("pk_file_attachments")),
    )
    with op.batch_alter_table("file_attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_file_attachments_course_id"), ["course_id"], unique=False)
        batch_op.create_index("ix_file_attachments_kind_target_id", ["kind", "target_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("file_attachments", schema=None) as batch_op:
        batch_op.drop_index("ix_file_attachments_kind_target_id")
        batch_op.drop_index(batch_op.f("ix_file_attachments_course_id"))
    op.drop_table("file_attachments")

    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_index("ix_files_status_created_at")
        batch_op.drop_index("ix_files_owner_id_created_at")
        batch_op.drop_index(batch_op.f("ix_files_deleted_at"))
    op.drop_table("files")
