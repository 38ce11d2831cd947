"""Enrollment and progress endpoints."""

from __future__ import annotations

from fastapi import Response

from studyhall.catalog.deps import CourseAccessDep, LessonAccessDep
from studyhall.core.deps import SessionDep
from studyhall.core.openapi import error_responses
from studyhall.core.pagination import Page, PageParamsDep
from studyhall.core.routing import DomainRouter
from studyhall.identity.deps import CurrentUser
from studyhall.learning import service
from studyhall.learning.schemas import (
    CompletionRead,
    ContinueItem,
    CourseProgressRead,
    EnrollmentRead,
    MyEnrollmentRead,
    PositionRead,
    PositionUpdate,
    RosterEntry,
)

router = DomainRouter(tags=["learning"])

_LESSON_ERRORS = error_responses(
    401,
    422,
    403,
    404,
    409,
    status_403="`not_enrolled`: the caller is not actively enrolled in the lesson's course",
    status_404="`lesson_not_found`: no such lesson the caller may see",
    status_409="`course_not_published`; `completed_by_activity` for quiz and assignment lessons",
)


@router.post(
    "/lessons/{lesson_id}/complete",
    summary="Mark a lesson complete",
    description=(
        "For `text`, `video` and `file` lessons; idempotent. Returns the course progress; completing "
        "the last current lesson sets the enrollment's `completed_at` and emits `course.completed` "
        "(once per enrollment). Quiz and assignment lessons complete only through their activity (a "
        "passing attempt, a submission): `409 completed_by_activity`."
    ),
    responses=_LESSON_ERRORS,
)
async def complete_lesson(access: LessonAccessDep, user: CurrentUser, session: SessionDep) -> CompletionRead:
    result = await service.complete_lesson(session, user, access)
    return CompletionRead.of(result, access.lesson.id, is_completed=True)


@router.delete(
    "/lessons/{lesson_id}/complete",
    summary="Un-mark a lesson",
    description=(
        "Idempotent. Returns the course progress; clears `completed_at` when the course is no "
        "longer complete (a later completion never emits `course.completed` again). Quiz and "
        "assignment lessons stay as their activity left them: `409 completed_by_activity`."
    ),
    responses=_LESSON_ERRORS,
)
async def uncomplete_lesson(
    access: LessonAccessDep, user: CurrentUser, session: SessionDep
) -> CompletionRead:
    result = await service.uncomplete_lesson(session, user, access)
    return CompletionRead.of(result, access.lesson.id, is_completed=False)


@router.put(
    "/lessons/{lesson_id}/position",
    summary="Save a video position (heartbeat)",
    description=(
        "One small write. `position_seconds` must lie within `[0, duration_seconds]` and "
        "`duration_seconds` be positive (`422` otherwise). Reaching 90 % of the duration "
        "completes the lesson like `POST /lessons/{id}/complete`. Only for lessons of type "
        "`video` (`409 lesson_not_video`)."
    ),
    responses=error_responses(
        401,
        422,
        403,
        404,
        409,
        status_403="`not_enrolled`",
        status_404="`lesson_not_found`",
        status_409="`lesson_not_video`, or `course_not_published`",
    ),
)
async def save_position(
    access: LessonAccessDep, body: PositionUpdate, user: CurrentUser, session: SessionDep
) -> PositionRead:
    beat = await service.save_video_position(
        session, user, access, body.position_seconds, body.duration_seconds
    )
    return PositionRead.of(beat)


@router.post(
    "/courses/{course_id}/enroll",
    status_code=201,
    summary="Enroll in a course",
    description=(
        "Enrolls the caller in a published course they can see. Enrolling again after "
        "unenrolling re-activates the enrollment with its earlier completions. Emits "
        "`enrollment.created`."
    ),
    responses=error_responses(
        401,
        422,
        402,
        404,
        409,
        status_404="`course_not_found`: no such course visible to the caller",
        status_409="`already_enrolled`, or `course_not_published`",
    ),
)
async def enroll(access: CourseAccessDep, user: CurrentUser, session: SessionDep) -> EnrollmentRead:
    return EnrollmentRead.of(await service.enroll(session, user, access))


@router.delete(
    "/courses/{course_id}/enroll",
    status_code=204,
    summary="Unenroll from a course",
    description="Leaves the course; completions are kept and come back on re-enrolling.",
    responses=error_responses(
        401,
        422,
        404,
        status_404="`course_not_found`, or `enrollment_not_found` when the caller is not enrolled",
    ),
)
async def unenroll(access: CourseAccessDep, user: CurrentUser, session: SessionDep) -> Response:
    await service.unenroll(session, user, access)
    return Response(status_code=204)


@router.get(
    "/enrollments/me",
    summary="My courses",
    description="The caller's active enrollments, newest first, each with its course and progress.",
    responses=error_responses(401, 422),
)
async def my_enrollments(
    user: CurrentUser, session: SessionDep, params: PageParamsDep
) -> Page[MyEnrollmentRead]:
    items, total = await service.my_enrollments(session, user, params)
    return Page[MyEnrollmentRead].of([MyEnrollmentRead.of(item) for item in items], total, params)


@router.get(
    "/courses/{course_id}/enrollments",
    summary="Course roster",
    description=(
        "Active students of the course, oldest enrollment first, with their progress and "
        "last activity. For the course's staff, its organisation's principal and admins."
    ),
    responses=error_responses(
        401,
        422,
        403,
        404,
        status_403="`not_course_staff`: not staff of this course",
        status_404="`course_not_found`",
    ),
)
async def roster(access: CourseAccessDep, session: SessionDep, params: PageParamsDep) -> Page[RosterEntry]:
    items, total = await service.course_roster(session, access, params)
    return Page[RosterEntry].of([RosterEntry.of(item) for item in items], total, params)


@router.get(
    "/courses/{course_id}/progress",
    summary="My progress in a course",
    description="Completed and total current lessons, and every lesson's state and video position.",
    responses=error_responses(
        401, 422, 403, 404, status_403="`not_enrolled`", status_404="`course_not_found`"
    ),
)
async def course_progress(
    access: CourseAccessDep, user: CurrentUser, session: SessionDep
) -> CourseProgressRead:
    return CourseProgressRead.of(await service.course_progress(session, user, access))


@router.get(
    "/me/continue",
    summary="Continue learning",
    description=(
        "For each active, unfinished course, the first lesson (by order) not completed yet, "
        "with the video position to resume from; most recently active first."
    ),
    responses=error_responses(401, 422),
)
async def continue_learning(
    user: CurrentUser, session: SessionDep, params: PageParamsDep
) -> Page[ContinueItem]:
    items, total = await service.continue_learning(session, user, params)
    return Page[ContinueItem].of([ContinueItem.of(item) for item in items], total, params)
