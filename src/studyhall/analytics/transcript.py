"""A learner's record of completed courses, the ground of the transcript and the skills
profile: one entry per completed enrollment with its grade and certificate, read in four
queries whatever the number of courses (through learning, assessment and certificates)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.assessment.gradebook import overall_percent_by_course
from studyhall.catalog.models import Course
from studyhall.certificates.models import Certificate
from studyhall.certificates.service import certificates_by_course
from studyhall.core.clock import utcnow
from studyhall.identity.models import User
from studyhall.learning.service import completed_enrollments

PDF_CONTENT_TYPE = "application/pdf"


@dataclass(frozen=True, slots=True)
class CompletedCourse:
    course: Course
    enrolled_at: datetime
    completed_at: datetime
    #: `overall_percent` of the student's graded quizzes and assignments; None: nothing graded.
    grade_percent: float | None
    certificate: Certificate | None


@dataclass(frozen=True, slots=True)
class Transcript:
    student_name: str
    student_email: str
    generated_at: datetime
    courses: list[CompletedCourse]

    @property
    def average_grade_percent(self) -> float | None:
        grades = [c.grade_percent for c in self.courses if c.grade_percent is not None]
        return round(sum(grades) / len(grades), 2) if grades else None


async def completed_courses(session: AsyncSession, user: User) -> list[CompletedCourse]:
    """Courses the user completed (not deleted since), oldest completion first. A course
    completed and left afterwards stays: the completion happened."""
    enrollments = await completed_enrollments(session, user.id)
    course_ids = [course.id for _enrollment, course in enrollments]
    grades = await overall_percent_by_course(session, user.id, course_ids)
    certificates = await certificates_by_course(session, user.id, course_ids)
    return [
        CompletedCourse(
            course=course,
            enrolled_at=enrollment.enrolled_at,
            completed_at=enrollment.completed_at or enrollment.enrolled_at,
            grade_percent=grades.get(course.id),
            certificate=certificates.get(course.id),
        )
        for enrollment, course in enrollments
    ]


async def transcript(session: AsyncSession, user: User) -> Transcript:
    return Transcript(
        student_name=user.full_name,
        student_email=user.email,
        generated_at=utcnow(),
        courses=await completed_courses(session, user),
    )


async def render_pdf(document: Transcript, app_url: str) -> bytes:
    # fpdf2 takes a second or more to import: only processes that render pay for it.
    from studyhall.analytics.transcript_pdf import render_transcript

    return await asyncio.to_thread(render_transcript, document, app_url)


def pdf_filename(user_id: uuid.UUID) -> str:
    return f"transcript-{user_id}.pdf"
