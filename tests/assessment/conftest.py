"""Assessment fixtures: a course with a quiz lesson and an enrolled student; quiz helpers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from studyhall.catalog.models import Course, Lesson
from studyhall.identity.models import Role
from tests.factories import Actor, course_lessons, create_course, create_user, enroll_directly


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
    await enroll_directly(app, student, course)
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


async def put_quiz(client: httpx.AsyncClient, qc: QuizCourse, **settings: Any) -> dict[str, Any]:
    questions = settings.pop("questions", [SINGLE, MULTIPLE])
    response = await client.put(
        f"/api/v1/lessons/{qc.quiz_lesson.id}/quiz",
        json=quiz_body(*questions, **settings),
        headers=qc.owner.headers,
    )
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


async def start(client: httpx.AsyncClient, quiz_id: str, headers: dict[str, str]) -> httpx.Response:
    return await client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=headers)


def right_answers(quiz: dict[str, Any]) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for question in quiz["questions"]:
        if question["type"] == "text":
            answers[question["id"]] = "A function that calls itself."
        else:
            answers[question["id"]] = [o["id"] for o in question["options"] if o["is_correct"]]
    return answers


async def submit(
    client: httpx.AsyncClient, attempt_id: str, answers: dict[str, Any], headers: dict[str, str]
) -> httpx.Response:
    return await client.post(
        f"/api/v1/attempts/{attempt_id}/submit", json={"answers": answers}, headers=headers
    )


#: What tells a student which answers were right.
ANSWER_KEY_FIELDS = ("is_correct", "correct_option_ids", "points_awarded")


def assert_no_answer_key(payload: Any) -> None:
    text = str(payload)
    assert not [field for field in ANSWER_KEY_FIELDS if field in text], payload
