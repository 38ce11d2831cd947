"""quiz show_answers setting

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing quizzes get the default: answers once the student passed or has no attempt left.
    with op.batch_alter_table("quizzes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "show_answers", sa.String(length=24), server_default="after_last_attempt", nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("quizzes", schema=None) as batch_op:
        batch_op.drop_column("show_answers")
