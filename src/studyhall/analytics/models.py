"""Analytics tables. Each part of the domain keeps its models in a block of its own."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from studyhall.core.clock import utcnow
from studyhall.core.db import Base

# -- Audit log -------------------------------------------------------------------------------


class AuditLogEntry(Base):
    """One privileged or security-relevant action, written in the transaction of the action
    (`analytics.audit.record`). Append-only: nothing updates a row; only the retention job
    deletes rows past `AUDIT_RETENTION_DAYS`. No foreign keys, so an entry outlives
    whatever it names."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_occurred_at", "occurred_at", "id"),
        Index("ix_audit_log_resource_type_resource_id", "resource_type", "resource_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(default=None, index=True)
    #: The actor's address when the action happened (or the address a failed sign-in tried).
    actor_email: Mapped[str | None] = mapped_column(String(320), default=None)
    action: Mapped[str] = mapped_column(String(64), index=True)
    resource_type: Mapped[str] = mapped_column(String(40))
    resource_id: Mapped[str | None] = mapped_column(String(64), default=None)
    #: The organisation the resource belongs to: what a principal may read.
    organization_id: Mapped[uuid.UUID | None] = mapped_column(default=None, index=True)
    #: `{field: [old, new]}`; secret fields are redacted before they get here.
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(400), default=None)
    request_id: Mapped[str | None] = mapped_column(String(128), default=None)


# -- Activity events ------------------------------------------------------------------------
#
# The raw activity stream (`POST /events` and the server-side events from the outbox), kept
# `ANALYTICS_RETENTION_MONTHS`. On PostgreSQL `activity_events` is partitioned by month of
# `occurred_at` (partitions live in the `activity_partitions` schema, see analytics/store.py);
# a unique index on it would have to include `occurred_at`, so exact deduplication by
# `event_id` is the job of the unpartitioned `activity_event_keys`. No foreign keys: the
# stream is an append-only log written in bulk, and its ids are checked when it is accepted.


class ActivityEventKey(Base):
    """One row per event stored: `INSERT ... ON CONFLICT DO NOTHING RETURNING` tells new
    events from retries, across requests and processes, in the storing transaction. The key
    of a client event is `<user id>:<event id>` (one user's ids never collide with
    another's); a server event's is its `outbox:<id>`."""

    __tablename__ = "activity_event_keys"

    dedup_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    #: Retention removes keys with their events.
    occurred_at: Mapped[datetime] = mapped_column(index=True)


class ActivityEvent(Base):
    __tablename__ = "activity_events"
    #: The key serves a user's stream in time order (exports, audits); insights read rollups.
    __table_args__ = ({"postgresql_partition_by": "RANGE (occurred_at)"},)

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    course_id: Mapped[uuid.UUID | None]
    lesson_id: Mapped[uuid.UUID | None]
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: `metadata` is the declarative base's own attribute.
    event_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", JSON)
    #: When the API accepted it; `stored_at - received_at` is the pipeline's latency.
    received_at: Mapped[datetime]
    stored_at: Mapped[datetime]


# -- Rollups -------------------------------------------------------------------------------
#
# Derived from activity records by `analytics.rollups.apply_events`, in the transaction that
# stores the records. Days are UTC dates. The tables carry no foreign keys: they are derived
# data, written in bulk by ingestion, and `apply_events` resolves and checks every id against
# the catalog before it counts a record.


class CourseDay(Base):
    """One course's activity on one day: the enrollment and completion series."""

    __tablename__ = "analytics_course_days"

    course_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    enrollments: Mapped[int] = mapped_column(default=0)
    completions: Mapped[int] = mapped_column(default=0)
    lessons_completed: Mapped[int] = mapped_column(default=0)
    learning_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    events: Mapped[int] = mapped_column(default=0)


class LearnerDay(Base):
    """One learner's activity in one course on one day: learning time and streaks (by
    learner), active learners (by course)."""

    __tablename__ = "analytics_learner_days"
    __table_args__ = (
        # Active learners of a course (or of an organisation's courses) over a window of days.
        Index("ix_analytics_learner_days_course_id_day_user_id", "course_id", "day", "user_id"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    course_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    learning_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    lessons_completed: Mapped[int] = mapped_column(default=0)
    events: Mapped[int] = mapped_column(default=0)


class LessonLearner(Base):
    """How far one learner went in one lesson: the lesson funnel and video watch ratios."""

    __tablename__ = "analytics_lesson_learners"
    __table_args__ = (Index("ix_analytics_lesson_learners_course_id_lesson_id", "course_id", "lesson_id"),)

    lesson_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    course_id: Mapped[uuid.UUID]
    #: The first activity of the learner in the lesson (viewed, played, completed...).
    reached_at: Mapped[datetime]
    #: The first completion; None while not completed.
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    #: Video seconds watched, as the server measured them from heartbeats.
    watched_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    #: Completion records seen: the upsert that takes it from 0 is the first completion,
    #: which `CourseLearner.lessons_completed` counts.
    completions: Mapped[int] = mapped_column(default=0)


class CourseLearner(Base):
    """One learner in one course: how many of its lessons they completed at least once (the
    numerator of their progress), kept so that progress over a course or an organisation
    reads one row per learner instead of one per lesson completed."""

    __tablename__ = "analytics_course_learners"

    course_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    lessons_completed: Mapped[int] = mapped_column(default=0)


class QuizTotals(Base):
    """Graded attempts of one quiz: the pass rate and the average score."""

    __tablename__ = "analytics_quizzes"

    quiz_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    course_id: Mapped[uuid.UUID] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    passed: Mapped[int] = mapped_column(default=0)
    score_sum: Mapped[float] = mapped_column(Float, default=0.0)
