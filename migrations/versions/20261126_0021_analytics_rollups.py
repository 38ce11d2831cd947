"""analytics rollups: course days, learner days, lesson learners, course learners, quizzes

Revision ID: 0021
Revises: 0017
Create Date: 2026-11-26 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "analytics_course_days",
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("enrollments", sa.Integer(), nullable=False),
        sa.Column("completions", sa.Integer(), nullable=False),
        sa.Column("lessons_completed", sa.Integer(), nullable=False),
        sa.Column("learning_seconds", sa.Float(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("course_id", "day", name=op.f("pk_analytics_course_days")),
    )
    op.create_table(
        "analytics_learner_days",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("learning_seconds", sa.Float(), nullable=False),
        sa.Column("lessons_completed", sa.Integer(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "day", "course_id", name=op.f("pk_analytics_learner_days")),
    )
    op.create_index(
        "ix_analytics_learner_days_course_id_day_user_id",
        "analytics_learner_days",
        ["course_id", "day", "user_id"],
        unique=False,
    )
    op.create_table(
        "analytics_lesson_learners",
        sa.Column("lesson_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("reached_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("watched_seconds", sa.Float(), nullable=False),
        sa.Column("completions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("lesson_id", "user_id", name=op.f("pk_analytics_lesson_learners")),
    )
    op.create_index(
        "ix_analytics_lesson_learners_course_id_lesson_id",
        "analytics_lesson_learners",
        ["course_id", "lesson_id"],
        unique=False,
    )
    op.create_table(
        "analytics_course_learners",
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("lessons_completed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("course_id", "user_id", name=op.f("pk_analytics_course_learners")),
    )
    op.create_table(
        "analytics_quizzes",
        sa.Column("quiz_id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("passed", sa.Integer(), nullable=False),
        sa.Column("score_sum", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("quiz_id", name=op.f("pk_analytics_quizzes")),
    )
    op.create_index(op.f("ix_analytics_quizzes_course_id"), "analytics_quizzes", ["course_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_analytics_quizzes_course_id"), table_name="analytics_quizzes")
    op.drop_table("analytics_quizzes")
    op.drop_table("analytics_course_learners")
    op.drop_index("ix_analytics_lesson_learners_course_id_lesson_id", table_name="analytics_lesson_learners")
    op.drop_table("analytics_lesson_learners")
    op.drop_index("ix_analytics_learner_days_course_id_day_user_id", table_name="analytics_learner_days")
    op.drop_table("analytics_learner_days")
    op.drop_table("analytics_course_days")
