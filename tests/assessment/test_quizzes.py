"""Quizzes: authoring, attempts, scoring, deadlines, limits, manual grading, concurrency."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from studyhall.assessment.models import QuizAttempt
from studyhall.identity.models import Role
from studyhall.learning.models import LessonCompletion
from tests.assessment.conftest import (
    MULTIPLE,
    SINGLE,
    TEXT,
    QuizCourse,
    assert_no_answer_key,
    put_quiz,
    quiz_body,
    start,
)
from tests.factories import (
    API,
    FakeClock,
    assert_problem,
    count_rows,
    create_course,
    create_lesson,
    create_user,
    enroll_directly,
    events,
    right_answers,
)

# -- authoring -------------------------------------------------------------------------


async def test_staff_creates_then_replaces_the_quiz(
    client: httpx.AsyncClient, quiz_course: QuizCourse
) -> None:
    url = f"{API}/lessons/{quiz_course.quiz_lesson.id}/quiz"
    created = await client.put(url, json=quiz_body(), headers=quiz_course.owner.headers)
    assert created.status_code == 201
    body = created.json()
    assert body["view"] == "staff"
    assert body["revision"] == 1
    assert [q["type"] for q in body["questions"]] == ["single_choice", "multiple_choice"]
    assert [o["is_correct"] for o in body["questions"][0]["options"]] == [False, True, False]
    replaced = await client.put(
        url, json=quiz_body(TEXT, passing_score=80), headers=quiz_course.owner.headers
    )
    assert replaced.status_code == 200
    assert replaced.json()["id"] == body["id"]
    assert replaced.json()["revision"] == 2
    assert replaced.json()["passing_score"] == 80


async def test_students_never_see_the_answer_key(client: httpx.AsyncClient, quiz_course: QuizCourse) -> None:
    await put_quiz(client, quiz_course)
    response = await client.get(
        f"{API}/lessons/{quiz_course.quiz_lesson.id}/quiz", headers=quiz_course.student.headers
    )
    assert response.status_code == 200
    assert response.json()["view"] == "student"
    assert_no_answer_key(response.json())
    assert len(response.json()["questions"][0]["options"]) == 3


@pytest.mark.parametrize(
    "question",
    [
        {**SINGLE, "options": [{"text": "a", "is_correct": True}, {"text": "b", "is_correct": True}]},
        {**MULTIPLE, "options": [{"text": "a"}, {"text": "b"}]},
        {**SINGLE, "options": [{"text": "only", "is_correct": True}]},
        {**TEXT, "options": [{"text": "x"}]},
        {**SINGLE, "type": "essay"},
        {**SINGLE, "points": 0},
    ],
)
async def test_malformed_questions_are_422(
    client: httpx.AsyncClient, quiz_course: QuizCourse, question: dict[str, Any]
) -> None:
    response = await client.put(
        f"{API}/lessons/{quiz_course.quiz_lesson.id}/quiz",
        json=quiz_body(question),
        headers=quiz_course.owner.headers,
    )
    assert_problem(response, 422, "validation_error")


async def test_quiz_bounds_are_validated(client: httpx.AsyncClient, quiz_course: QuizCourse) -> None:
    url = f"{API}/lessons/{quiz_course.quiz_lesson.id}/quiz"
    for bad in ({"passing_score": 101}, {"max_attempts": 0}, {"questions": []}, {"role": "admin"}):
        response = await client.put(url, json={**quiz_body(), **bad}, headers=quiz_course.owner.headers)
        assert response.status_code == 422, bad


async def test_quiz_only_on_quiz_lessons(client: httpx.AsyncClient, quiz_course: QuizCourse) -> None:
    response = await client.put(
        f"{API}/lessons/{quiz_course.text_lesson.id}/quiz",
        json=quiz_body(),
        headers=quiz_course.owner.headers,
    )
    assert_problem(response, 409, "lesson_not_quiz")


async def test_who_may_author_and_read(
    app: FastAPI, client: httpx.AsyncClient, quiz_course: QuizCourse
) -> None:
    url = f"{API}/lessons/{quiz_course.quiz_lesson.id}/quiz"
    other_instructor = await create_user(app, Role.INSTRUCTOR)
    outsider = await create_user(app)
    student_put = await client.put(url, json=quiz_body(), headers=quiz_course.student.headers)
    assert_problem(student_put, 403, "not_course_staff")
    assert (await client.put(url, json=quiz_body(), headers=other_instructor.headers)).status_code == 403
    assert (await client.put(url, json=quiz_body())).status_code == 401
    await put_quiz(client, quiz_course)
    not_enrolled = await client.get(url, headers=outsider.headers)
    assert_problem(not_enrolled, 403, "not_enrolled")

    draft = await create_course(app, quiz_course.owner, status="draft")
    draft_quiz = await create_lesson(app, draft, lesson_type="quiz")
    hidden = await client.put(
        f"{API}/lessons/{draft_quiz.id}/quiz", json=quiz_body(), headers=outsider.headers
    )
    assert_problem(hidden, 404, "lesson_not_found")


async def test_lesson_without_quiz_is_404(client: httpx.AsyncClient, quiz_course: QuizCourse) -> None:
    response = await client.get(
        f"{API}/lessons/{quiz_course.quiz_lesson.id}/quiz", headers=quiz_course.owner.headers
    )
    assert_problem(response, 404, "quiz_not_found")


# -- attempts and scoring --------------------------------------------------------------


async def test_full_pass_completes_the_lesson(
    app: FastAPI, client: httpx.AsyncClient, quiz_course: QuizCourse
) -> None:
    quiz = await put_quiz(client, quiz_course)
    started = await start(client, quiz["id"], quiz_course.student.headers)
    assert started.status_code == 201
    attempt = started.json()
    assert attempt["number"] == 1
    assert attempt["status"] == "in_progress"
    assert attempt["deadline_at"] is None
    assert_no_answer_key(attempt)

    submitted = await client.post(
        f"{API}/attempts/{attempt['id']}/submit",
        json={"answers": right_answers(quiz)},
        headers=quiz_course.student.headers,
    )
    assert submitted.status_code == 200, submitted.text
    result = submitted.json()
    assert result["status"] == "graded"
    assert (result["points"], result["max_points"], result["score_percent"]) == (5.0, 5.0, 100.0)
    assert result["passed"] is True
    assert result["answers_shown"] is True, "passing shows the answers"
    assert all(r["is_correct"] for r in result["results"])
    assert (
        await count_rows(app, LessonCompletion, LessonCompletion.lesson_id == quiz_course.quiz_lesson.id) == 1
    )


async def test_choice_questions_are_all_or_nothing(
    app: FastAPI, client: httpx.AsyncClient, quiz_course: QuizCourse
) -> None:
    quiz = await put_quiz(client, quiz_course, show_answers="after_each_attempt")
    attempt = (await start(client, quiz["id"], quiz_course.student.headers)).json()
    single, multiple = quiz["questions"]
    partly_right = [o["id"] for o in multiple["options"] if o["is_correct"]][:1]
    answers = {single["id"]: [single["options"][1]["id"]], multiple["id"]: partly_right}
    result = (
        await client.post(
            f"{API}/attempts/{attempt['id']}/submit",
            json={"answers": answers},
            headers=quiz_course.student.headers,
        )
    ).json()
    by_question = {r["question_id"]: r for r in result["results"]}
    assert by_question[single["id"]]["points_awarded"] == 2.0
    assert by_question[multiple["id"]]["points_awarded"] == 0.0
    assert by_question[multiple["id"]]["is_correct"] is False
    assert result["score_percent"] == 40.0
    assert result["passed"] is False
    assert await count_rows(app, LessonCompletion) == 0


async def test_unanswered_questions_score_zero(client: httpx.AsyncClient, quiz_course: QuizCourse) -> None:
    quiz = await put_quiz(client, quiz_course)
    attempt = (await start(client, quiz["id"], quiz_course.student.headers)).json()
    result = (
        await client.post(
            f"{API}/attempts/{attempt['id']}/submit",
            json={"answers": {}},
            headers=quiz_course.student.headers,
        )
    ).json()
    assert (result["points"], result["status"], result["passed"]) == (0.0, "graded", False)


UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


@pytest.mark.parametrize(
    "kind",
    ["unknown_question", "unknown_option", "duplicate_option", "too_many_options", "option_list_expected"],
)
async def test_answers_are_checked_against_the_attempt(
    app: FastAPI, client: httpx.AsyncClient, quiz_course: QuizCourse, kind: str
) -> None:
    quiz = await put_quiz(client, quiz_course)
    attempt = (await start(client, quiz["id"], quiz_course.student.headers)).json()
    single, multiple = quiz["questions"]
    question_id, answer = {
        "unknown_question": (UNKNOWN_ID, []),
        "unknown_option": (single["id"], [UNKNOWN_ID]),
        "duplicate_option": (multiple["id"], [multiple["options"][0]["id"]] * 2),
        "too_many_options": (single["id"], [o["id"] for o in single["options"][:2]]),
        "option_list_expected": (single["id"], "4"),
    }[kind]
    response = await client.post(
        f"{API}/attempts/{attempt['id']}/submit",
        json={"answers": {question_id: answer}},
        headers=quiz_course.student.headers,
    )
    body = assert_problem(response, 422, "invalid_answers")
    [error] = body["errors"]
    assert set(error) == {"loc", "msg", "type"}
    assert (error["loc"], error["type"]) == (["body", "answers", question_id], kind)
    assert isinstance(error["msg"], str) and error["msg"]
    assert_no_answer_key(body)
    detail = (await client.get(f"{API}/attempts/{attempt['id']}", headers=quiz_course.student.headers)).json()
    assert detail["status"] == "in_progress"
    assert await count_rows(app, QuizAttempt, QuizAttempt.answers.is_not(None)) == 0


async def test_invalid_answers_lists_every_problem(
    client: httpx.AsyncClient, quiz_course: QuizCourse
) -> None:
    quiz = await put_quiz(client, quiz_course, questions=[SINGLE, TEXT])
    attempt = (await start(client, quiz["id"], quiz_course.student.headers)).json()
    single, text = quiz["questions"]
    response = await client.post(
        f"{API}/attempts/{attempt['id']}/submit",
        json={"answers": {single["id"]: "4", text["id"]: [single["options"][0]["id"]], UNKNOWN_ID: "x"}},
        headers=quiz_course.student.headers,
    )
    assert_problem(response, 422, "invalid_answers")
    assert sorted((e["loc"][-1], e["type"]) for e in response.json()["errors"]) == sorted(
        [
            (single["id"], "option_list_expected"),
            (text["id"], "text_expected"),
            (UNKNOWN_ID, "unknown_question"),
        ]
    )


async def test_second_start_returns_the_open_attempt(
    client: httpx.AsyncClient, quiz_course: QuizCourse
) -> None:
    quiz = await put_quiz(client, quiz_course)
    first = (await start(client, quiz["id"], quiz_course.student.headers)).json()
    again = await start(client, quiz["id"], quiz_course.student.headers)
    assert_problem(again, 409, "attempt_in_progress")
    assert again.json()["attempt"]["id"] == first["id"]
    assert_no_answer_key(again.json())


async def test_double_submit_is_409(client: httpx.AsyncClient, quiz_course: QuizCourse) -> None:
    quiz = await put_quiz(client, quiz_course)
    attempt = (await start(client, quiz["id"], quiz_course.student.headers)).json()
    url = f"{API}/attempts/{attempt['id']}/submit"
    assert (
        await client.post(url, json={"answers": right_answers(quiz)}, headers=quiz_course.student.headers)
    ).status_code == 200
    second = await client.post(url, json={"answers": {}}, headers=quiz_course.student.headers)
    assert_problem(second, 409, "attempt_already_submitted")


async def test_attempt_limit(client: httpx.AsyncClient, quiz_course: QuizCourse) -> None:
    quiz = await put_quiz(client, quiz_course, max_attempts=2)
    for number in (1, 2):
        attempt = (await start(client, quiz["id"], quiz_course.student.headers)).json()
        assert attempt["number"] == number
        await client.post(
            f"{API}/attempts/{attempt['id']}/submit",
            json={"answers": {}},
            headers=quiz_course.student.headers,
        )
    exhausted = await start(client, quiz["id"], quiz_course.student.headers)
    assert_problem(exhausted, 409, "quiz_attempts_exhausted")


async def test_deadline_with_grace_and_expired_attempt_counts(
    client: httpx.AsyncClient, quiz_course: QuizCourse, clock: FakeClock
) -> None:
    quiz = await put_quiz(client, quiz_course, time_limit_minutes=10, max_attempts=2)
    first = (await start(client, quiz["id"], quiz_course.student.headers)).json()
    assert first["deadline_at"] is not None
    clock.advance(minutes=10, seconds=29)  # within the 30 s grace
    within = await client.post(
        f"{API}/attempts/{first['id']}/submit", json={"answers": {}}, headers=quiz_course.student.headers
    )
    assert within.status_code == 200

    second = (await start(client, quiz["id"], quiz_course.student.headers)).json()
    clock.advance(minutes=10, seconds=31)
    late = await client.post(
        f"{API}/attempts/{second['id']}/submit",
        json={"answers": right_answers(quiz)},
        headers=quiz_course.student.headers,
    )
    assert_problem(late, 409, "attempt_expired")
    third = await start(client, quiz["id"], quiz_course.student.headers)
    assert_problem(third, 409, "quiz_attempts_exhausted")
    attempts = (
        await client.get(f"{API}/quizzes/{quiz['id']}/attempts", headers=quiz_course.student.headers)
    ).json()
    assert sorted(a["status"] for a in attempts["items"]) == ["expired", "graded"]


async def test_text_answers_wait_for_review_then_grading_passes(
    app: FastAPI, client: httpx.AsyncClient, quiz_course: QuizCourse
) -> None:
    quiz = await put_quiz(client, quiz_course, questions=[SINGLE, TEXT])
    attempt = (await start(client, quiz["id"], quiz_course.student.headers)).json()
    result = (
        await client.post(
            f"{API}/attempts/{attempt['id']}/submit",
            json={"answers": right_answers(quiz)},
            headers=quiz_course.student.headers,
        )
    ).json()
    assert result["status"] == "pending_review"
    assert result["passed"] is None
    assert result["points"] == 2.0
    assert await count_rows(app, LessonCompletion) == 0

    text_id = quiz["questions"][1]["id"]
    grade_url = f"{API}/attempts/{attempt['id']}/grade"
    too_many = await client.post(grade_url, json={text_id: 6}, headers=quiz_course.owner.headers)
    assert_problem(too_many, 422, "invalid_grade")
    not_text = await client.post(
        grade_url, json={quiz["questions"][0]["id"]: 1}, headers=quiz_course.owner.headers
    )
    assert not_text.status_code == 422
    by_student = await client.post(grade_url, json={text_id: 5}, headers=quiz_course.student.headers)
    assert by_student.status_code == 403

    graded = await client.post(grade_url, json={text_id: 4}, headers=quiz_course.owner.headers)
    assert graded.status_code == 200
    body = graded.json()
    assert (body["status"], body["points"], body["score_percent"], body["passed"]) == (
        "graded",
        6.0,
        85.71,
        True,
    )
    assert (
        await count_rows(app, LessonCompletion, LessonCompletion.user_id == quiz_course.student.user.id) == 1
    )
    assert len(await events(app, "quiz.graded")) == 1


async def test_grading_an_open_attempt_is_409(client: httpx.AsyncClient, quiz_course: QuizCourse) -> None:
    quiz = await put_quiz(client, quiz_course, questions=[TEXT])
    attempt = (await start(client, quiz["id"], quiz_course.student.headers)).json()
    response = await client.post(
        f"{API}/attempts/{attempt['id']}/grade",
        json={quiz["questions"][0]["id"]: 1},
        headers=quiz_course.owner.headers,
    )
    assert_problem(response, 409, "attempt_not_reviewable")


async def test_replacing_the_quiz_keeps_open_attempts_intact(
    client: httpx.AsyncClient, quiz_course: QuizCourse
) -> None:
    old = await put_quiz(client, quiz_course)
    attempt = (await start(client, old["id"], quiz_course.student.headers)).json()
    await put_quiz(client, quiz_course, questions=[TEXT])
    result = await client.post(
        f"{API}/attempts/{attempt['id']}/submit",
        json={"answers": right_answers(old)},
        headers=quiz_course.student.headers,
    )
    assert result.status_code == 200
    assert result.json()["score_percent"] == 100.0
    assert {r["question_id"] for r in result.json()["results"]} == {q["id"] for q in old["questions"]}


async def test_shuffled_per_attempt_but_same_questions(
    app: FastAPI, client: httpx.AsyncClient, quiz_course: QuizCourse
) -> None:
    questions = [{**SINGLE, "text": f"Question {n}"} for n in range(12)]
    quiz = await put_quiz(client, quiz_course, questions=questions, shuffle_questions=True)
    orders = []
    for _ in range(3):
        student = await create_user(app)
        await enroll_directly(app, student, quiz_course.course)
        attempt = (await start(client, quiz["id"], student.headers)).json()
        orders.append([q["id"] for q in attempt["questions"]])
    assert all(sorted(order) == sorted(q["id"] for q in quiz["questions"]) for order in orders)
    assert len({tuple(order) for order in orders}) > 1


async def test_attempt_visibility(app: FastAPI, client: httpx.AsyncClient, quiz_course: QuizCourse) -> None:
    quiz = await put_quiz(client, quiz_course)
    other = await create_user(app)
    await enroll_directly(app, other, quiz_course.course)
    mine = (await start(client, quiz["id"], quiz_course.student.headers)).json()
    await start(client, quiz["id"], other.headers)
    own_list = (
        await client.get(f"{API}/quizzes/{quiz['id']}/attempts", headers=quiz_course.student.headers)
    ).json()
    assert [a["id"] for a in own_list["items"]] == [mine["id"]]
    staff_list = (
        await client.get(f"{API}/quizzes/{quiz['id']}/attempts", headers=quiz_course.owner.headers)
    ).json()
    assert staff_list["total"] == 2
    assert (await client.get(f"{API}/attempts/{mine['id']}", headers=other.headers)).status_code == 404
    stolen = await client.post(
        f"{API}/attempts/{mine['id']}/submit", json={"answers": {}}, headers=other.headers
    )
    assert stolen.status_code == 404
    assert (
        await client.get(f"{API}/attempts/{mine['id']}", headers=quiz_course.owner.headers)
    ).status_code == 200


async def test_staff_and_strangers_cannot_start(
    app: FastAPI, client: httpx.AsyncClient, quiz_course: QuizCourse
) -> None:
    quiz = await put_quiz(client, quiz_course)
    stranger = await create_user(app)
    assert_problem(await start(client, quiz["id"], stranger.headers), 403, "not_enrolled")
    assert (await start(client, quiz["id"], quiz_course.owner.headers)).status_code == 403
    assert (await start(client, "00000000-0000-4000-8000-000000000000", stranger.headers)).status_code == 404


# -- races (real parallel connections) -------------------------------------------------


@pytest.mark.postgresql_only
async def test_concurrent_starts_open_one_attempt(
    app: FastAPI, client: httpx.AsyncClient, quiz_course: QuizCourse
) -> None:
    quiz = await put_quiz(client, quiz_course, max_attempts=1)
    responses = await asyncio.gather(
        *(start(client, quiz["id"], quiz_course.student.headers) for _ in range(8))
    )
    codes = sorted(r.status_code for r in responses)
    assert codes.count(201) == 1, [r.text for r in responses]
    assert all(r.status_code == 409 for r in responses if r.status_code != 201)
    assert await count_rows(app, QuizAttempt) == 1


@pytest.mark.postgresql_only
async def test_concurrent_submits_yield_one_result(
    app: FastAPI, client: httpx.AsyncClient, quiz_course: QuizCourse
) -> None:
    quiz = await put_quiz(client, quiz_course)
    attempt = (await start(client, quiz["id"], quiz_course.student.headers)).json()
    url = f"{API}/attempts/{attempt['id']}/submit"
    responses = await asyncio.gather(
        *(
            client.post(url, json={"answers": right_answers(quiz)}, headers=quiz_course.student.headers)
            for _ in range(6)
        )
    )
    assert sorted(r.status_code for r in responses) == [200] + [409] * 5
    assert await count_rows(app, LessonCompletion) == 1
