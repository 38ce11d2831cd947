"""Learning's domain errors."""

from __future__ import annotations

from studyhall.core.errors import Conflict, DomainError, NotFound, PermissionDenied


class NotEnrolled(PermissionDenied):
    code = "not_enrolled"
    title = "You are not enrolled in this course"


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


class NotCourseStaff(PermissionDenied):
    code = "forbidden"
    title = "Only the course's staff may do this"
