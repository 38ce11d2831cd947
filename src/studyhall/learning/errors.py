"""Learning's domain errors. The access errors of every route inside a course (`NotEnrolled`,
`NotCourseStaff`) are the catalog's: import them from `catalog.errors`, never redefine them."""

from __future__ import annotations

from studyhall.core.errors import Conflict, DomainError, NotFound


class AlreadyEnrolled(Conflict):
    code = "already_enrolled"
    title = "Already enrolled"


class CourseNotPublished(Conflict):
    code = "course_not_published"
    title = "The course is not published"


class PaymentRequired(DomainError):
    code = "payment_required"
    status = 402
    title = "Payment required"


class EnrollmentNotFound(NotFound):
    code = "enrollment_not_found"
    title = "Enrollment not found"


class LessonNotVideo(Conflict):
    code = "lesson_not_video"
    title = "The lesson is not a video lesson"


class CompletedByActivity(Conflict):
    code = "completed_by_activity"
    title = "This lesson completes through its quiz or assignment"
