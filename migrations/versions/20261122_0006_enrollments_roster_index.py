"""enrollments roster index

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 04:23:52.713759
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrollments_course_id_status"))
        batch_op.create_index(
            "ix_enrollments_course_id_status_enrolled_at",
            ["course_id", "status", "enrolled_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.drop_index("ix_enrollments_course_id_status_enrolled_at")
        batch_op.create_index(
            batch_op.f("ix_enrollments_course_id_status"), ["course_id", "status"], unique=False
        )
