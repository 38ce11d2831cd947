"""The catalog page and course detail as response bodies: the shared part from the cache (or
built and stored on a miss), the caller's own flags read fresh and laid over it.

Anonymous callers and callers enrolled in none of the courses shown get the cached bytes as
they are; only the courses a caller is enrolled in are changed for them. See
`catalog.cache` for what is cached and when it is invalidated.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.catalog import presenters, service
from studyhall.catalog.cache import (
    NAMESPACE,
    CourseEntry,
    CourseFactsEntry,
    PageEntry,
    course_key,
    etag_of,
    page_key,
)
from studyhall.catalog.errors import CourseNotFound
from studyhall.catalog.models import CourseStatus
from studyhall.catalog.policies import audience_of
from studyhall.catalog.queries import CatalogQuery, course_lookup
from studyhall.catalog.schemas import CourseDetail, CourseRead
from studyhall.core.cache import session_cache
from studyhall.core.pagination import Page, PageParams
from studyhall.identity.models import User
from studyhall.learning.service import CourseProgress


@dataclass(frozen=True, slots=True)
class JSONBody:
    body: bytes
    etag: str | None = None


async def catalog_page(
    session: AsyncSession, user: User | None, query: CatalogQuery, params: PageParams
) -> JSONBody:
    """`GET /courses`: `Page[CourseRead]` as JSON."""
    if query.for_staff:  # what the caller runs: nothing to share
        return JSONBody((await _staff_page(session, user, query, params)).model_dump_json().encode())
    shared = await _shared_page(session, user, query, params)
    progress = await service.caller_progress(session, user, shared.course_ids)
    if not progress:  # anonymous, or enrolled in none of these courses: the shared page is theirs too
        return JSONBody(shared.body)
    return JSONBody(_with_flags(shared, progress).model_dump_json().encode())


@dataclass(frozen=True, slots=True)
class CatalogCards:
    """A catalog page as models, and the caller's progress in its courses (the flags are not
    set on the cards: a shared page's cards are shared by every caller, never change them)."""

    page: Page[CourseRead]
    progress: dict[uuid.UUID, CourseProgress]
    #: The body of the shared page the cards come from (`shared_cards` reads it); None for a
    #: page built for its caller alone.
    shared_body: bytes | None = None


async def catalog_cards(
    session: AsyncSession, user: User | None, query: CatalogQuery, params: PageParams
) -> CatalogCards:
    """The page of `catalog_page` as models, for callers that build their own answer (GraphQL)."""
    if query.for_staff:
        rows, total, progress = await _staff_rows(session, user, query, params)
        return CatalogCards(presenters.course_page(rows, total, params, {}), progress)
    body = (await _shared_page(session, user, query, params)).body
    page = shared_cards(body)
    progress = await service.caller_progress(session, user, [card.id for card in page.items])
    return CatalogCards(page, progress, body)


@functools.lru_cache(maxsize=128)
def shared_cards(body: bytes) -> Page[CourseRead]:
    """A shared page's body read into models once: the cache hands back the same bytes (or,
    from Redis, equal bytes) on every request until the page changes."""
    return Page[CourseRead].model_validate_json(body)


async def _staff_page(
    session: AsyncSession, user: User | None, query: CatalogQuery, params: PageParams
) -> Page[CourseRead]:
    rows, total, progress = await _staff_rows(session, user, query, params)
    return presenters.course_page(rows, total, params, progress)


async def _staff_rows(
    session: AsyncSession, user: User | None, query: CatalogQuery, params: PageParams
) -> tuple[list[Row[Any]], int, dict[uuid.UUID, CourseProgress]]:
    """A page built for its caller alone (staff see drafts): its rows, total and the caller's
    progress in them."""
    rows, total = await service.list_catalog(session, user, query, params)
    return rows, total, await service.caller_progress(session, user, [row.id for row in rows])


def _with_flags(shared: PageEntry, progress: dict[uuid.UUID, CourseProgress]) -> Page[CourseRead]:
    page = Page[CourseRead].model_validate_json(shared.body)
    for item in page.items:
        _set_flags(item, progress.get(item.id))
    return page


async def _shared_page(
    session: AsyncSession, user: User | None, query: CatalogQuery, params: PageParams
) -> PageEntry:
    cache = session_cache(session)
    key = page_key(audience_of(user), query, params)
    found = await cache.lookup(NAMESPACE, key)
    if found.value is not None:
        return PageEntry.decode(found.value)
    rows, total = await service.list_catalog(session, user, query, params)
    body = presenters.course_page(rows, total, params, {}).model_dump_json().encode()
    entry = PageEntry.of([row.id for row in rows], body)
    await cache.store(NAMESPACE, key, entry.encode(), found.generation)
    return entry


async def course_detail(session: AsyncSession, user: User | None, id_or_slug: str) -> JSONBody:
    """`GET /courses/{id_or_slug}`: `CourseDetail` as JSON, with its ETag."""
    shared = await _shared_course(session, id_or_slug)
    if shared is None:
        raise CourseNotFound()
    course = shared.course
    service.require_visible(user, course, course.instructor_ids)
    completed = await service.completions_in_course(session, user, course.id)
    if completed is None:  # not enrolled: nothing of the caller's own
        return JSONBody(shared.body, shared.etag)
    detail = CourseDetail.model_validate_json(shared.body)
    current = {uuid.UUID(lesson_id) for lesson_id in course.lesson_ids}
    _set_flags(detail, CourseProgress(len(completed & current), course.lesson_count))
    for lesson in detail.lessons:
        lesson.is_completed = lesson.id in completed
    body = detail.model_dump_json().encode()
    return JSONBody(body, etag_of(body))


async def _shared_course(session: AsyncSession, id_or_slug: str) -> CourseEntry | None:
    """The detail of a course as someone not enrolled sees it; published courses are cached."""
    cache = session_cache(session)
    key = course_key(*course_lookup(id_or_slug))
    found = await cache.lookup(NAMESPACE, key)
    if found.value is not None:
        return CourseEntry.decode(found.value)
    row = await service.find_course(session, id_or_slug)
    if row is None:
        return None
    modules, lessons = await service.course_outline(session, row.id)
    body = presenters.course_detail(row, modules, lessons).model_dump_json().encode()
    facts = CourseFactsEntry(
        id=row.id,
        owner_id=row.owner_id,
        organization_id=row.organization_id,
        status=row.status,
        visibility=row.visibility,
        instructor_ids=list(row.instructor_ids),
        lesson_ids=[str(lesson.id) for lesson in lessons],
        lesson_count=row.lesson_count,
    )
    entry = CourseEntry(facts, body, etag_of(body))
    if row.status == CourseStatus.PUBLISHED:  # drafts and archived courses are for their staff
        await cache.store(NAMESPACE, key, entry.encode(), found.generation)
    return entry


def _set_flags(card: CourseRead, progress: CourseProgress | None) -> None:
    card.is_enrolled = progress is not None
    card.progress_percent = progress.progress_percent if progress is not None else None
