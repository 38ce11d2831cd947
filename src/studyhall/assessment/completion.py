"""Activity lessons complete through their activity: a passed quiz attempt, a submitted assignment."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.catalog.access import load_lesson
from studyhall.catalog.errors import LessonNotFound, NotEnrolled
from studyhall.catalog.models import LessonType
from studyhall.learning.service import record_lesson_completion


async def complete_activity_lesson(
    session: AsyncSession, user_id: uuid.UUID, lesson_id: uuid.UUID, lesson_type: LessonType
) -> None:
    """Complete the student's `lesson_type` lesson through learning's one completion path
    (which also completes the course). A lesson deleted since, a lesson of another type, or a
    student who has left the course (staff may grade after they unenrolled) completes nothing."""
    try:
        context = await load_lesson(session, lesson_id)
    except LessonNotFound:
        return
    if context.lesson.type != lesson_type:
        return
    try:
        await record_lesson_completion(session, user_id, context)
    except NotEnrolled:  # raised before anything is written
        return
