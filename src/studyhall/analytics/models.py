"""Analytics tables. Each part of the domain keeps its models in a block of its own."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, Float, Index
from sqlalchemy.orm import Mapped, mapped_column

from studyhall.core.db import Base

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
