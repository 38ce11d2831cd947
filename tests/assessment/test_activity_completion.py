"""Quiz and assignment lessons complete through their activity, and that can complete the course."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from studyhall.catalog.models import Lesson
from studyhall.learning.models import LessonCompletion
from tests.assessment.conftest import (
    SINGLE,
    TEXT,
    QuizCourse,
    hand_in,
    post_assignment,
    put_quiz,
    start,
    submit,
)
from tests.factories import (
    API,
    Actor,
    assert_problem,
    complete,
    count_rows,
    create_lesson,
    create_user,
    enroll_directly,
    enrollment_row,
    events,
    right_answers,
    soft_delete_lesson,
)


async def completed(app: FastAPI, actor: Actor, lesson: Lesson) -> bool:
    where = (LessonCompletion.user_id == actor.user.id, LessonCompletion.lesson_id == lesson.id)
    return await count_rows(app, LessonCompletion, *where) == 1


async def assert_course_completed_once(app: FastAPI, qc: QuizCourse) -> None:
    row = await enrollment_row(app, qc.student, qc.course)
    assert row is not None
    assert row.completed_at is not None
    assert [e["user_id"] for e in await events(app, "course.completed")] == [qc.student.id]


async def assert_course_not_completed(app: FastAPI, qc: QuizCourse) -> None:
    row = await enrollment_row(app, qc.student, qc.course)
    assert row is not None
    assert row.completed_at is None
    assert await events(app, "course.completed") == []


async def test_submitting_the_linked_assignment_completes_its_lesson_and_the_course(
    app: FastAPI, client: httpx.AsyncClient, quiz_course: QuizCourse
) -> None:
    qc = quiz_course
    assignment_lesson = await create_lesson(app, qc.course, lesson_type="assignment")
    assignment = await post_assignment(client, qc, lesson_id=str(assignment_lesson.id))
    quiz = await put_quiz(client, qc)
    attempt = (await start(client, quiz["id"], qc.student.headers)).json()
    assert (await submit(client, attempt["id"], right_answers(quiz), qc.student.headers)).status_code == 200
    assert (await complete(client, qc.student, qc.text_lesson)).status_code == 200
    classmate = await create_user(app)
    await enroll_directly(app, classmate, qc.course)
    assert_problem(await complete(client, qc.student, assignment_lesson), 409, "completed_by_activity")
    await assert_course_not_completed(app, qc)

    first = await hand_in(client, assignment["id"], qc.student)
    assert first.status_code == 201
    assert await completed(app, qc.student, assignment_lesson)
    assert not await completed(app, classmate, assignment_lesson)
    await assert_course_completed_once(app, qc)
    progress = (await client.get(f"{API}/courses/{qc.course.id}/progress", headers=qc.student.headers)).json()
    assert (progress["completed_lessons"], progress["total_lessons"]) == (3, 3)

    assert (await hand_in(client, assignment["id"], qc.student)).status_code == 200  # a resubmission
    graded = await client.post(
        f"{API}/submissions/{first.json()['id']}/grade", json={"points": 9}, headers=qc.owner.headers
    )
    assert graded.status_code == 200
    assert await count_rows(app, LessonCompletion, LessonCompletion.lesson_id == assignment_lesson.id) == 1
    await assert_course_completed_once(app, qc)


async def test_an_assignment_linked_to_another_kind_of_lesson_completes_nothing(
    app: FastAPI, client: httpx.AsyncClient, quiz_course: QuizCourse
) -> None:
    assignment = await post_assignment(client, quiz_course, lesson_id=str(quiz_course.text_lesson.id))
    assert (await hand_in(client, assignment["id"], quiz_course.student)).status_code == 201
    assert await count_rows(app, LessonCompletion) == 0


async def test_an_assignment_on_a_deleted_lesson_still_takes_submissions(
    app: FastAPI, client: httpx.AsyncClient, quiz_course: QuizCourse
) -> None:
    assignment_lesson = await create_lesson(app, quiz_course.course, lesson_type="assignment")
    assignment = await post_assignment(client, quiz_course, lesson_id=str(assignment_lesson.id))
    await soft_delete_lesson(app, assignment_lesson)
    assert (await hand_in(client, assignment["id"], quiz_course.student)).status_code == 201
    assert await count_rows(app, LessonCompletion) == 0


async def test_passing_the_last_quiz_completes_the_course(
    app: FastAPI, client: httpx.AsyncClient, quiz_course: QuizCourse
) -> None:
    quiz = await put_quiz(client, quiz_course)
    await complete(client, quiz_course.student, quiz_course.text_lesson)
    failed = (await start(client, quiz["id"], quiz_course.student.headers)).json()
    await submit(client, failed["id"], {}, quiz_course.student.headers)
    assert not await completed(app, quiz_course.student, quiz_course.quiz_lesson)
    await assert_course_not_completed(app, quiz_course)

    passed = (await start(client, quiz["id"], quiz_course.student.headers)).json()
    result = await submit(client, passed["id"], right_answers(quiz), quiz_course.student.headers)
    assert result.json()["passed"] is True
    assert await completed(app, quiz_course.student, quiz_course.quiz_lesson)
    await assert_course_completed_once(app, quiz_course)


async def test_a_pending_attempt_passing_on_review_completes_the_course(
    app: FastAPI, client: httpx.AsyncClient, quiz_course: QuizCourse
) -> None:
    quiz = await put_quiz(client, quiz_course, questions=[SINGLE, TEXT])
    await complete(client, quiz_course.student, quiz_course.text_lesson)
    attempt = (await start(client, quiz["id"], quiz_course.student.headers)).json()
    pending = await submit(client, attempt["id"], right_answers(quiz), quiz_course.student.headers)
    assert pending.json()["status"] == "pending_review"
    assert not await completed(app, quiz_course.student, quiz_course.quiz_lesson)
    await assert_course_not_completed(app, quiz_course)

    text_id = quiz["questions"][1]["id"]
    graded = await client.post(
        f"{API}/attempts/{attempt['id']}/grade", json={text_id: 5}, headers=quiz_course.owner.headers
    )
    assert graded.json()["passed"] is True
    assert await completed(app, quiz_course.student, quiz_course.quiz_lesson)
    await assert_course_completed_once(app, quiz_course)


async def test_grading_a_student_who_left_the_course(
    app: FastAPI, client: httpx.AsyncClient, quiz_course: QuizCourse
) -> None:
    quiz = await put_quiz(client, quiz_course, questions=[SINGLE, TEXT])
    attempt = (await start(client, quiz["id"], quiz_course.student.headers)).json()
    await submit(client, attempt["id"], right_answers(quiz), quiz_course.student.headers)
    left = await client.delete(
        f"{API}/courses/{quiz_course.course.id}/enroll", headers=quiz_course.student.headers
    )
    assert left.status_code == 204

    text_id = quiz["questions"][1]["id"]
    graded = await client.post(
        f"{API}/attempts/{attempt['id']}/grade", json={text_id: 5}, headers=quiz_course.owner.headers
    )
    assert graded.status_code == 200, graded.text
    assert (graded.json()["status"], graded.json()["passed"]) == ("graded", True)
    assert await count_rows(app, LessonCompletion) == 0, "no enrollment to complete"
    assert await events(app, "course.completed") == []
