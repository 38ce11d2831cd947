"""catalog indexes: sorts within the published set; PostgreSQL full-text and tag/skill GIN

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 04:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Keep identical to catalog.service.search_vector() / json_array_contains(), or the
# planner will not use these indexes.
POSTGRESQL_INDEXES = {
    "ix_courses_search": (
        "CREATE INDEX ix_courses_search ON courses USING gin "
        "(to_tsvector('english'::regconfig, (title || ' ' || description || ' ' || CAST(tags AS TEXT))))"
    ),
    "ix_courses_tags": "CREATE INDEX ix_courses_tags ON courses USING gin ((CAST(tags AS JSONB)) jsonb_path_ops)",
    "ix_courses_skills": (
        "CREATE INDEX ix_courses_skills ON courses USING gin ((CAST(skills AS JSONB)) jsonb_path_ops)"
    ),
}


def upgrade() -> None:
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.create_index(
            "ix_courses_status_enrollment_count", ["status", "enrollment_count", "id"], unique=False
        )
        batch_op.create_index(
            "ix_courses_status_published_at", ["status", "published_at", "id"], unique=False
        )
        batch_op.create_index("ix_courses_status_title", ["status", "title", "id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRESQL_INDEXES.values():
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in POSTGRESQL_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.drop_index("ix_courses_status_title")
        batch_op.drop_index("ix_courses_status_published_at")
        batch_op.drop_index("ix_courses_status_enrollment_count")
