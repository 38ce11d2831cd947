"""community: posts, their comments, personal collections of posts

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-26 05:07:31.308295
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "collections",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_collections_owner_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collections")),
    )
    with op.batch_alter_table("collections", schema=None) as batch_op:
        batch_op.create_index("ix_collections_owner_id_created_at", ["owner_id", "created_at"], unique=False)

    op.create_table(
        "posts",
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deletion_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_posts_author_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_posts_course_id_courses"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posts")),
    )
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.create_index("ix_posts_author_id_created_at", ["author_id", "created_at"], unique=False)
        batch_op.create_index("ix_posts_course_id_created_at", ["course_id", "created_at"], unique=False)
        batch_op.create_index("ix_posts_created_at", ["created_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_posts_deleted_at"), ["deleted_at"], unique=False)

    op.create_table(
        "collection_posts",
        sa.Column("collection_id", sa.Uuid(), nullable=False),
        sa.Column("post_id", sa.Uuid(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["collections.id"],
            name=op.f("fk_collection_posts_collection_id_collections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_collection_posts_post_id_posts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("collection_id", "post_id", name=op.f("pk_collection_posts")),
    )
    with op.batch_alter_table("collection_posts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_collection_posts_collection_id_added_at", ["collection_id", "added_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_collection_posts_post_id"), ["post_id"], unique=False)

    op.create_table(
        "post_comments",
        sa.Column("post_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deletion_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_post_comments_author_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["post_comments.id"],
            name=op.f("fk_post_comments_parent_id_post_comments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_post_comments_post_id_posts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_post_comments")),
    )
    with op.batch_alter_table("post_comments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_post_comments_deleted_at"), ["deleted_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_post_comments_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index(
            "ix_post_comments_post_id_created_at", ["post_id", "created_at", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("post_comments", schema=None) as batch_op:
        batch_op.drop_index("ix_post_comments_post_id_created_at")
        batch_op.drop_index(batch_op.f("ix_post_comments_parent_id"))
        batch_op.drop_index(batch_op.f("ix_post_comments_deleted_at"))

    op.drop_table("post_comments")
    with op.batch_alter_table("collection_posts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_collection_posts_post_id"))
        batch_op.drop_index("ix_collection_posts_collection_id_added_at")

    op.drop_table("collection_posts")
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_posts_deleted_at"))
        batch_op.drop_index("ix_posts_created_at")
        batch_op.drop_index("ix_posts_course_id_created_at")
        batch_op.drop_index("ix_posts_author_id_created_at")

    op.drop_table("posts")
    with op.batch_alter_table("collections", schema=None) as batch_op:
        batch_op.drop_index("ix_collections_owner_id_created_at")

    op.drop_table("collections")
