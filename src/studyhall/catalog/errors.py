"""Catalog's domain errors."""

from __future__ import annotations

from studyhall.core.errors import NotFound


class CourseNotFound(NotFound):
    code = "course_not_found"
    title = "Course not found"


class ModuleNotFound(NotFound):
    code = "module_not_found"
    title = "Module not found"


class LessonNotFound(NotFound):
    code = "lesson_not_found"
    title = "Lesson not found"
