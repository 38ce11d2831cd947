"""Request and response models of the analytics API. Each part keeps a block of its own."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field

from studyhall.analytics.insights import (
    ActiveLearners,
    CourseAnalytics,
    CourseSummary,
    DayCount,
    Figures,
    InstructorSummary,
    LearnerAnalytics,
    OrganizationAnalytics,
)
from studyhall.analytics.skills import Skill
from studyhall.analytics.transcript import CompletedCourse, Transcript
from studyhall.certificates.models import Certificate

# -- Audit log -------------------------------------------------------------------------------


class AuditLogRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    occurred_at: datetime
    actor_id: uuid.UUID | None
    actor_email: str | None
    action: str = Field(examples=["user.role_changed"])
    resource_type: str = Field(examples=["user"])
    resource_id: str | None
    organization_id: uuid.UUID | None
    changes: dict[str, list[Any]] = Field(
        description="`{field: [old, new]}` for each changed field; secret fields are never shown",
        examples=[{"role": ["student", "instructor"]}],
    )
    ip: str | None
    user_agent: str | None
    request_id: str | None


# -- Activity events ------------------------------------------------------------------------


class RejectedEvent(BaseModel):
    index: int = Field(description="Position of the event in the batch (from 0)")
    code: str = Field(
        description="`invalid_event`, `unknown_event_type`, `invalid_data` or `timestamp_out_of_window`"
    )
    error: str = Field(description="What is wrong, field by field")


class IngestResult(BaseModel):
    accepted: int = Field(
        description="Events taken in: stored now (embedded mode), or queued for storage (broker mode)"
    )
    duplicates: int = Field(
        description="Events skipped as repeats of an `event_id` earlier in the batch, or (embedded "
        "mode) already stored; in broker mode repeats of earlier batches are dropped by the worker"
    )
    rejected: list[RejectedEvent]


# -- Insights ------------------------------------------------------------------------------


class DayCountRead(BaseModel):
    date: date
    count: int

    @classmethod
    def of(cls, entry: DayCount) -> Self:
        return cls(date=entry.day, count=entry.count)


class LessonFunnelRead(BaseModel):
    lesson_id: uuid.UUID
    title: str
    reached: int = Field(description="Learners with any activity in the lesson")
    completed: int = Field(description="Learners who completed it")


class QuizFiguresRead(BaseModel):
    quiz_id: uuid.UUID
    title: str
    attempts: int = Field(description="Graded attempts")
    pass_rate: float | None = Field(description="Passed / graded attempts (0-1); null without attempts")
    average_score_percent: float | None


class VideoFiguresRead(BaseModel):
    lesson_id: uuid.UUID
    watch_ratio: float | None = Field(
        description="Average share of the video each viewer watched (0-1, capped at the whole video); "
        "null while its length is unknown or nobody watched"
    )


class CourseFiguresFields(BaseModel):
    """What the course, organisation, per-course and per-instructor answers share."""

    enrollments_total: int = Field(description="Active enrollments")
    active_learners_7d: int
    active_learners_30d: int
    completion_rate: float = Field(ge=0, le=1, description="Completed / active enrollments")
    average_progress_percent: float = Field(ge=0, le=100)
    average_days_to_complete: float | None

    @staticmethod
    def figure_values(figures: Figures, active: ActiveLearners) -> dict[str, Any]:
        return {
            "enrollments_total": figures.enrolled,
            "active_learners_7d": active.week,
            "active_learners_30d": active.month,
            "completion_rate": figures.completion_rate,
            "average_progress_percent": figures.average_progress_percent,
            "average_days_to_complete": figures.average_days_to_complete,
        }


class QuizTotalsFields(BaseModel):
    quiz_attempts: int
    quiz_pass_rate: float | None
    average_score_percent: float | None

    @staticmethod
    def quiz_values(figures: Figures) -> dict[str, Any]:
        return {
            "quiz_attempts": figures.quiz_attempts,
            "quiz_pass_rate": figures.quiz_pass_rate,
            "average_score_percent": figures.average_score_percent,
        }


class CourseAnalyticsRead(CourseFiguresFields):
    course_id: uuid.UUID
    enrollments_per_day: list[DayCountRead] = Field(description="Every day of the range, oldest first")
    lessons: list[LessonFunnelRead]
    quizzes: list[QuizFiguresRead]
    videos: list[VideoFiguresRead]

    @classmethod
    def of(cls, result: CourseAnalytics) -> Self:
        return cls(
            course_id=result.course_id,
            **CourseFiguresFields.figure_values(result.figures, result.active),
            enrollments_per_day=[DayCountRead.of(d) for d in result.enrollments_per_day],
            lessons=[
                LessonFunnelRead(
                    lesson_id=f.lesson_id, title=f.title, reached=f.reached, completed=f.completed
                )
                for f in result.lessons
            ],
            quizzes=[
                QuizFiguresRead(
                    quiz_id=q.quiz_id,
                    title=q.title,
                    attempts=q.attempts,
                    pass_rate=q.pass_rate,
                    average_score_percent=q.average_score_percent,
                )
                for q in result.quizzes
            ],
            videos=[
                VideoFiguresRead(lesson_id=v.lesson_id, watch_ratio=v.watch_ratio) for v in result.videos
            ],
        )


class OrganizationCourseRead(CourseFiguresFields, QuizTotalsFields):
    course_id: uuid.UUID
    title: str
    status: str

    @classmethod
    def of(cls, summary: CourseSummary) -> Self:
        return cls(
            course_id=summary.course_id,
            title=summary.title,
            status=summary.status,
            **CourseFiguresFields.figure_values(summary.figures, summary.active),
            **QuizTotalsFields.quiz_values(summary.figures),
        )


class OrganizationInstructorRead(CourseFiguresFields, QuizTotalsFields):
    user_id: uuid.UUID
    full_name: str
    course_ids: list[uuid.UUID] = Field(description="The organisation's courses they own or co-teach")

    @classmethod
    def of(cls, summary: InstructorSummary) -> Self:
        return cls(
            user_id=summary.user_id,
            full_name=summary.full_name,
            course_ids=summary.course_ids,
            **CourseFiguresFields.figure_values(summary.figures, summary.active),
            **QuizTotalsFields.quiz_values(summary.figures),
        )


class OrganizationAnalyticsRead(CourseFiguresFields, QuizTotalsFields):
    organization_id: uuid.UUID
    enrollments_per_day: list[DayCountRead]
    courses: list[OrganizationCourseRead]
    instructors: list[OrganizationInstructorRead]

    @classmethod
    def of(cls, result: OrganizationAnalytics) -> Self:
        return cls(
            organization_id=result.organization_id,
            **CourseFiguresFields.figure_values(result.figures, result.active),
            **QuizTotalsFields.quiz_values(result.figures),
            enrollments_per_day=[DayCountRead.of(d) for d in result.enrollments_per_day],
            courses=[OrganizationCourseRead.of(c) for c in result.courses],
            instructors=[OrganizationInstructorRead.of(i) for i in result.instructors],
        )


class LearningDayRead(BaseModel):
    date: date
    learning_seconds: float
    lessons_completed: int
    active: bool = Field(description="Any learning activity that day (UTC)")


class UpcomingAssignmentRead(BaseModel):
    assignment_id: uuid.UUID
    title: str
    course_id: uuid.UUID
    course_title: str
    due_at: datetime


class LearnerAnalyticsRead(BaseModel):
    days: list[LearningDayRead] = Field(description="Every day of the range, oldest first")
    learning_seconds_total: float = Field(description="Over the range")
    current_streak_days: int
    longest_streak_days: int
    lessons_completed: int = Field(description="All time")
    courses_completed: int = Field(description="All time")
    upcoming_assignments: list[UpcomingAssignmentRead]

    @classmethod
    def of(cls, result: LearnerAnalytics) -> Self:
        return cls(
            days=[
                LearningDayRead(
                    date=d.day,
                    learning_seconds=d.learning_seconds,
                    lessons_completed=d.lessons_completed,
                    active=d.active,
                )
                for d in result.days
            ],
            learning_seconds_total=round(sum(d.learning_seconds for d in result.days), 2),
            current_streak_days=result.streaks.current,
            longest_streak_days=result.streaks.longest,
            lessons_completed=result.lessons_completed,
            courses_completed=result.courses_completed,
            upcoming_assignments=[
                UpcomingAssignmentRead(
                    assignment_id=a.assignment_id,
                    title=a.title,
                    course_id=a.course_id,
                    course_title=a.course_title,
                    due_at=a.due_at,
                )
                for a in result.upcoming
            ],
        )


class TranscriptCertificateRead(BaseModel):
    id: uuid.UUID
    verification_code: str
    issued_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, certificate: Certificate | None) -> Self | None:
        if certificate is None:
            return None
        return cls(
            id=certificate.id,
            verification_code=certificate.verification_code,
            issued_at=certificate.issued_at,
            revoked_at=certificate.revoked_at,
        )


class CompletedCourseRead(BaseModel):
    course_id: uuid.UUID
    title: str
    category: str | None
    level: str
    enrolled_at: datetime
    completed_at: datetime
    grade_percent: float | None = Field(description="Points-weighted over graded quizzes and assignments")
    certificate: TranscriptCertificateRead | None

    @classmethod
    def of(cls, completed: CompletedCourse) -> Self:
        course = completed.course
        return cls(
            course_id=course.id,
            title=course.title,
            category=course.category,
            level=course.level,
            enrolled_at=completed.enrolled_at,
            completed_at=completed.completed_at,
            grade_percent=completed.grade_percent,
            certificate=TranscriptCertificateRead.of(completed.certificate),
        )


class TranscriptRead(BaseModel):
    student_name: str
    generated_at: datetime
    courses: list[CompletedCourseRead] = Field(description="Oldest completion first")
    courses_completed: int
    average_grade_percent: float | None

    @classmethod
    def of(cls, document: Transcript) -> Self:
        return cls(
            student_name=document.student_name,
            generated_at=document.generated_at,
            courses=[CompletedCourseRead.of(c) for c in document.courses],
            courses_completed=len(document.courses),
            average_grade_percent=document.average_grade_percent,
        )


class SkillEvidenceRead(BaseModel):
    course_id: uuid.UUID
    title: str
    completed_at: datetime
    grade_percent: float | None
    certificate_code: str | None = Field(description="Verification code of the course's certificate")


class SkillRead(BaseModel):
    name: str
    weight: float = Field(
        description="Sum over its courses of the grade (0-1), or 0.5 for an unassessed course"
    )
    score_percent: float | None = Field(description="Average grade over its assessed courses")
    evidence: list[SkillEvidenceRead]

    @classmethod
    def of(cls, skill: Skill) -> Self:
        return cls(
            name=skill.name,
            weight=skill.weight,
            score_percent=skill.score_percent,
            evidence=[
                SkillEvidenceRead(
                    course_id=c.course.id,
                    title=c.course.title,
                    completed_at=c.completed_at,
                    grade_percent=c.grade_percent,
                    certificate_code=c.certificate.verification_code if c.certificate else None,
                )
                for c in skill.evidence
            ],
        )


class SkillsRead(BaseModel):
    skills: list[SkillRead] = Field(description="Heaviest first")

    @classmethod
    def of(cls, skills: list[Skill]) -> Self:
        return cls(skills=[SkillRead.of(s) for s in skills])
