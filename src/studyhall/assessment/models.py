"""Quizzes and their attempts, assignments and their submissions."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from studyhall.core.clock import utcnow
from studyhall.core.db import Base, SoftDelete, Timestamps, UUIDPrimaryKey


class QuestionType(StrEnum):
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    TEXT = "text"


class AttemptStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    GRADED = "graded"
    PENDING_REVIEW = "pending_review"
    #: Not submitted before its deadline (plus grace); still counts as an attempt.
    EXPIRED = "expired"


class ShowAnswers(StrEnum):
    """When students see the answer key of their submitted attempts."""

    AFTER_EACH_ATTEMPT = "after_each_attempt"
    #: Once they passed, or have no attempt left (never with unlimited attempts, unless they pass).
    AFTER_LAST_ATTEMPT = "after_last_attempt"
    NEVER = "never"


#: A gradebook column, and what a student's grade is of.
GradedKind = Literal["quiz", "assignment"]
#: Where a student stands on one quiz or assignment (their own grades).
GradeStatus = Literal["not_started", "in_progress", "pending_review", "graded", "submitted"]


class SubmissionStatus(StrEnum):
    SUBMITTED = "submitted"
    GRADED = "graded"


class Quiz(UUIDPrimaryKey, Timestamps, Base):
    """The quiz of a `quiz` lesson. Questions (with the answer key) live in `questions`;
    replacing the quiz bumps `revision`, and attempts keep their own copy of what they asked."""

    __tablename__ = "quizzes"

    lesson_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), unique=True)
    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    passing_score: Mapped[int]
    max_attempts: Mapped[int | None] = mapped_column(default=None)
    time_limit_minutes: Mapped[int | None] = mapped_column(default=None)
    shuffle_questions: Mapped[bool] = mapped_column(Boolean, default=False)
    show_answers: Mapped[str] = mapped_column(
        String(24),
        default=ShowAnswers.AFTER_LAST_ATTEMPT,
        server_default=ShowAnswers.AFTER_LAST_ATTEMPT.value,
    )
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    revision: Mapped[int] = mapped_column(default=1)


class QuizAttempt(UUIDPrimaryKey, Base):
    __tablename__ = "quiz_attempts"
    __table_args__ = (
        # Attempt numbers are unique per student: concurrent starts cannot both take the last one.
        UniqueConstraint("quiz_id", "user_id", "number"),
        # At most one attempt in progress per student and quiz.
        Index(
            "uq_quiz_attempts_one_in_progress",
            "quiz_id",
            "user_id",
            unique=True,
            sqlite_where=text("status = 'in_progress'"),
            postgresql_where=text("status = 'in_progress'"),
        ),
        Index("ix_quiz_attempts_user_id_quiz_id", "user_id", "quiz_id"),
    )

    quiz_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    lesson_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"))
    number: Mapped[int]
    quiz_revision: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default=AttemptStatus.IN_PROGRESS)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    deadline_at: Mapped[datetime | None] = mapped_column(default=None)
    submitted_at: Mapped[datetime | None] = mapped_column(default=None)
    #: The questions as asked (answer key included; never sent to the student before submit),
    #: in the order shown to this student.
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    passing_score: Mapped[int]
    answers: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    results: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=None)
    points: Mapped[float | None] = mapped_column(Float, default=None)
    max_points: Mapped[float] = mapped_column(Float, default=0.0)
    score_percent: Mapped[float | None] = mapped_column(Float, default=None)
    passed: Mapped[bool | None] = mapped_column(Boolean, default=None)
    graded_at: Mapped[datetime | None] = mapped_column(default=None)


class Assignment(UUIDPrimaryKey, Timestamps, SoftDelete, Base):
    __tablename__ = "assignments"

    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    lesson_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("lessons.id", ondelete="SET NULL"), default=None, index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    instructions: Mapped[str] = mapped_column(Text, default="")
    due_at: Mapped[datetime | None] = mapped_column(default=None)
    max_points: Mapped[float] = mapped_column(Float)
    attachment_file_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    author_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )


class Submission(UUIDPrimaryKey, Timestamps, Base):
    """One per (assignment, student): resubmitting replaces it until it is graded."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("assignment_id", "user_id"),)

    assignment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    text: Mapped[str | None] = mapped_column(Text, default=None)
    file_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default=SubmissionStatus.SUBMITTED)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    is_late: Mapped[bool] = mapped_column(Boolean, default=False)
    revision: Mapped[int] = mapped_column(default=1)
    points: Mapped[float | None] = mapped_column(Float, default=None)
    feedback: Mapped[str | None] = mapped_column(Text, default=None)
    graded_at: Mapped[datetime | None] = mapped_column(default=None)
    grader_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
