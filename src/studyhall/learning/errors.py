"""Learning's domain errors. Access errors of every course-internal route (`NotEnrolled`,
`NotCourseStaff`) are the catalog's (`catalog.errors`), raised through `catalog.access`."""

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
