"""Courses, their instructors, modules, lessons and lesson versions."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from studyhall.catalog.rendering import render_markdown
from studyhall.core.clock import utcnow
from studyhall.core.db import Base, SoftDelete, Timestamps, UUIDPrimaryKey


class CourseLevel(StrEnum):
    BEGINNER = "beginner"
    INTERMEDIATE = "intermediate"
    ADVANCED = "advanced"


class CourseStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class Visibility(StrEnum):
    PUBLIC = "public"
    ORGANIZATION = "organization"


class LessonType(StrEnum):
    TEXT = "text"
    VIDEO = "video"
    FILE = "file"
    QUIZ = "quiz"
    ASSIGNMENT = "assignment"


class Course(UUIDPrimaryKey, Timestamps, SoftDelete, Base):
    __tablename__ = "courses"
    __table_args__ = (
        Index("ix_courses_status_visibility", "status", "visibility"),
        # The catalog's sorts within the published set (`newest`, `title`, `popular`), with the
        # id tie-breaker so PostgreSQL reads a page in index order (EXPLAIN: no sort step).
        Index("ix_courses_status_published_at", "status", "published_at", "id"),
        Index("ix_courses_status_title", "status", "title", "id"),
        Index("ix_courses_status_enrollment_count", "status", "enrollment_count", "id"),
    )

    slug: Mapped[str] = mapped_column(String(220), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    subtitle: Mapped[str | None] = mapped_column(String(300), default=None)
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str | None] = mapped_column(String(100), default=None, index=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    level: Mapped[str] = mapped_column(String(16), default=CourseLevel.BEGINNER, index=True)
    language: Mapped[str] = mapped_column(String(16), default="en")
    duration_minutes: Mapped[int] = mapped_column(default=0)
    price_cents: Mapped[int] = mapped_column(default=0, index=True)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    visibility: Mapped[str] = mapped_column(String(16), default=Visibility.PUBLIC)
    status: Mapped[str] = mapped_column(String(16), default=CourseStatus.DRAFT)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL"), default=None, index=True
    )
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    certificate_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    published_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    #: Current (non-deleted) lessons; recomputed in SQL by the catalog whenever lessons change.
    lesson_count: Mapped[int] = mapped_column(default=0)
    #: Active enrollments; maintained in SQL by the learning domain (the "popular" sort).
    enrollment_count: Mapped[int] = mapped_column(default=0, index=True)


# PostgreSQL only: GIN indexes for the catalog's text search and tags/skills filters. Their
# expressions must stay identical to catalog.queries.search_vector()/json_array_contains().
_courses = cast(Table, Course.__table__)
Index(
    "ix_courses_search",
    # As PostgreSQL prints it back, so that migrations and models compare equal.
    text(
        "to_tsvector('english'::regconfig, "
        "(((title::text || ' '::text) || description) || ' '::text) || tags::text)"
    ),
    postgresql_using="gin",
    _table=_courses,
).ddl_if(dialect="postgresql")
for _column in ("tags", "skills"):
    Index(
        f"ix_courses_{_column}",
        text(f"(CAST({_column} AS JSONB)) jsonb_path_ops"),
        postgresql_using="gin",
        _table=_courses,
    ).ddl_if(dialect="postgresql")


class CourseInstructor(Base):
    """Co-instructors of a course (the owner is on the course row)."""

    __tablename__ = "course_instructors"

    course_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class Module(UUIDPrimaryKey, Timestamps, SoftDelete, Base):
    __tablename__ = "modules"

    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    #: Dense 0-based order among the course's current modules (`order` in the API).
    position: Mapped[int] = mapped_column(default=0)


class Lesson(UUIDPrimaryKey, Timestamps, SoftDelete, Base):
    __tablename__ = "lessons"
    __table_args__ = (Index("ix_lessons_course_id_position", "course_id", "position"),)

    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    module_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("modules.id", ondelete="SET NULL"), default=None, index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(16))
    #: Markdown as written by the author.
    content: Mapped[str] = mapped_column(Text, default="")
    #: `content` rendered and sanitised (`catalog.rendering`), once per write instead of on
    #: every read: setting `content` on a lesson sets it (see `_render_content` below);
    #: SQL that writes `content` directly must write this too.
    content_html: Mapped[str] = mapped_column(Text, default="", server_default="")
    duration_minutes: Mapped[int] = mapped_column(default=0)
    is_preview: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Dense 0-based order among the course's current lessons (`order` in the API).
    position: Mapped[int] = mapped_column(default=0)
    version: Mapped[int] = mapped_column(default=1)
    #: Type-specific settings (video asset ids, file ids, ...), owned by the domain of that type.
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


@event.listens_for(Lesson.content, "set")
def _render_content(lesson: Lesson, content: str | None, _old: object, _initiator: object) -> None:
    lesson.content_html = render_markdown(content or "")


class LessonVersion(UUIDPrimaryKey, Base):
    """Every saved title/content of a lesson; version 1 is the lesson as created."""

    __tablename__ = "lesson_versions"
    __table_args__ = (UniqueConstraint("lesson_id", "version"),)

    lesson_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"))
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
