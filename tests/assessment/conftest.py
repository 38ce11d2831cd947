"""Assessment fixtures: a course with a quiz lesson and an enrolled student; quiz helpers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from studyhall.catalog.models import Course, Lesson
from studyhall.identity.models import Role
from tests.factories import (
    API,
    Actor,
    course_lessons,
    create_course,
    create_lesson,
    create_user,
    enroll_directly,
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


async def put_quiz(client: httpx.AsyncClient, qc: QuizCourse, **settings: Any) -> dict[str, Any]:
    questions = settings.pop("questions", [SINGLE, MULTIPLE])
    response = await client.put(
        f"{API}/lessons/{qc.quiz_lesson.id}/quiz",
        json=quiz_body(*questions, **settings),
        headers=qc.owner.headers,
    )
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


async def start(client: httpx.AsyncClient, quiz_id: str, headers: dict[str, str]) -> httpx.Response:
    return await client.post(f"{API}/quizzes/{quiz_id}/attempts", headers=headers)


async def open_attempt(client: httpx.AsyncClient, quiz: dict[str, Any], actor: Actor) -> str:
    started = await start(client, quiz["id"], actor.headers)
    assert started.status_code == 201, started.text
    return str(started.json()["id"])


async def take(
    client: httpx.AsyncClient, quiz: dict[str, Any], actor: Actor, answers: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """Start and submit one attempt: (attempt id, submission result)."""
    attempt_id = await open_attempt(client, quiz, actor)
    submitted = await submit(client, attempt_id, answers, actor.headers)
    assert submitted.status_code == 200, submitted.text
    return attempt_id, dict(submitted.json())


async def submit(
    client: httpx.AsyncClient, attempt_id: str, answers: dict[str, Any], headers: dict[str, str]
) -> httpx.Response:
    return await client.post(
        f"{API}/attempts/{attempt_id}/submit", json={"answers": answers}, headers=headers
    )


#: What tells a student which answers were right.
ANSWER_KEY_FIELDS = ("is_correct", "correct_option_ids", "points_awarded")


def assert_no_answer_key(payload: Any) -> None:
    text = str(payload)
    assert not [field for field in ANSWER_KEY_FIELDS if field in text], payload


async def post_assignment(client: httpx.AsyncClient, qc: QuizCourse, **fields: Any) -> dict[str, Any]:
    """An assignment the course owner creates through the API (an essay worth 10 points)."""
    body = {"title": "Essay", "instructions": "Write 500 words.", "max_points": 10, **fields}
    response = await client.post(
        f"{API}/courses/{qc.course.id}/assignments", json=body, headers=qc.owner.headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def hand_in(client: httpx.AsyncClient, assignment_id: str, actor: Actor) -> httpx.Response:
    return await client.post(
        f"{API}/assignments/{assignment_id}/submissions", json={"text": "My essay"}, headers=actor.headers
    )
