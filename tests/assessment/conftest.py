"""Assessment fixtures: a course with a quiz lesson, enrolled students, a controllable clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update

from studyhall.catalog.models import Course, Lesson
from studyhall.core.db import utcnow
from studyhall.identity.models import Role
from studyhall.learning.models import Enrollment
from tests.factories import Actor, course_lessons, create_course, create_user


class FakeClock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(app: FastAPI) -> FakeClock:
    fake = FakeClock()
    app.state.clock = fake
    return fake


async def enroll(app: FastAPI, actor: Actor, course: Course) -> None:
    async with app.state.database.sessionmaker() as session, session.begin():
        session.add(Enrollment(user_id=actor.user.id, course_id=course.id))
        await session.execute(
            update(Course).where(Course.id == course.id).values(enrollment_count=Course.enrollment_count + 1)
        )


@dataclass
class QuizCourse:
    owner: Actor
    student: Actor
    course: Course
    quiz_lesson: Lesson
    text_lesson: Lesson


@pytest.fixture
async def quiz_course(app: FastAPI) -> QuizCourse:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, owner, lessons=1)
    from tests.factories import create_lesson

    quiz_lesson = await create_lesson(app, course, lesson_type="quiz")
    text_lesson = (await course_lessons(app, course))[0]
    await enroll(app, student, course)
    return QuizCourse(owner, student, course, quiz_lesson, text_lesson)


SINGLE = {
    "type": "single_choice",
    "text": "2 + 2 = ?",
    "points": 2,
    "options": [{"text": "3"}, {"text": "4", "is_correct": True}, {"text": "5"}],
}
MULTIPLE = {
    "type": "multiple_choice",
    "text": "Which are prime?",
    "points": 3,
    "options": [
        {"text": "2", "is_correct": True},
        {"text": "3", "is_correct": True},
        {"text": "4"},
    ],
}
TEXT = {"type": "text", "text": "Explain recursion.", "points": 5}


def quiz_body(*questions: dict[str, Any], **settings: Any) -> dict[str, Any]:
    return {
        "title": "Checkpoint",
        "passing_score": 60,
        "questions": list(questions) or [SINGLE, MULTIPLE],
        **settings,
    }


async def count_rows(app: FastAPI, model: Any, *where: Any) -> int:
    async with app.state.database.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)
