"""A quiz's `show_answers`: when students see the answer key of their submitted attempts."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from studyhall.assessment.models import Quiz
from tests.assessment.conftest import (
    SINGLE,
    TEXT,
    QuizCourse,
    assert_no_answer_key,
    open_attempt,
    put_quiz,
    quiz_body,
    take,
)
from tests.factories import API, FakeClock, assert_problem, right_answers


def wrong_answers(quiz: dict[str, Any]) -> dict[str, Any]:
    """A wrong option for the first question, nothing for the others: a failing attempt."""
    single = quiz["questions"][0]
    return {single["id"]: [next(o["id"] for o in single["options"] if not o["is_correct"])]}


def correct_ids(question: dict[str, Any]) -> list[str]:
    return sorted(o["id"] for o in question["options"] if o["is_correct"])


async def read(client: httpx.AsyncClient, attempt_id: str, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get(f"{API}/attempts/{attempt_id}", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def listed(
    client: httpx.AsyncClient, quiz: dict[str, Any], headers: dict[str, str]
) -> list[dict[str, Any]]:
    response = await client.get(f"{API}/quizzes/{quiz['id']}/attempts", headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def assert_hidden(payload: dict[str, Any], quiz: dict[str, Any], answers: dict[str, Any]) -> None:
    """No answer key; the student's own answers, points and score are there."""
    assert payload["answers_shown"] is False
    assert_no_answer_key(payload)
    own = {r["question_id"]: r["selected_option_ids"] for r in payload["results"]}
    assert {qid: own[qid] for qid in answers} == answers
    assert {r["question_id"] for r in payload["results"]} == {q["id"] for q in quiz["questions"]}
    assert payload["points"] is not None and payload["score_percent"] is not None


def assert_shown(payload: dict[str, Any], quiz: dict[str, Any]) -> None:
    assert payload["answers_shown"] is True
    by_question = {r["question_id"]: r for r in payload["results"]}
    for question in quiz["questions"]:
        if question["type"] != "text":
            assert by_question[question["id"]]["correct_option_ids"] == correct_ids(question)
        assert "is_correct" in by_question[question["id"]]
        assert "points_awarded" in by_question[question["id"]]


async def test_after_last_attempt_shows_the_key_only_with_the_last_attempt(
    client: httpx.AsyncClient, quiz_course: QuizCourse
) -> None:
    quiz = await put_quiz(client, quiz_course, max_attempts=2)
    assert quiz["show_answers"] == "after_last_attempt", "the default"
    wrong = wrong_answers(quiz)
    student, staff = quiz_course.student.headers, quiz_course.owner.headers

    first_id, first = await take(client, quiz, quiz_course.student, wrong)
    assert (first["passed"], first["points"], first["score_percent"]) == (False, 0.0, 0.0)
    assert_hidden(first, quiz, wrong)
    assert_hidden(await read(client, first_id, student), quiz, wrong)
    assert [a["answers_shown"] for a in await listed(client, quiz, student)] == [False]
    assert_no_answer_key(await listed(client, quiz, student))

    staff_view = await read(client, first_id, staff)
    assert_shown(staff_view, quiz)
    assert staff_view["results"][0]["is_correct"] is False
    assert [a["answers_shown"] for a in await listed(client, quiz, staff)] == [True]

    _, last = await take(client, quiz, quiz_course.student, wrong)
    assert last["passed"] is False
    assert_shown(last, quiz)
    assert_shown(await read(client, first_id, student), quiz)
    assert [a["answers_shown"] for a in await listed(client, quiz, student)] == [True, True]


async def test_an_open_last_attempt_keeps_the_key_hidden_until_it_expires(
    client: httpx.AsyncClient, quiz_course: QuizCourse, clock: FakeClock
) -> None:
    quiz = await put_quiz(client, quiz_course, max_attempts=2, time_limit_minutes=10)
    wrong = wrong_answers(quiz)
    first_id, first = await take(client, quiz, quiz_course.student, wrong)
    assert_hidden(first, quiz, wrong)
    await open_attempt(client, quiz, quiz_course.student)  # the last attempt, left open
    assert_hidden(await read(client, first_id, quiz_course.student.headers), quiz, wrong)

    clock.advance(minutes=11)  # the open attempt expires: no attempt is left
    assert_shown(await read(client, first_id, quiz_course.student.headers), quiz)


async def test_passing_shows_the_key_and_unlimited_attempts_never_run_out(
    client: httpx.AsyncClient, quiz_course: QuizCourse
) -> None:
    quiz = await put_quiz(client, quiz_course)  # unlimited attempts
    wrong = wrong_answers(quiz)
    failed = []
    for _ in range(3):
        attempt_id, result = await take(client, quiz, quiz_course.student, wrong)
        assert_hidden(result, quiz, wrong)
        failed.append(attempt_id)
    assert_hidden(await read(client, failed[0], quiz_course.student.headers), quiz, wrong)

    _, passed = await take(client, quiz, quiz_course.student, right_answers(quiz))
    assert passed["passed"] is True
    assert_shown(passed, quiz)
    assert_shown(await read(client, failed[0], quiz_course.student.headers), quiz)


async def test_after_each_attempt_shows_the_key_at_once(
    client: httpx.AsyncClient, quiz_course: QuizCourse
) -> None:
    quiz = await put_quiz(client, quiz_course, max_attempts=3, show_answers="after_each_attempt")
    attempt_id, result = await take(client, quiz, quiz_course.student, wrong_answers(quiz))
    assert result["passed"] is False
    assert_shown(result, quiz)
    assert [r["is_correct"] for r in result["results"]] == [False, False]
    assert [r["points_awarded"] for r in result["results"]] == [0.0, 0.0]
    assert_shown(await read(client, attempt_id, quiz_course.student.headers), quiz)
    assert [a["answers_shown"] for a in await listed(client, quiz, quiz_course.student.headers)] == [True]


async def test_never_hides_the_key_from_students_but_not_from_staff(
    client: httpx.AsyncClient, quiz_course: QuizCourse
) -> None:
    quiz = await put_quiz(client, quiz_course, questions=[SINGLE, TEXT], max_attempts=2, show_answers="never")
    wrong = wrong_answers(quiz)
    student, staff = quiz_course.student.headers, quiz_course.owner.headers
    failed_id, failed = await take(client, quiz, quiz_course.student, wrong)
    assert_hidden(failed, quiz, wrong)

    answers = right_answers(quiz)
    last_id, pending = await take(client, quiz, quiz_course.student, answers)  # passed, and no attempt left
    assert pending["status"] == "pending_review"
    assert_no_answer_key(pending)
    assert pending["answers_shown"] is False
    text_id = quiz["questions"][1]["id"]
    graded = await client.post(f"{API}/attempts/{last_id}/grade", json={text_id: 5}, headers=staff)
    assert graded.status_code == 200
    assert graded.json()["passed"] is True
    assert_shown(graded.json(), quiz)

    for attempt_id in (failed_id, last_id):
        mine = await read(client, attempt_id, student)
        assert mine["answers_shown"] is False
        assert_no_answer_key(mine)
        assert_shown(await read(client, attempt_id, staff), quiz)
    final = await read(client, last_id, student)
    assert (final["passed"], final["score_percent"]) == (True, 100.0)
    assert {r["question_id"]: r["text_answer"] for r in final["results"]}[text_id] == answers[text_id]
    assert [a["answers_shown"] for a in await listed(client, quiz, student)] == [False, False]


async def test_show_answers_is_stored_returned_and_validated(
    app: FastAPI, client: httpx.AsyncClient, quiz_course: QuizCourse
) -> None:
    url = f"{API}/lessons/{quiz_course.quiz_lesson.id}/quiz"
    created = await client.put(url, json=quiz_body(show_answers="never"), headers=quiz_course.owner.headers)
    assert (created.status_code, created.json()["show_answers"]) == (201, "never")
    as_student = await client.get(url, headers=quiz_course.student.headers)
    assert (as_student.json()["view"], as_student.json()["show_answers"]) == ("student", "never")

    bad = await client.put(url, json=quiz_body(show_answers="sometimes"), headers=quiz_course.owner.headers)
    assert_problem(bad, 422, "validation_error")
    assert bad.json()["errors"][0]["loc"] == ["body", "show_answers"]

    replaced = await client.put(url, json=quiz_body(), headers=quiz_course.owner.headers)
    assert (replaced.status_code, replaced.json()["show_answers"]) == (200, "after_last_attempt")
    async with app.state.database.sessionmaker() as session:
        stored = await session.scalar(
            select(Quiz.show_answers).where(Quiz.id == uuid.UUID(created.json()["id"]))
        )
    assert stored == "after_last_attempt"
