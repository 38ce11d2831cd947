"""Course and organisation analytics as JSON, served from the response cache.

An answer reads thousands of rollup rows for an organisation, and rollups trail ingestion
anyway: it is kept `ANALYTICS_CACHE_SECONDS` (per course or organisation and resolved day
range) in the response cache (`core.cache`, Redis when configured), and concurrent misses
in one process compute it once. The caller's access is checked on every request, before
the cache is read: the cached answer is the same for everyone allowed to see it.
"""

from __future__ import annotations

import uuid

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.analytics import insights
from studyhall.analytics.schemas import CourseAnalyticsRead, OrganizationAnalyticsRead
from studyhall.core.cache import Build, session_cache
from studyhall.identity.models import User

NAMESPACE = "analytics"


async def course_analytics(
    session: AsyncSession, user: User, course_id: uuid.UUID, days: insights.DayRange, ttl: float
) -> bytes:
    course = await insights.analysable_course(session, user, course_id)

    async def build() -> bytes:
        return _json(CourseAnalyticsRead.of(await insights.course_figures(session, course, days)))

    return await _cached(session, f"course:{course.id}:{days.start}:{days.end}", build, ttl)


async def organization_analytics(
    session: AsyncSession, user: User, organization_id: uuid.UUID, days: insights.DayRange, ttl: float
) -> bytes:
    organization = await insights.analysable_organization(session, user, organization_id)

    async def build() -> bytes:
        figures = await insights.organization_figures(session, organization.id, days)
        return _json(OrganizationAnalyticsRead.of(figures))

    return await _cached(session, f"organization:{organization.id}:{days.start}:{days.end}", build, ttl)


async def _cached(session: AsyncSession, key: str, build: Build, ttl: float) -> bytes:
    if ttl <= 0:
        return await build()
    return await session_cache(session).get_or_build(NAMESPACE, key, build, ttl=ttl)


def _json(answer: BaseModel) -> bytes:
    return answer.model_dump_json().encode()
