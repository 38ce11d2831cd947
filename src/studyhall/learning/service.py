"""Learning services: enrollment, completion and progress."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.catalog.models import Course, Lesson
from studyhall.learning.models import Enrollment, EnrollmentStatus, LessonCompletion


@dataclass(frozen=True, slots=True)
class CourseProgress:
    completed_lessons: int
    total_lessons: int

    @property
    def progress_percent(self) -> float:
        if self.total_lessons == 0:
            return 0.0
        return round(100.0 * self.completed_lessons / self.total_lessons, 2)


async def progress_for_courses(
    session: AsyncSession, user_id: uuid.UUID, course_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, CourseProgress]:
    """The caller's progress in each course they are actively enrolled in, in one query.

    Courses the user is not enrolled in are absent from the result. Progress counts only
    current (non-deleted) lessons, so adding or deleting a lesson changes it at once.
    """
    if not course_ids:
        return {}
    completed = (
        select(LessonCompletion.course_id, func.count().label("done"))
        .join(Lesson, Lesson.id == LessonCompletion.lesson_id)
        .where(
            LessonCompletion.user_id == user_id,
            LessonCompletion.course_id.in_(course_ids),
            Lesson.deleted_at.is_(None),
        )
        .group_by(LessonCompletion.course_id)
        .subquery()
    )
    rows = await session.execute(
        select(Enrollment.course_id, Course.lesson_count, func.coalesce(completed.c.done, 0))
        .join(Course, Course.id == Enrollment.course_id)
        .outerjoin(completed, completed.c.course_id == Enrollment.course_id)
        .where(
            Enrollment.user_id == user_id,
            Enrollment.course_id.in_(course_ids),
            Enrollment.status == EnrollmentStatus.ACTIVE,
        )
    )
    return {
        course_id: CourseProgress(completed_lessons=int(done), total_lessons=int(total))
        for course_id, total, done in rows.all()
    }
