"""Route dependencies over the course access rule (`catalog.access`).

A route that acts inside a course declares `access: CourseAccessDep` (path parameter
`course_id`) or `access: LessonAccessDep` (`lesson_id`) and receives the resource with the
signed-in caller's role in its course, decided once; services take that access object.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from studyhall.catalog.access import CourseAccess, LessonAccess, course_access, lesson_access
from studyhall.core.deps import SessionDep
from studyhall.identity.deps import CurrentUser


async def _course_access(course_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> CourseAccess:
    return await course_access(session, user, course_id)


async def _lesson_access(lesson_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> LessonAccess:
    return await lesson_access(session, user, lesson_id)


CourseAccessDep = Annotated[CourseAccess, Depends(_course_access)]
LessonAccessDep = Annotated[LessonAccess, Depends(_lesson_access)]
