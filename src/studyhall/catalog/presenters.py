"""Catalog rows (Core rows of the hot reads, entities of the authoring routes) to response
schemas. Each response is validated once, here; routes return it as is (FastAPI passes a
model of its `response_model` through and serialises it in pydantic's core) or as bytes."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter
from sqlalchemy import Row

from studyhall.catalog.models import Lesson, LessonVersion, Module
from studyhall.catalog.rendering import render_markdown
from studyhall.catalog.schemas import (
    CourseDetail,
    CourseRead,
    LessonOutline,
    LessonRead,
    LessonVersionRead,
    LessonVersionSummary,
    ModuleRead,
)
from studyhall.core.pagination import Page, PageParams
from studyhall.learning.service import CourseProgress
from studyhall.media.schemas import AttachedFile, LessonVideoRead

if TYPE_CHECKING:
    from studyhall.catalog.service import LessonPage

_OUTLINE = TypeAdapter(list[LessonOutline])


def caller_flags(progress: CourseProgress | None) -> dict[str, Any]:
    """`is_enrolled` and `progress_percent` of a course card (None: not enrolled)."""
    return {
        "is_enrolled": progress is not None,
        "progress_percent": progress.progress_percent if progress is not None else None,
    }


def course_read(course: Row[Any], progress: CourseProgress | None) -> CourseRead:
    """A course card from a row of `queries.CARD_COLUMNS` plus `instructor_ids`."""
    return CourseRead.model_validate({**course._asdict(), **caller_flags(progress)})


def course_page(
    rows: Sequence[Row[Any]],
    total: int,
    params: PageParams,
    progress: Mapping[uuid.UUID, CourseProgress],
) -> Page[CourseRead]:
    items = [{**row._asdict(), **caller_flags(progress.get(row.id))} for row in rows]
    return Page[CourseRead].model_validate(
        {"items": items, "total": total, "limit": params.limit, "offset": params.offset}
    )


def course_detail(
    course: Row[Any],
    modules: Sequence[Row[Any]],
    lessons: Sequence[Row[Any]],
    progress: CourseProgress | None = None,
    completed: Collection[uuid.UUID] = (),
) -> CourseDetail:
    """A course with its modules and lesson outline (rows of `queries.hot_reads`)."""
    return CourseDetail.model_validate(
        {
            **course._asdict(),
            **caller_flags(progress),
            "modules": [module._asdict() for module in modules],
            "lessons": [{**lesson._asdict(), "is_completed": lesson.id in completed} for lesson in lessons],
        }
    )


def module_read(module: Module) -> ModuleRead:
    return ModuleRead(
        id=module.id,
        course_id=module.course_id,
        title=module.title,
        description=module.description,
        order=module.position,
        created_at=module.created_at,
        updated_at=module.updated_at,
    )


def lesson_outline(lessons: Sequence[Lesson], completed: Collection[uuid.UUID] = ()) -> list[LessonOutline]:
    return _OUTLINE.validate_python(
        [
            {
                "id": lesson.id,
                "module_id": lesson.module_id,
                "title": lesson.title,
                "type": lesson.type,
                "order": lesson.position,
                "duration_minutes": lesson.duration_minutes,
                "is_preview": lesson.is_preview,
                "is_completed": lesson.id in completed,
            }
            for lesson in lessons
        ]
    )


def lesson_read(page: LessonPage) -> LessonRead:
    """A lesson with its content, from an entity or a row of `queries.hot_reads().lesson_page`,
    with a `file` lesson's file and a `video` lesson's video."""
    lesson = page.lesson
    if isinstance(lesson, Lesson):
        fields = {column: getattr(lesson, column) for column in _LESSON_COLUMNS}
        fields["order"] = lesson.position
    else:
        fields = lesson._asdict()
    return LessonRead.model_validate(
        {
            **fields,
            "extra": fields["extra"] or {},
            "is_completed": page.is_completed,
            "file": AttachedFile.of(page.file) if page.file is not None else None,
            "video": LessonVideoRead.model_validate(page.video) if page.video is not None else None,
        }
    )


_LESSON_COLUMNS = (
    "id",
    "course_id",
    "module_id",
    "title",
    "type",
    "content",
    "content_html",
    "duration_minutes",
    "is_preview",
    "version",
    "extra",
    "created_at",
    "updated_at",
)


def version_summary(version: LessonVersion) -> LessonVersionSummary:
    return LessonVersionSummary(
        version=version.version,
        title=version.title,
        created_at=version.created_at,
        author_id=version.author_id,
    )


def version_read(version: LessonVersion) -> LessonVersionRead:
    """An old version, rendered for reading (staff only, rarely: not stored rendered)."""
    return LessonVersionRead(
        lesson_id=version.lesson_id,
        version=version.version,
        title=version.title,
        created_at=version.created_at,
        author_id=version.author_id,
        content=version.content,
        content_html=render_markdown(version.content),
    )
