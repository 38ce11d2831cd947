"""Catalog's domain errors."""

from __future__ import annotations

from studyhall.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied


class CourseNotFound(NotFound):
    code = "course_not_found"
    title = "Course not found"


class ModuleNotFound(NotFound):
    code = "module_not_found"
    title = "Module not found"


class LessonNotFound(NotFound):
    code = "lesson_not_found"
    title = "Lesson not found"


class VersionNotFound(NotFound):
    code = "version_not_found"
    title = "Lesson version not found"


class InstructorNotFound(NotFound):
    code = "instructor_not_found"
    title = "Not a co-instructor of this course"


class NotCourseStaff(PermissionDenied):
    code = "not_course_staff"
    title = "Only the course's staff may do this"


class NotEnrolled(PermissionDenied):
    """The caller sees the course but is not actively enrolled in it (catalog, learning and
    assessment all answer this one)."""

    code = "not_enrolled"
    title = "Enroll in the course first"


class OrganizationForbidden(PermissionDenied):
    code = "organization_forbidden"
    title = "You may only place courses in your own organization"


class CourseEmpty(Conflict):
    code = "course_empty"
    title = "A course needs at least one lesson to be published"


class NotDeleted(Conflict):
    code = "not_deleted"
    title = "Nothing to restore: it is not deleted"


class ParentDeleted(Conflict):
    code = "parent_deleted"
    title = "Restore the module it belongs to first"


class AlreadyInstructor(Conflict):
    code = "already_instructor"
    title = "Already teaches this course"


class InvalidLessonOrder(InvalidInput):
    code = "invalid_lesson_order"
    title = "lesson_ids must list exactly the course's lessons, once each"


class InvalidModule(InvalidInput):
    code = "invalid_module"
    title = "No such module in this course"


class NotAnInstructor(InvalidInput):
    code = "not_an_instructor"
    title = "Co-instructors must be active users with the instructor role"


class OrganizationRequired(InvalidInput):
    code = "organization_required"
    title = "Organization-only courses need an organization_id"


class ContentNotForLessonType(InvalidInput):
    """A field that belongs to another type of lesson (`file_id` is for `file` lessons)."""

    code = "content_not_for_lesson_type"
    title = "This lesson type does not take this content"
