"""What the catalog caches: the shared part of catalog pages and of published courses' detail.

Only what every caller of an audience sees alike is cached: a catalog page as an anonymous
caller of that audience gets it (`is_enrolled: false`, `progress_percent: null`) and a course
detail as a non-enrolled caller gets it (every `is_completed` false). A signed-in caller's own
flags are read fresh on every request and laid over it, so one user's flags never reach
another. Entries are the response bodies themselves (bytes, the same in Redis and in process
memory) with a small header of what the overlay and the access rule need.

Every catalog write (course, module, lesson, instructor list, status) invalidates the
`"catalog"` namespace (`catalog_changed`). Enrollment counts are not invalidated: they may lag
by up to `CACHE_TTL_SECONDS`.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic_core import from_json, to_json
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.catalog.policies import Audience
from studyhall.catalog.queries import CatalogQuery
from studyhall.core.cache import invalidate_on_commit
from studyhall.core.pagination import PageParams

NAMESPACE = "catalog"


async def catalog_changed(session: AsyncSession) -> None:
    """Call from every write that changes what a catalog page or a course detail shows."""
    await invalidate_on_commit(session, NAMESPACE)


def page_key(audience: Audience, query: CatalogQuery, params: PageParams) -> str:
    """One key per audience, filters, sort and page (staff listings are never cached)."""
    described = to_json([query.filter_values(), query.free, query.sort, params.limit, params.offset])
    return f"page:{audience.key}:{hashlib.sha256(described).hexdigest()[:32]}"


def course_key(kind: str, value: Any) -> str:
    return f"course:{kind}:{value}"


def etag_of(body: bytes) -> str:
    """A weak ETag of a response body."""
    return f'W/"{hashlib.sha256(body).hexdigest()[:32]}"'


@dataclass(frozen=True, slots=True)
class PageEntry:
    """A catalog page's body and the ids of its courses (whose flags a signed-in caller needs;
    kept as hex until then: anonymous callers never need them)."""

    course_hex_ids: bytes
    body: bytes

    @classmethod
    def of(cls, course_ids: list[uuid.UUID], body: bytes) -> PageEntry:
        return cls(b",".join(course_id.hex.encode() for course_id in course_ids), body)

    @property
    def course_ids(self) -> list[uuid.UUID]:
        return [uuid.UUID(hex=item.decode()) for item in self.course_hex_ids.split(b",") if item]

    def encode(self) -> bytes:
        return self.course_hex_ids + b"\n" + self.body

    @classmethod
    def decode(cls, data: bytes) -> PageEntry:
        ids, _, body = data.partition(b"\n")
        return cls(ids, body)


@dataclass(frozen=True, slots=True)
class CourseFactsEntry:
    """What the access rule reads of a course (see `catalog.policies.CourseFacts`)."""

    id: uuid.UUID
    owner_id: uuid.UUID
    organization_id: uuid.UUID | None
    status: str
    visibility: str
    instructor_ids: list[uuid.UUID]
    #: The outline's lessons (as strings until an enrolled caller's overlay needs them).
    lesson_ids: list[str]
    lesson_count: int
    deleted_at: None = None


@dataclass(frozen=True, slots=True)
class CourseEntry:
    """A course detail's body (for a caller who is not enrolled), its ETag, and the course's
    facts: callers are checked against them before anything is served."""

    course: CourseFactsEntry
    body: bytes
    etag: str

    def encode(self) -> bytes:
        course = self.course
        header = {
            "id": course.id,
            "owner_id": course.owner_id,
            "organization_id": course.organization_id,
            "status": course.status,
            "visibility": course.visibility,
            "instructor_ids": course.instructor_ids,
            "lesson_ids": course.lesson_ids,
            "lesson_count": course.lesson_count,
            "etag": self.etag,
        }
        return to_json(header) + b"\n" + self.body

    @classmethod
    def decode(cls, data: bytes) -> CourseEntry:
        header_json, _, body = data.partition(b"\n")
        header = from_json(header_json)
        facts = CourseFactsEntry(
            id=uuid.UUID(header["id"]),
            owner_id=uuid.UUID(header["owner_id"]),
            organization_id=uuid.UUID(header["organization_id"]) if header["organization_id"] else None,
            status=header["status"],
            visibility=header["visibility"],
            instructor_ids=[uuid.UUID(item) for item in header["instructor_ids"]],
            lesson_ids=header["lesson_ids"],
            lesson_count=header["lesson_count"],
        )
        return cls(facts, body, header["etag"])
