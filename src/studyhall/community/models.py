"""Posts, their comments, and personal collections of posts."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from studyhall.core.clock import utcnow
from studyhall.core.db import Base, SoftDelete, Timestamps, UUIDPrimaryKey


class PostKind(StrEnum):
    DISCUSSION = "discussion"
    #: By a course's staff, to its students (who are notified).
    ANNOUNCEMENT = "announcement"


class Post(UUIDPrimaryKey, Timestamps, SoftDelete, Base):
    """A post in a course (its members and staff see it) or, without `course_id`, open to
    every signed-in user. `body_html` is `body` rendered and sanitised when it was written."""

    __tablename__ = "posts"
    __table_args__ = (
        # The listing is newest first, overall, per course and per author.
        Index("ix_posts_created_at", "created_at", "id"),
        Index("ix_posts_course_id_created_at", "course_id", "created_at"),
        Index("ix_posts_author_id_created_at", "author_id", "created_at"),
    )

    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), default=None
    )
    kind: Mapped[str] = mapped_column(String(16), default=PostKind.DISCUSSION)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)


class Comment(UUIDPrimaryKey, Timestamps, SoftDelete, Base):
    """A comment on a post, or a reply to one (`parent_id`, one level deep)."""

    __tablename__ = "post_comments"
    __table_args__ = (Index("ix_post_comments_post_id_created_at", "post_id", "created_at", "id"),)

    post_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("post_comments.id", ondelete="CASCADE"), default=None, index=True
    )
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)


class Collection(UUIDPrimaryKey, Timestamps, Base):
    """A user's personal collection of posts; nobody else may see it. Deleting flags it."""

    __tablename__ = "collections"
    __table_args__ = (Index("ix_collections_owner_id_created_at", "owner_id", "created_at"),)

    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class CollectionPost(Base):
    """A post in a collection: the primary key makes adding idempotent, also under
    concurrent requests."""

    __tablename__ = "collection_posts"
    __table_args__ = (Index("ix_collection_posts_collection_id_added_at", "collection_id", "added_at"),)

    collection_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True
    )
    post_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChatMessage(UUIDPrimaryKey, Base):
    """A message in a course's chat, plain text. Deleting flags it (moderation)."""

    __tablename__ = "chat_messages"
    # The history is read newest first per course, `id` breaking ties (the cursor).
    __table_args__ = (Index("ix_chat_messages_course_id_created_at", "course_id", "created_at", "id"),)

    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
