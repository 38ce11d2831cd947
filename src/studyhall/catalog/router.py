"""HTTP routes of the catalog: courses, modules, lessons and lesson versions."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Header, Path, Query, Response, status

from studyhall.catalog import presenters, reads, service
from studyhall.catalog.cache import etag_of
from studyhall.catalog.models import CourseLevel, CourseStatus, Lesson
from studyhall.catalog.queries import CatalogQuery
from studyhall.catalog.rendering import render_markdown
from studyhall.catalog.schemas import (
    CatalogSort,
    CourseCreate,
    CourseDetail,
    CourseRead,
    CourseUpdate,
    InstructorAdd,
    LessonCreate,
    LessonOrder,
    LessonOutline,
    LessonRead,
    LessonUpdate,
    LessonVersionRead,
    LessonVersionSummary,
    MarkdownPreview,
    MarkdownPreviewIn,
    ModuleCreate,
    ModuleRead,
    ModuleUpdate,
)
from studyhall.core.deps import SessionDep
from studyhall.core.openapi import Responses, error_responses
from studyhall.core.pagination import LARGEST_LIMIT, Page, PageParams, PageParamsDep, page_params
from studyhall.core.routing import DomainRouter
from studyhall.identity.deps import CurrentUser, OptionalUser, StaffUser

router = DomainRouter(
    tags=["catalog"],
    responses=error_responses(
        422, status_422="`validation_error` (see `errors`), or a catalog rule on the input"
    ),
)


UNAUTHENTICATED: Responses = error_responses(401)
NOT_FOUND: Responses = error_responses(
    404, status_404="No such resource, or the caller may not know it exists"
)
FORBIDDEN: Responses = error_responses(403, status_403="Visible to the caller, but not theirs to change")
CONFLICT: Responses = error_responses(409)
STAFF_ERRORS: Responses = {**UNAUTHENTICATED, **FORBIDDEN, **NOT_FOUND}
NOT_MODIFIED: Responses = {304: {"description": "Not modified: the `If-None-Match` ETag is current"}}

IfNoneMatch = Annotated[
    str | None,
    Header(description="An ETag from an earlier response; `304` when it is still current"),
]


def _json(body: bytes) -> Response:
    """A body the catalog serialised itself (validated once, in `catalog.presenters`)."""
    return Response(body, media_type="application/json")


def _etag_response(body: bytes, if_none_match: str | None, etag: str | None = None) -> Response:
    """The JSON body with a weak ETag of its bytes, or `304` when the client's is current.

    The body includes the caller's own flags, so one user's tag never matches another's view;
    `Cache-Control: private` keeps shared caches from storing it."""
    etag = etag or etag_of(body)
    headers = {"ETag": etag, "Cache-Control": "private, no-cache", "Vary": "Authorization"}
    if if_none_match is not None:
        offered = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        if "*" in offered or etag.removeprefix("W/") in offered:
            return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


# ---------------------------------------------------------------- courses


@router.get(
    "/courses",
    response_model=Page[CourseRead],
    summary="Browse the catalog",
    responses={
        **UNAUTHENTICATED,
        **error_responses(403, status_403="`mine` or `status` used by a non-staff caller"),
    },
)
async def list_courses(
    session: SessionDep,
    user: OptionalUser,
    page: PageParamsDep,
    q: Annotated[str | None, Query(max_length=200, description="Search title, description and tags")] = None,
    category: Annotated[str | None, Query(max_length=100)] = None,
    level: CourseLevel | None = None,
    tag: Annotated[str | None, Query(max_length=50)] = None,
    skill: Annotated[str | None, Query(max_length=50)] = None,
    instructor_id: Annotated[uuid.UUID | None, Query(description="Owner or co-instructor")] = None,
    organization_id: uuid.UUID | None = None,
    free: Annotated[bool | None, Query(description="true: free courses only; false: paid only")] = None,
    sort: CatalogSort = CatalogSort.NEWEST,
    mine: Annotated[
        bool, Query(description="Staff: the courses I run, drafts and archived included")
    ] = False,
    course_status: Annotated[
        CourseStatus | None, Query(alias="status", description="Staff: only courses in this status")
    ] = None,
) -> Response:
    """Published courses visible to the caller (organization-only courses for its members),
    each with `lesson_count`, `enrollment_count` and the caller's `is_enrolled` and
    `progress_percent`. Newest first by default. `enrollment_count` may lag a few seconds
    (the catalog is cached; see the API docs)."""
    query = CatalogQuery(
        q=q,
        category=category,
        level=level,
        tag=tag,
        skill=skill,
        instructor_id=instructor_id,
        organization_id=organization_id,
        free=free,
        sort=sort,
        mine=mine,
        status=course_status,
    )
    return _json((await reads.catalog_page(session, user, query, page)).body)


@router.post(
    "/courses",
    response_model=CourseRead,
    status_code=status.HTTP_201_CREATED,
    summary="Create a course",
    responses={**UNAUTHENTICATED, **FORBIDDEN},
)
async def create_course(session: SessionDep, user: CurrentUser, body: CourseCreate) -> CourseRead:
    """Instructors, principals and admins. The caller becomes the owner; the course starts as
    a `draft` under a unique slug made from its title."""
    course = await service.create_course(session, user, body)
    return await _card(session, user, course.id)


@router.get(
    "/lessons/{lesson_id}",
    response_model=LessonRead,
    summary="A lesson with its content",
    responses={
        **STAFF_ERRORS,
        **error_responses(403, status_403="`not_enrolled`: enroll to open this lesson"),
    },
)
async def get_lesson(session: SessionDep, user: OptionalUser, lesson_id: uuid.UUID) -> LessonRead:
    """Course staff and enrolled students; anyone who can see the course for preview lessons.
    `content` is the Markdown as written, `content_html` its sanitised rendering."""
    return presenters.lesson_read(await service.get_lesson(session, user, lesson_id))


@router.patch(
    "/lessons/{lesson_id}", response_model=LessonRead, summary="Edit a lesson", responses=STAFF_ERRORS
)
async def update_lesson(
    session: SessionDep, user: CurrentUser, lesson_id: uuid.UUID, body: LessonUpdate
) -> LessonRead:
    """Course staff. A changed `title` or `content` becomes a new version."""
    lesson = await service.update_lesson(session, user, lesson_id, body)
    return await _lesson_read(session, user, lesson)


@router.delete(
    "/lessons/{lesson_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a lesson",
    responses=STAFF_ERRORS,
)
async def delete_lesson(session: SessionDep, user: CurrentUser, lesson_id: uuid.UUID) -> None:
    """Course staff. The lesson leaves outlines, counts and progress totals until restored."""
    await service.delete_lesson(session, user, lesson_id)


@router.get(
    "/courses/trash",
    response_model=Page[CourseRead],
    summary="Deleted courses I may restore",
    responses={**UNAUTHENTICATED, **FORBIDDEN},
)
async def course_trash(session: SessionDep, user: StaffUser, page: PageParamsDep) -> Page[CourseRead]:
    """Soft-deleted courses the caller owns (principals: their organization's; admins: all)."""
    rows, total = await service.list_trash(session, user, page)
    progress = await service.caller_progress(session, user, [row.id for row in rows])
    return presenters.course_page(rows, total, page, progress)


@router.get(
    "/courses/{course_id}",
    response_model=CourseDetail,
    summary="A course with its modules and lesson outline",
    responses={**UNAUTHENTICATED, **NOT_FOUND, **NOT_MODIFIED},
)
async def get_course(
    session: SessionDep,
    user: OptionalUser,
    course_id: Annotated[str, Path(max_length=220, description="The course's id or its slug")],
    if_none_match: IfNoneMatch = None,
) -> Response:
    """By id or slug. Carries an `ETag`; send it back in `If-None-Match` to get `304`."""
    detail = await reads.course_detail(session, user, course_id)
    return _etag_response(detail.body, if_none_match, detail.etag)


@router.patch(
    "/courses/{course_id}",
    response_model=CourseRead,
    summary="Edit a course",
    responses={**STAFF_ERRORS},
)
async def update_course(
    session: SessionDep, user: CurrentUser, course_id: uuid.UUID, body: CourseUpdate
) -> CourseRead:
    """The owner, co-instructors, the organization's principal and admins."""
    course = await service.update_course(session, user, course_id, body)
    return await _card(session, user, course.id)


@router.delete(
    "/courses/{course_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a course (to the trash)",
    responses={**STAFF_ERRORS},
)
async def delete_course(session: SessionDep, user: CurrentUser, course_id: uuid.UUID) -> None:
    """Soft delete by the owner, the organization's principal or an admin: the course and its
    current modules and lessons disappear from every read until restored."""
    await service.delete_course(session, user, course_id)


@router.post(
    "/courses/{course_id}/restore",
    response_model=CourseRead,
    summary="Restore a deleted course",
    responses={**STAFF_ERRORS, **CONFLICT},
)
async def restore_course(session: SessionDep, user: CurrentUser, course_id: uuid.UUID) -> CourseRead:
    """Brings back the course and exactly the modules and lessons its delete removed (not
    those deleted separately before). `409 not_deleted` when it is not deleted."""
    course = await service.restore_course(session, user, course_id)
    return await _card(session, user, course.id)


async def _card(session: SessionDep, user: CurrentUser, course_id: uuid.UUID) -> CourseRead:
    """The course as it stands after a change, with the caller's flags."""
    row, progress = await service.course_card(session, user, course_id)
    return presenters.course_read(row, progress)


async def _transition(
    session: SessionDep, user: CurrentUser, course_id: uuid.UUID, to: CourseStatus
) -> CourseRead:
    course = await service.set_course_status(session, user, course_id, to)
    return await _card(session, user, course.id)


@router.post(
    "/courses/{course_id}/publish",
    response_model=CourseRead,
    summary="Publish a course",
    responses={
        **STAFF_ERRORS,
        **error_responses(409, status_409="`course_empty`: a course needs a lesson first"),
    },
)
async def publish_course(session: SessionDep, user: CurrentUser, course_id: uuid.UUID) -> CourseRead:
    """Course staff. Needs at least one lesson (`409 course_empty`)."""
    return await _transition(session, user, course_id, CourseStatus.PUBLISHED)


@router.post(
    "/courses/{course_id}/unpublish",
    response_model=CourseRead,
    summary="Back to draft",
    responses={**STAFF_ERRORS},
)
async def unpublish_course(session: SessionDep, user: CurrentUser, course_id: uuid.UUID) -> CourseRead:
    """Course staff. The course leaves the catalog; enrollments stay."""
    return await _transition(session, user, course_id, CourseStatus.DRAFT)


@router.post(
    "/courses/{course_id}/archive",
    response_model=CourseRead,
    summary="Archive a course",
    responses={**STAFF_ERRORS},
)
async def archive_course(session: SessionDep, user: CurrentUser, course_id: uuid.UUID) -> CourseRead:
    """Course staff. Archived courses leave the catalog and take no new enrollments."""
    return await _transition(session, user, course_id, CourseStatus.ARCHIVED)


@router.post(
    "/courses/{course_id}/instructors",
    response_model=CourseRead,
    status_code=status.HTTP_201_CREATED,
    summary="Add a co-instructor",
    responses={**STAFF_ERRORS, **error_responses(409, status_409="`already_instructor`")},
)
async def add_instructor(
    session: SessionDep, user: CurrentUser, course_id: uuid.UUID, body: InstructorAdd
) -> CourseRead:
    """The owner, the organization's principal or an admin. The user must be an active
    instructor (`422 not_an_instructor`)."""
    course = await service.add_instructor(session, user, course_id, body.user_id)
    return await _card(session, user, course.id)


@router.delete(
    "/courses/{course_id}/instructors/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a co-instructor",
    responses={**STAFF_ERRORS},
)
async def remove_instructor(
    session: SessionDep, user: CurrentUser, course_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    """`404 instructor_not_found` when the user does not co-teach the course."""
    await service.remove_instructor(session, user, course_id, user_id)


# ---------------------------------------------------------------- modules


@router.post(
    "/courses/{course_id}/modules",
    response_model=ModuleRead,
    status_code=status.HTTP_201_CREATED,
    summary="Add a module",
    responses={**STAFF_ERRORS},
)
async def create_module(
    session: SessionDep, user: CurrentUser, course_id: uuid.UUID, body: ModuleCreate
) -> ModuleRead:
    """Course staff. Inserted at `order` (0-based), or appended."""
    return presenters.module_read(await service.create_module(session, user, course_id, body))


@router.patch(
    "/modules/{module_id}", response_model=ModuleRead, summary="Edit or move a module", responses=STAFF_ERRORS
)
async def update_module(
    session: SessionDep, user: CurrentUser, module_id: uuid.UUID, body: ModuleUpdate
) -> ModuleRead:
    """Course staff. A new `order` moves the module; the others close up."""
    return presenters.module_read(await service.update_module(session, user, module_id, body))


@router.delete(
    "/modules/{module_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a module and its lessons",
    responses=STAFF_ERRORS,
)
async def delete_module(session: SessionDep, user: CurrentUser, module_id: uuid.UUID) -> None:
    """Course staff. Soft delete of the module and its current lessons."""
    await service.delete_module(session, user, module_id)


@router.post(
    "/modules/{module_id}/restore",
    response_model=ModuleRead,
    summary="Restore a deleted module",
    responses={**STAFF_ERRORS, **CONFLICT},
)
async def restore_module(session: SessionDep, user: CurrentUser, module_id: uuid.UUID) -> ModuleRead:
    """Course staff. Brings back the module and the lessons its delete removed."""
    return presenters.module_read(await service.restore_module(session, user, module_id))


# ---------------------------------------------------------------- lessons


@router.post(
    "/courses/{course_id}/lessons",
    response_model=LessonRead,
    status_code=status.HTTP_201_CREATED,
    summary="Add a lesson",
    responses=STAFF_ERRORS,
)
async def create_lesson(
    session: SessionDep, user: CurrentUser, course_id: uuid.UUID, body: LessonCreate
) -> LessonRead:
    """Course staff. Inserted at `order` (0-based, course-wide), or appended. Its content is
    version 1. `422 invalid_module` when `module_id` is not a module of this course."""
    lesson = await service.create_lesson(session, user, course_id, body)
    return await _lesson_read(session, user, lesson)


#: A whole course outline fits in one page by default: its readers (the lesson sidebar) want it all.
OUTLINE_PAGE = page_params(default=LARGEST_LIMIT, maximum=LARGEST_LIMIT)


@router.get(
    "/courses/{course_id}/lessons",
    response_model=Page[LessonOutline],
    summary="The lesson outline",
    responses={**UNAUTHENTICATED, **NOT_FOUND, **NOT_MODIFIED},
)
async def lesson_outline(
    session: SessionDep,
    user: OptionalUser,
    course_id: uuid.UUID,
    page: Annotated[PageParams, Depends(OUTLINE_PAGE)],
    if_none_match: IfNoneMatch = None,
) -> Response:
    """Every lesson, in order, for staff and enrolled students (with `is_completed`); only the
    preview lessons for anyone else who can see the course. A page of up to 500 lessons
    (`limit` 1-500, default 500: the whole outline of almost any course at once). Carries
    an `ETag`."""
    outline = await service.lesson_outline(session, user, course_id, page)
    items = presenters.lesson_outline(outline.lessons, outline.completed)
    body = Page[LessonOutline].of(items, outline.total, page).model_dump_json().encode()
    return _etag_response(body, if_none_match)


@router.put(
    "/courses/{course_id}/lessons/order",
    response_model=list[LessonOutline],
    summary="Reorder the lessons",
    responses=STAFF_ERRORS,
)
async def reorder_lessons(
    session: SessionDep, user: CurrentUser, course_id: uuid.UUID, body: LessonOrder
) -> list[LessonOutline]:
    """Course staff. `lesson_ids` must be exactly the course's current lessons, each once
    (`422 invalid_lesson_order`)."""
    lessons = await service.reorder_lessons(session, user, course_id, body.lesson_ids)
    return presenters.lesson_outline(lessons)


async def _lesson_read(session: SessionDep, user: CurrentUser, lesson: Lesson) -> LessonRead:
    """A lesson after a change, with the caller's `is_completed`."""
    return presenters.lesson_read(await service.lesson_page_of(session, user, lesson))


@router.post(
    "/lessons/{lesson_id}/restore",
    response_model=LessonRead,
    summary="Restore a deleted lesson",
    responses={
        **STAFF_ERRORS,
        **error_responses(409, status_409="`not_deleted`, or `parent_deleted` (its module is deleted)"),
    },
)
async def restore_lesson(session: SessionDep, user: CurrentUser, lesson_id: uuid.UUID) -> LessonRead:
    """Course staff."""
    lesson = await service.restore_lesson(session, user, lesson_id)
    return await _lesson_read(session, user, lesson)


@router.get(
    "/lessons/{lesson_id}/versions",
    response_model=Page[LessonVersionSummary],
    summary="A lesson's versions",
    responses=STAFF_ERRORS,
)
async def list_versions(
    session: SessionDep, user: CurrentUser, lesson_id: uuid.UUID, page: PageParamsDep
) -> Page[LessonVersionSummary]:
    """Course staff. Newest first."""
    versions, total = await service.list_versions(session, user, lesson_id, page)
    return Page[LessonVersionSummary].of([presenters.version_summary(v) for v in versions], total, page)


VersionNumber = Annotated[int, Path(ge=1, le=2**31 - 1, description="Version number (1 = as created)")]


@router.get(
    "/lessons/{lesson_id}/versions/{number}",
    response_model=LessonVersionRead,
    summary="One version of a lesson",
    responses=STAFF_ERRORS,
)
async def get_version(
    session: SessionDep, user: CurrentUser, lesson_id: uuid.UUID, number: VersionNumber
) -> LessonVersionRead:
    """Course staff. `404 version_not_found` when there is no such version."""
    return presenters.version_read(await service.get_version(session, user, lesson_id, number))


@router.post(
    "/lessons/{lesson_id}/versions/{number}/restore",
    response_model=LessonRead,
    summary="Make an old version current",
    responses=STAFF_ERRORS,
)
async def restore_version(
    session: SessionDep, user: CurrentUser, lesson_id: uuid.UUID, number: VersionNumber
) -> LessonRead:
    """Course staff. Version `number`'s title and content become current as a new version."""
    lesson = await service.restore_version(session, user, lesson_id, number)
    return await _lesson_read(session, user, lesson)


@router.post(
    "/markdown/preview",
    response_model=MarkdownPreview,
    summary="Render Markdown as a lesson would show it",
    responses={**UNAUTHENTICATED, **error_responses(403, status_403="`insufficient_role`: staff only")},
)
async def preview_markdown(user: StaffUser, body: MarkdownPreviewIn) -> MarkdownPreview:
    """Staff (instructors, principals, admins). Renders and sanitises `content` exactly as a
    lesson's `content_html` is made, for an editor's live preview; nothing is stored."""
    return MarkdownPreview(content_html=render_markdown(body.content))
