"""GET /courses/{id}/grades/me: a student's own grades, and nobody else's."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from studyhall.catalog.models import Lesson
from studyhall.identity.models import Role
from tests.assessment.conftest import (
    SINGLE,
    TEXT,
    QuizCourse,
    assert_no_answer_key,
    hand_in,
    post_assignment,
    quiz_body,
    start,
    take,
)
from tests.factories import (
    API,
    FakeClock,
    assert_problem,
    count_statements,
    create_course,
    create_lesson,
    create_user,
    enroll_directly,
    right_answers,
)


def grades_url(qc: QuizCourse) -> str:
    return f"{API}/courses/{qc.course.id}/grades/me"


async def quiz_on(
    client: httpx.AsyncClient, qc: QuizCourse, lesson: Lesson, *questions: dict[str, Any]
) -> dict[str, Any]:
    response = await client.put(
        f"{API}/lessons/{lesson.id}/quiz", json=quiz_body(*questions), headers=qc.owner.headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def assignment(client: httpx.AsyncClient, qc: QuizCourse, title: str, due_in_days: int) -> str:
    due = FakeClock().now + timedelta(days=due_in_days)
    return str((await post_assignment(client, qc, title=title, due_at=due.isoformat()))["id"])


async def grade(
    client: httpx.AsyncClient, qc: QuizCourse, submission_id: str, points: float, feedback: str
) -> None:
    response = await client.post(
        f"{API}/submissions/{submission_id}/grade",
        json={"points": points, "feedback": feedback},
        headers=qc.owner.headers,
    )
    assert response.status_code == 200, response.text


async def test_my_grades_in_every_state(
    app: FastAPI, client: httpx.AsyncClient, quiz_course: QuizCourse
) -> None:
    qc = quiz_course
    me, classmate = qc.student, await create_user(app)
    await enroll_directly(app, classmate, qc.course)
    graded_quiz = await quiz_on(client, qc, qc.quiz_lesson)
    pending_quiz = await quiz_on(
        client, qc, await create_lesson(app, qc.course, lesson_type="quiz"), SINGLE, TEXT
    )
    open_quiz = await quiz_on(client, qc, await create_lesson(app, qc.course, lesson_type="quiz"))
    untouched_quiz = await quiz_on(client, qc, await create_lesson(app, qc.course, lesson_type="quiz"))
    graded_work = await assignment(client, qc, "Essay", 1)
    submitted_work = await assignment(client, qc, "Report", 2)
    untouched_work = await assignment(client, qc, "Project", 3)
    deleted_work = await assignment(client, qc, "Dropped", 4)
    assert (
        await client.delete(f"{API}/assignments/{deleted_work}", headers=qc.owner.headers)
    ).status_code == 204

    await take(client, graded_quiz, me, right_answers(graded_quiz))  # 100 %: the best counts
    await take(client, graded_quiz, me, {})  # then 0 %: the latest does not
    await take(client, pending_quiz, me, right_answers(pending_quiz))
    await start(client, open_quiz["id"], me.headers)
    await grade(client, qc, (await hand_in(client, graded_work, me)).json()["id"], 7, "Good structure")
    await hand_in(client, submitted_work, me)
    # The classmate's work must not show up in my grades.
    await take(client, untouched_quiz, classmate, right_answers(untouched_quiz))
    await grade(
        client, qc, (await hand_in(client, submitted_work, classmate)).json()["id"], 9, "Their feedback"
    )

    response = await client.get(grades_url(qc), headers=me.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["course_id"] == str(qc.course.id)
    rows = [
        (i["kind"], i["id"], i["status"], i["score_percent"], i["points"], i["max_points"], i["passed"])
        for i in body["items"]
    ]
    assert rows == [
        ("quiz", graded_quiz["id"], "graded", 100.0, 5.0, 5.0, True),
        ("quiz", pending_quiz["id"], "pending_review", None, None, 7.0, None),
        ("quiz", open_quiz["id"], "in_progress", None, None, 5.0, None),
        ("quiz", untouched_quiz["id"], "not_started", None, None, 5.0, None),
        ("assignment", graded_work, "graded", 70.0, 7.0, 10.0, None),
        ("assignment", submitted_work, "submitted", None, None, 10.0, None),
        ("assignment", untouched_work, "not_started", None, None, 10.0, None),
    ]
    by_id = {item["id"]: item for item in body["items"]}
    assert by_id[graded_work]["feedback"] == "Good structure"
    assert by_id[graded_work]["graded_at"] is not None
    assert by_id[graded_quiz["id"]]["graded_at"] is not None
    assert [by_id[i]["feedback"] for i in (submitted_work, untouched_work)] == [None, None]
    assert [i["title"] for i in body["items"]][4:] == ["Essay", "Report", "Project"]
    assert body["overall_percent"] == 80.0, "(5 + 7) points of (5 + 10)"
    assert_no_answer_key(body)
    assert "Their feedback" not in response.text

    theirs = (await client.get(grades_url(qc), headers=classmate.headers)).json()
    assert {i["id"]: i["status"] for i in theirs["items"]}[submitted_work] == "graded"
    assert theirs["overall_percent"] == 93.33, "(5 + 9) points of (5 + 10): their quiz and report"


async def test_nothing_graded_yet(client: httpx.AsyncClient, quiz_course: QuizCourse) -> None:
    empty = (await client.get(grades_url(quiz_course), headers=quiz_course.student.headers)).json()
    assert (empty["items"], empty["overall_percent"]) == ([], None)
    quiz = await quiz_on(client, quiz_course, quiz_course.quiz_lesson, SINGLE, TEXT)
    await take(client, quiz, quiz_course.student, right_answers(quiz))
    pending = (await client.get(grades_url(quiz_course), headers=quiz_course.student.headers)).json()
    assert [i["status"] for i in pending["items"]] == ["pending_review"]
    assert pending["overall_percent"] is None


async def test_who_may_read_my_grades(
    app: FastAPI, client: httpx.AsyncClient, quiz_course: QuizCourse
) -> None:
    outsider = await create_user(app)
    admin = await create_user(app, Role.ADMIN)
    for actor in (outsider, quiz_course.owner, admin):
        assert_problem(await client.get(grades_url(quiz_course), headers=actor.headers), 403, "not_enrolled")
    draft = await create_course(app, await create_user(app, Role.INSTRUCTOR), status="draft")
    hidden = await client.get(f"{API}/courses/{draft.id}/grades/me", headers=quiz_course.student.headers)
    assert_problem(hidden, 404, "course_not_found")
    unknown = await client.get(
        f"{API}/courses/00000000-0000-4000-8000-000000000000/grades/me", headers=outsider.headers
    )
    assert_problem(unknown, 404, "course_not_found")
    assert_problem(await client.get(grades_url(quiz_course)), 401, "not_authenticated")


async def count_queries(app: FastAPI, client: httpx.AsyncClient, qc: QuizCourse) -> int:
    with count_statements(app) as statements:
        response = await client.get(grades_url(qc), headers=qc.student.headers)
    assert response.status_code == 200
    return len(statements)


async def test_query_count_does_not_grow_with_items_or_attempts(
    app: FastAPI, client: httpx.AsyncClient, quiz_course: QuizCourse
) -> None:
    quiz = await quiz_on(client, quiz_course, quiz_course.quiz_lesson)
    await take(client, quiz, quiz_course.student, {})
    await hand_in(client, await assignment(client, quiz_course, "Essay", 1), quiz_course.student)
    with_one = await count_queries(app, client, quiz_course)
    for n in range(4):
        more = await quiz_on(
            client, quiz_course, await create_lesson(app, quiz_course.course, lesson_type="quiz")
        )
        await take(client, more, quiz_course.student, {})
        await take(client, more, quiz_course.student, right_answers(more))
        await hand_in(client, await assignment(client, quiz_course, f"Essay {n}", 2 + n), quiz_course.student)
    assert await count_queries(app, client, quiz_course) == with_one
