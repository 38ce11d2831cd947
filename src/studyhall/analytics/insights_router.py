"""Insights endpoints: course and organisation analytics, my analytics, skills, transcript."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal

from fastapi import Query, Response

from studyhall.analytics import insights, reads, skills, transcript
from studyhall.analytics.schemas import (
    CourseAnalyticsRead,
    LearnerAnalyticsRead,
    OrganizationAnalyticsRead,
    SkillsRead,
    TranscriptRead,
)
from studyhall.core.deps import SessionDep, SettingsDep
from studyhall.core.openapi import error_responses
from studyhall.core.routing import DomainRouter
from studyhall.identity.deps import CurrentUser

router = DomainRouter(tags=["analytics"])

_RANGE = (
    "`from` and `to` are UTC dates (`YYYY-MM-DD`), both included; by default the 30 days "
    "ending today. A range spans at most 366 days, and `from` may not be after `to` (`422`)."
)
_CACHED = (
    " The answer is kept `ANALYTICS_CACHE_SECONDS` (default 60) per course or organisation "
    "and range: figures may be that much older than the rollups."
)
FromQuery = Annotated[date | None, Query(alias="from", description="First day (UTC) of the range")]
ToQuery = Annotated[date | None, Query(alias="to", description="Last day (UTC) of the range")]


@router.get(
    "/courses/{course_id}/analytics",
    response_model=CourseAnalyticsRead,
    summary="Course analytics",
    description=(
        "For the course's staff (owner, co-instructors, its organisation's principal, admins). "
        "Enrollments per day over the range; active learners (any learning activity in the "
        "course) in the 7 and 30 days ending on `to`; completion rate, average progress and "
        "average days to complete over active enrollments; per current lesson the learners "
        "who reached and completed it; per quiz the graded attempts, pass rate and average "
        "score; per video lesson the average share watched. " + _RANGE + _CACHED
    ),
    responses=error_responses(
        401,
        403,
        404,
        422,
        status_403="`not_course_staff`: the caller sees the course but does not run it",
        status_404="`course_not_found`: no such course the caller may see",
    ),
)
async def course_analytics(
    course_id: uuid.UUID,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    start: FromQuery = None,
    end: ToQuery = None,
) -> Response:
    days = insights.day_range(start, end)
    body = await reads.course_analytics(session, user, course_id, days, settings.analytics_cache_seconds)
    return Response(body, media_type="application/json")


@router.get(
    "/organizations/{organization_id}/analytics",
    response_model=OrganizationAnalyticsRead,
    summary="Organisation analytics",
    description=(
        "For the organisation's principal and admins: the course figures over all its live "
        "courses, then per course and per instructor (owners and co-instructors; an "
        "instructor's active learners are counted once across their courses). " + _RANGE + _CACHED
    ),
    responses=error_responses(
        401,
        403,
        404,
        422,
        status_403="`insufficient_role`: a member of the organisation who is not its principal",
        status_404="`organization_not_found`: no such organisation the caller belongs to",
    ),
)
async def organization_analytics(
    organization_id: uuid.UUID,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    start: FromQuery = None,
    end: ToQuery = None,
) -> Response:
    days = insights.day_range(start, end)
    ttl = settings.analytics_cache_seconds
    return Response(
        await reads.organization_analytics(session, user, organization_id, days, ttl),
        media_type="application/json",
    )


@router.get(
    "/me/analytics",
    summary="My learning analytics",
    description=(
        "The caller's learning time and completed lessons per day over the range, their "
        "current and longest streak of active days (UTC), lessons and courses completed, and "
        "assignments due in the next 14 days that they have not submitted. " + _RANGE
    ),
    responses=error_responses(401, 422),
)
async def my_analytics(
    user: CurrentUser, session: SessionDep, start: FromQuery = None, end: ToQuery = None
) -> LearnerAnalyticsRead:
    return LearnerAnalyticsRead.of(
        await insights.learner_analytics(session, user, insights.day_range(start, end))
    )


@router.get(
    "/me/skills",
    summary="My skills",
    description=(
        "The caller's career profile: the skills of the courses they completed (a course's "
        "`skills`, else its `tags`, else its `category`), each weighted by the grades they "
        "earned there, with the evidence: courses, grades and certificate codes."
    ),
    responses=error_responses(401),
)
async def my_skills(user: CurrentUser, session: SessionDep) -> SkillsRead:
    return SkillsRead.of(await skills.my_skills(session, user))


@router.get(
    "/me/transcript",
    summary="My transcript",
    description=(
        "The caller's completed courses, oldest completion first, with the grade (points-"
        "weighted over graded quizzes and assignments), the completion date and the "
        "certificate. `?format=pdf` answers the same as a PDF document."
    ),
    response_model=TranscriptRead,
    responses={
        200: {
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The transcript (JSON, or a PDF with `format=pdf`)",
        },
        **error_responses(401, 422),
    },
)
async def my_transcript(
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    output: Annotated[Literal["json", "pdf"], Query(alias="format")] = "json",
) -> TranscriptRead | Response:
    document = await transcript.transcript(session, user)
    if output == "json":
        return TranscriptRead.of(document)
    return Response(
        content=await transcript.render_pdf(document, settings.app_url),
        media_type=transcript.PDF_CONTENT_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{transcript.pdf_filename(user.id)}"',
            "Cache-Control": "private, no-cache",
        },
    )
