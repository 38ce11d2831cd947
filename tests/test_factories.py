"""The shared helper library: its factories and the catalog loaders behave as other domains'
tests assume, and it is the only copy of each helper."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from fastapi import FastAPI

from studyhall.catalog.access import load_course, load_lesson
from studyhall.catalog.errors import LessonNotFound
from studyhall.identity.models import Role
from tests.factories import course_lessons, create_course, create_lesson, create_user


async def test_course_factory_and_loaders(app: FastAPI) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, owner, lessons=2)
    extra = await create_lesson(app, course, lesson_type="video")
    lessons = await course_lessons(app, course)
    assert [lesson.position for lesson in lessons] == [0, 1, 2]
    async with app.state.database.sessionmaker() as session:
        context = await load_course(session, course.id)
        assert context.course.lesson_count == 3
        assert context.is_staff(owner.user)
        assert not context.is_staff(student.user)
        assert context.is_visible_to(student.user)
        assert context.is_visible_to(None)
        lesson_context = await load_lesson(session, extra.id)
        assert lesson_context.course.course.id == course.id
        with pytest.raises(LessonNotFound):
            await load_lesson(session, course.id)


async def test_draft_course_is_visible_only_to_staff(app: FastAPI) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, owner, status="draft")
    async with app.state.database.sessionmaker() as session:
        context = await load_course(session, course.id)
    assert context.is_visible_to(owner.user)
    assert not context.is_visible_to(student.user)
    assert not context.is_visible_to(None)


def _top_level_names(path: Path) -> set[str]:
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
    return names


def test_helpers_are_defined_once() -> None:
    """Helpers live in tests/factories.py; no module defines a second `assert_problem`, `API`,
    statement counter, event reader or factory."""
    tests = Path(__file__).parent
    library = tests / "factories.py"
    shared = _top_level_names(library) - {"annotations"}
    copies = {
        str(path.relative_to(tests)): sorted(found)
        for path in sorted(tests.rglob("*.py"))
        if path != library and (found := _top_level_names(path) & shared)
    }
    assert copies == {}
    assert {"API", "assert_problem", "count_statements", "events", "fresh_row"} <= shared
