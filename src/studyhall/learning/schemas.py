"""Request and response models of the learning API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from studyhall.catalog.models import Course, Lesson
from studyhall.identity.models import User
from studyhall.learning.models import Enrollment
from studyhall.learning.service import (
    CompletionState,
    CourseProgress,
    DetailedProgress,
    EnrollmentProgress,
    NextLesson,
    VideoHeartbeat,
)

#: Longest video duration accepted by heartbeats (one week, in seconds).
MAX_VIDEO_SECONDS = 7 * 24 * 3600


class CourseSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    slug: str
    title: str
    subtitle: str | None
    level: str
    status: str
    lesson_count: int

    @classmethod
    def of(cls, course: Course) -> CourseSummary:
        return cls.model_validate(course)


class ProgressFields(BaseModel):
    completed_lessons: int = Field(ge=0, description="Completed current (non-deleted) lessons")
    total_lessons: int = Field(ge=0, description="Current (non-deleted) lessons of the course")
    progress_percent: float = Field(ge=0, le=100, description="completed / total × 100, 2 decimals")

    @staticmethod
    def values(progress: CourseProgress) -> dict[str, Any]:
        return {
            "completed_lessons": progress.completed_lessons,
            "total_lessons": progress.total_lessons,
            "progress_percent": progress.progress_percent,
        }


class EnrollmentRead(ProgressFields):
    id: uuid.UUID
    course_id: uuid.UUID
    user_id: uuid.UUID
    status: str
    enrolled_at: datetime
    completed_at: datetime | None
    last_activity_at: datetime | None

    @staticmethod
    def enrollment_values(enrollment: Enrollment) -> dict[str, Any]:
        return {
            "id": enrollment.id,
            "course_id": enrollment.course_id,
            "user_id": enrollment.user_id,
            "status": enrollment.status,
            "enrolled_at": enrollment.enrolled_at,
            "completed_at": enrollment.completed_at,
            "last_activity_at": enrollment.last_activity_at,
        }

    @classmethod
    def of(cls, item: EnrollmentProgress) -> EnrollmentRead:
        return cls(**cls.enrollment_values(item.enrollment), **cls.values(item.progress))


class MyEnrollmentRead(EnrollmentRead):
    course: CourseSummary

    @classmethod
    def of(cls, item: EnrollmentProgress) -> MyEnrollmentRead:
        assert item.course is not None
        return cls(
            **cls.enrollment_values(item.enrollment),
            **cls.values(item.progress),
            course=CourseSummary.of(item.course),
        )


class StudentSummary(BaseModel):
    id: uuid.UUID
    full_name: str
    email: str

    @classmethod
    def of(cls, user: User) -> StudentSummary:
        return cls(id=user.id, full_name=user.full_name, email=user.email)


class RosterEntry(ProgressFields):
    enrollment_id: uuid.UUID
    student: StudentSummary
    enrolled_at: datetime
    completed_at: datetime | None
    last_activity_at: datetime | None

    @classmethod
    def of(cls, item: EnrollmentProgress) -> RosterEntry:
        assert item.student is not None
        enrollment = item.enrollment
        return cls(
            enrollment_id=enrollment.id,
            student=StudentSummary.of(item.student),
            enrolled_at=enrollment.enrolled_at,
            completed_at=enrollment.completed_at,
            last_activity_at=enrollment.last_activity_at,
            **cls.values(item.progress),
        )


class LessonProgressRead(BaseModel):
    lesson_id: uuid.UUID
    is_completed: bool
    completed_at: datetime | None
    position_seconds: float | None = Field(description="Last saved video position, if any")


class CourseProgressRead(ProgressFields):
    course_id: uuid.UUID
    completed_at: datetime | None
    last_activity_at: datetime | None
    lessons: list[LessonProgressRead]

    @classmethod
    def of(cls, detail: DetailedProgress) -> CourseProgressRead:
        return cls(
            course_id=detail.enrollment.course_id,
            completed_at=detail.enrollment.completed_at,
            last_activity_at=detail.enrollment.last_activity_at,
            lessons=[
                LessonProgressRead(
                    lesson_id=lesson.lesson_id,
                    is_completed=lesson.is_completed,
                    completed_at=lesson.completed_at,
                    position_seconds=lesson.position_seconds,
                )
                for lesson in detail.lessons
            ],
            **cls.values(detail.progress),
        )


class CompletionRead(ProgressFields):
    """The course progress after marking (or un-marking) a lesson."""

    course_id: uuid.UUID
    lesson_id: uuid.UUID
    is_completed: bool
    completed_at: datetime | None = Field(description="When the course was completed, if it is")
    last_activity_at: datetime | None

    @classmethod
    def of(cls, state: CompletionState, lesson_id: uuid.UUID, is_completed: bool) -> CompletionRead:
        return cls(
            course_id=state.course_id,
            lesson_id=lesson_id,
            is_completed=is_completed,
            completed_at=state.completed_at,
            last_activity_at=state.last_activity_at,
            **cls.values(state.progress),
        )


class PositionUpdate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"position_seconds": 93.5, "duration_seconds": 600}]}
    )

    position_seconds: float = Field(ge=0, le=MAX_VIDEO_SECONDS, allow_inf_nan=False)
    duration_seconds: float = Field(gt=0, le=MAX_VIDEO_SECONDS, allow_inf_nan=False)

    @model_validator(mode="after")
    def _within_duration(self) -> Self:
        if self.position_seconds > self.duration_seconds:
            raise ValueError("position_seconds must not exceed duration_seconds")
        return self


class PositionRead(BaseModel):
    lesson_id: uuid.UUID
    position_seconds: float
    duration_seconds: float
    is_completed: bool
    updated_at: datetime

    @classmethod
    def of(cls, beat: VideoHeartbeat) -> PositionRead:
        return cls(
            lesson_id=beat.lesson_id,
            position_seconds=beat.position_seconds,
            duration_seconds=beat.duration_seconds,
            is_completed=beat.is_completed,
            updated_at=beat.updated_at,
        )


class NextLessonRead(BaseModel):
    id: uuid.UUID
    title: str
    type: str
    order: int
    duration_minutes: int

    @classmethod
    def of(cls, lesson: Lesson) -> NextLessonRead:
        return cls(
            id=lesson.id,
            title=lesson.title,
            type=lesson.type,
            order=lesson.position,
            duration_minutes=lesson.duration_minutes,
        )


class ContinueItem(ProgressFields):
    course: CourseSummary
    lesson: NextLessonRead
    position_seconds: float | None = Field(description="Where to resume a video lesson, if started")
    enrolled_at: datetime
    last_activity_at: datetime | None

    @classmethod
    def of(cls, item: NextLesson) -> ContinueItem:
        return cls(
            course=CourseSummary.of(item.course),
            lesson=NextLessonRead.of(item.lesson),
            position_seconds=item.position_seconds,
            enrolled_at=item.enrollment.enrolled_at,
            last_activity_at=item.enrollment.last_activity_at,
            **cls.values(item.progress),
        )
