"""notifications: a number per user (seq) and each user's counter

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-26 08:00:00.000000

Existing notifications are numbered 1, 2, 3, ... per user in the order the list shows them
(`created_at`, then `id`), and each user's counter starts at their highest number.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notification_counters",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("last", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notification_counters_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_notification_counters")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
    # Window functions: PostgreSQL, and SQLite since 3.25.
    op.execute(
        """
        UPDATE notifications SET seq = (
            SELECT numbered.n FROM (
                SELECT id, ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY created_at, id) AS n
                FROM notifications
            ) AS numbered
            WHERE numbered.id = notifications.id
        )
        """
    )
    op.execute(
        "INSERT INTO notification_counters (user_id, last) "
        "SELECT user_id, MAX(seq) FROM notifications GROUP BY user_id"
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.BigInteger(), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_notifications_user_id_seq"), ["user_id", "seq"])


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_notifications_user_id_seq"), type_="unique")
        batch_op.drop_column("seq")
    op.drop_table("notification_counters")
