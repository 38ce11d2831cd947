"""Request and response models of the catalog."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from studyhall.catalog.models import CourseLevel, CourseStatus, LessonType, Visibility
from studyhall.media.schemas import AttachedFile, LessonVideoRead


def _normalise_terms(values: list[str]) -> list[str]:
    """Tags and skills are stored trimmed, lower-cased and without duplicates (order kept)."""
    seen: dict[str, None] = {}
    for value in values:
        seen.setdefault(value.strip().lower(), None)
    return [value for value in seen if value]


Term = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Terms = Annotated[list[Term], Field(max_length=30), AfterValidator(_normalise_terms)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Content = Annotated[str, Field(max_length=200_000)]


_NULLABLE_COURSE_FIELDS = frozenset({"subtitle", "category", "organization_id"})


class CatalogSort(StrEnum):
    NEWEST = "newest"
    TITLE = "title"
    POPULAR = "popular"


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CourseCreate(_Input):
    title: Title
    subtitle: Annotated[str, Field(max_length=300)] | None = None
    description: Annotated[str, Field(max_length=20_000)] = ""
    category: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None
    ) = None
    tags: Terms = Field(default_factory=list)
    skills: Terms = Field(default_factory=list)
    level: CourseLevel = CourseLevel.BEGINNER
    language: Annotated[str, StringConstraints(min_length=2, max_length=16)] = "en"
    duration_minutes: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    price_cents: Annotated[int, Field(ge=0, le=100_000_000)] = 0
    currency: Currency = "USD"
    visibility: Visibility = Visibility.PUBLIC
    organization_id: uuid.UUID | None = Field(
        None, description="Defaults to the caller's organization; only admins may pick another one"
    )
    certificate_enabled: bool = False


class CourseUpdate(_Input):
    """Only the fields sent change; `null` clears `subtitle`, `category` and `organization_id`."""

    title: Title | None = None
    subtitle: Annotated[str, Field(max_length=300)] | None = None
    description: Annotated[str, Field(max_length=20_000)] | None = None
    category: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None
    ) = None
    tags: Terms | None = None
    skills: Terms | None = None
    level: CourseLevel | None = None
    language: Annotated[str, StringConstraints(min_length=2, max_length=16)] | None = None
    duration_minutes: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    price_cents: Annotated[int, Field(ge=0, le=100_000_000)] | None = None
    currency: Currency | None = None
    visibility: Visibility | None = None
    organization_id: uuid.UUID | None = None
    certificate_enabled: bool | None = None

    def changes(self) -> dict[str, Any]:
        return {
            key: value
            for key, value in self.model_dump(exclude_unset=True).items()
            if value is not None or key in _NULLABLE_COURSE_FIELDS
        }


class CourseRead(BaseModel):
    id: uuid.UUID
    slug: str
    title: str
    subtitle: str | None
    description: str
    category: str | None
    tags: list[str]
    level: CourseLevel
    language: str
    duration_minutes: int
    price_cents: int
    currency: str
    visibility: Visibility
    status: CourseStatus
    organization_id: uuid.UUID | None
    owner_id: uuid.UUID
    instructor_ids: list[uuid.UUID] = Field(description="Co-instructors (the owner is `owner_id`)")
    skills: list[str]
    certificate_enabled: bool
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    lesson_count: int
    enrollment_count: int
    is_enrolled: bool = Field(description="Whether the caller is enrolled (false when anonymous)")
    progress_percent: float | None = Field(description="The caller's progress; null when not enrolled")


class ModuleRead(BaseModel):
    id: uuid.UUID
    course_id: uuid.UUID
    title: str
    description: str | None
    order: int
    created_at: datetime
    updated_at: datetime


class LessonOutline(BaseModel):
    id: uuid.UUID
    module_id: uuid.UUID | None
    title: str
    type: LessonType
    order: int
    duration_minutes: int
    is_preview: bool
    is_completed: bool


class CourseDetail(CourseRead):
    modules: list[ModuleRead]
    lessons: list[LessonOutline] = Field(description="Every current lesson, in course order")


class LessonRead(BaseModel):
    id: uuid.UUID
    course_id: uuid.UUID
    module_id: uuid.UUID | None
    title: str
    type: LessonType
    order: int
    content: str = Field(description="Markdown, as written")
    content_html: str = Field(description="The content rendered to sanitised HTML")
    duration_minutes: int
    is_preview: bool
    version: int
    is_completed: bool
    extra: dict[str, Any] = Field(description="Type-specific settings (video asset, file, quiz ids)")
    file: AttachedFile | None = Field(
        None, description="A `file` lesson's file, with a short-lived download URL; null for other types"
    )
    created_at: datetime
    updated_at: datetime
    video: LessonVideoRead | None = Field(
        None, description="A video lesson's video; null for other lessons and before the first upload"
    )


class ModuleCreate(_Input):
    title: Title
    description: Annotated[str, Field(max_length=20_000)] | None = None
    order: Annotated[int, Field(ge=0, le=100_000)] | None = Field(
        None, description="0-based position; appended when absent or past the end"
    )


class ModuleUpdate(_Input):
    title: Title | None = None
    description: Annotated[str, Field(max_length=20_000)] | None = None
    order: Annotated[int, Field(ge=0, le=100_000)] | None = None


class LessonCreate(_Input):
    title: Title
    type: LessonType
    module_id: uuid.UUID | None = None
    order: Annotated[int, Field(ge=0, le=100_000)] | None = Field(
        None, description="0-based position in the course; appended when absent or past the end"
    )
    content: Content = ""
    duration_minutes: Annotated[int, Field(ge=0, le=100_000)] = 0
    is_preview: bool = False
    file_id: uuid.UUID | None = Field(
        None,
        description=(
            "`file` lessons only: a `ready` `lesson_material` file the caller uploaded "
            "(`422 invalid_file` otherwise); other types answer `422 content_not_for_lesson_type`"
        ),
    )


class LessonUpdate(_Input):
    """Only the fields sent change. A new `title` or `content` makes a new version.
    `module_id: null` takes the lesson out of its module; `file_id` replaces a `file` lesson's
    file (`null` removes it)."""

    title: Title | None = None
    content: Content | None = None
    module_id: uuid.UUID | None = None
    order: Annotated[int, Field(ge=0, le=100_000)] | None = None
    duration_minutes: Annotated[int, Field(ge=0, le=100_000)] | None = None
    is_preview: bool | None = None
    file_id: uuid.UUID | None = Field(
        None,
        description=(
            "`file` lessons only: a `ready` `lesson_material` file the caller uploaded "
            "(`422 invalid_file` otherwise); other types answer `422 content_not_for_lesson_type`"
        ),
    )


class LessonOrder(_Input):
    lesson_ids: Annotated[list[uuid.UUID], Field(max_length=5_000)]


class InstructorAdd(_Input):
    user_id: uuid.UUID


class LessonVersionSummary(BaseModel):
    version: int
    title: str
    created_at: datetime
    author_id: uuid.UUID | None


class LessonVersionRead(LessonVersionSummary):
    lesson_id: uuid.UUID
    content: str
    content_html: str


class MarkdownPreviewIn(_Input):
    content: Content


class MarkdownPreview(BaseModel):
    content_html: str = Field(description="The Markdown rendered to sanitised HTML, as a lesson shows it")
