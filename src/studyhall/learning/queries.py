"""Learning's part of other domains' lookups: the caller's enrollment and completion, as SQL
that joins into a statement, so a hot lookup stays one query.

The course access rule (`catalog.access.lesson_access`) asks here whether the caller is
enrolled: rather than a query of its own, it joins `caller_enrollment_columns` into the
lesson lookup and reads the answer back with `caller_enrollment`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnExpressionArgument, Row, Select, and_, exists, select

from studyhall.learning.models import Enrollment, EnrollmentStatus, LessonCompletion


@dataclass(frozen=True, slots=True)
class CallerEnrollment:
    """The caller's active enrollment in a course, as read with the course's access."""

    id: uuid.UUID
    last_activity_at: datetime | None


AnySelect = Select[*tuple[Any, ...]]


def join_caller_enrollment(
    statement: AnySelect,
    *,
    course_id: ColumnExpressionArgument[uuid.UUID],
    lesson_id: ColumnExpressionArgument[uuid.UUID],
    caller_id: ColumnExpressionArgument[uuid.UUID | None],
) -> AnySelect:
    """`statement` with three more columns: the caller's active enrollment in the course
    (`enrollment_id`, `enrollment_last_activity_at`, NULL when there is none, or no caller)
    and whether they completed the lesson (`lesson_completed`). The (user, course) unique
    index and the completions' primary key serve both."""
    completed = exists().where(LessonCompletion.user_id == caller_id, LessonCompletion.lesson_id == lesson_id)
    return statement.add_columns(
        Enrollment.id.label("enrollment_id"),
        Enrollment.last_activity_at.label("enrollment_last_activity_at"),
        completed.label("lesson_completed"),
    ).outerjoin(
        Enrollment,
        and_(
            Enrollment.course_id == course_id,
            Enrollment.user_id == caller_id,
            Enrollment.status == EnrollmentStatus.ACTIVE,
        ),
    )


def caller_enrollment(row: Row[*tuple[Any, ...]]) -> CallerEnrollment | None:
    """The enrollment a row of `join_caller_enrollment` carries, if any."""
    if row.enrollment_id is None:
        return None
    return CallerEnrollment(id=row.enrollment_id, last_activity_at=row.enrollment_last_activity_at)


def active_course_ids(user_id: uuid.UUID) -> Select[uuid.UUID]:
    """The courses the user is actively enrolled in, to filter other rows by (`IN`)."""
    return select(Enrollment.course_id).where(
        Enrollment.user_id == user_id, Enrollment.status == EnrollmentStatus.ACTIVE
    )


def active_student_ids(course_id: uuid.UUID) -> Select[uuid.UUID]:
    """The users actively enrolled in a course (its roster index serves it)."""
    return select(Enrollment.user_id).where(
        Enrollment.course_id == course_id, Enrollment.status == EnrollmentStatus.ACTIVE
    )
