"""lessons.content_html: lesson Markdown rendered once when written, not on every read

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from studyhall.catalog.rendering import render_markdown

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 500


def upgrade() -> None:
    with op.batch_alter_table("lessons", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_html", sa.Text(), server_default="", nullable=False))
    _render_existing_lessons()


def _render_existing_lessons() -> None:
    """Backfill: every lesson's current content, rendered as the application renders it."""
    lessons = sa.table("lessons", sa.column("id", sa.Uuid()), sa.column("content", sa.Text()))
    html = sa.table("lessons", sa.column("id", sa.Uuid()), sa.column("content_html", sa.Text()))
    connection = op.get_bind()
    last_id = None
    while True:
        page = sa.select(lessons.c.id, lessons.c.content).order_by(lessons.c.id).limit(_BATCH)
        if last_id is not None:
            page = page.where(lessons.c.id > last_id)
        rows = connection.execute(page).all()
        if not rows:
            return
        connection.execute(
            sa.update(html).where(html.c.id == sa.bindparam("lesson_id")),
            [{"lesson_id": row.id, "content_html": render_markdown(row.content or "")} for row in rows],
        )
        last_id = rows[-1].id


def downgrade() -> None:
    with op.batch_alter_table("lessons", schema=None) as batch_op:
        batch_op.drop_column("content_html")
