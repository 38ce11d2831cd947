"""Assignments, submissions, grading and the gradebook (JSON and CSV)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import httpx
from fastapi import FastAPI

from studyhall.assessment.models import Assignment, Submission
from studyhall.identity.models import Role
from tests.assessment.conftest import QuizCourse, post_assignment, quiz_body
from tests.factories import (
    API,
    FakeClock,
    assert_problem,
    count_rows,
    count_statements,
    create_course,
    create_file,
    create_organization,
    create_user,
    enroll_directly,
    events,
)


async def test_staff_create_and_members_read(
    app: FastAPI, client: httpx.AsyncClient, quiz_course: QuizCourse
) -> None:
    created = await post_assignment(client, quiz_course, lesson_id=str(quiz_course.text_lesson.id))
    assert created["lesson_id"] == str(quiz_course.text_lesson.id)
    listed = await client.get(
        f"{API}/courses/{quiz_course.course.id}/assignments", headers=quiz_course.student.headers
    )
    assert listed.status_code == 200
    assert [a["id"] for a in listed.json()["items"]] == [created["id"]]
    single = await client.get(f"{API}/assignments/{created['id']}", headers=quiz_course.student.headers)
    assert single.json()["title"] == "Essay"
    outsider = await create_user(app)
    denied = await client.get(f"{API}/assignments/{created['id']}", headers=outsider.headers)
    assert_problem(denied, 403, "not_enrolled")


async def test_create_rules(app: FastAPI, client: httpx.AsyncClient, quiz_course: QuizCourse) -> None:
    url = f"{API}/courses/{quiz_course.course.id}/assignments"
    body = {"title": "Essay", "max_points": 10}
    assert (await client.post(url, json=body, headers=quiz_course.student.headers)).status_code == 403
    assert (
        await client.post(url, json={**body, "max_points": 0}, headers=quiz_course.owner.headers)
    ).status_code == 422
    other_course = await create_course(app, quiz_course.owner, lessons=1)
    from tests.factories import course_lessons

    foreign_lesson = (await course_lessons(app, other_course))[0]
    foreign = await client.post(
        url, json={**body, "lesson_id": str(foreign_lesson.id)}, headers=quiz_course.owner.headers
    )
    assert_problem(foreign, 422, "lesson_not_in_course")
    draft = await create_course(app, quiz_course.owner, status="draft")
    hidden = await client.post(
        f"{API}/courses/{draft.id}/assignments", json=body, headers=quiz_course.student.headers
    )
    assert_problem(hidden, 404, "course_not_found")
    assert await count_rows(app, Assignment) == 0


async def test_update_and_soft_delete(
    app: FastAPI, client: httpx.AsyncClient, quiz_course: QuizCourse
) -> None:
    created = await post_assignment(client, quiz_course)
    url = f"{API}/assignments/{created['id']}"
    patched = await client.patch(
        url, json={"title": "Long essay", "max_points": 20}, headers=quiz_course.owner.headers
    )
    assert (patched.json()["title"], patched.json()["max_points"]) == ("Long essay", 20.0)
    assert (
        await client.patch(url, json={"title": None}, headers=quiz_course.owner.headers)
    ).status_code == 422
    assert (
        await client.patch(url, json={"title": "x"}, headers=quiz_course.student.headers)
    ).status_code == 403
    assert (await client.delete(url, headers=quiz_course.student.headers)).status_code == 403
    assert (await client.delete(url, headers=quiz_course.owner.headers)).status_code == 204
    gone = await client.get(url, headers=quiz_course.owner.headers)
    assert_problem(gone, 404, "assignment_not_found")
    assert await count_rows(app, Assignment) == 1, "soft delete keeps the row"


async def test_submit_resubmit_late_and_graded(
    app: FastAPI, client: httpx.AsyncClient, quiz_course: QuizCourse, clock: FakeClock
) -> None:
    due = clock.now + timedelta(days=1)
    assignment = await post_assignment(client, quiz_course, due_at=due.isoformat())
    url = f"{API}/assignments/{assignment['id']}/submissions"
    first = await client.post(url, json={"text": "Draft"}, headers=quiz_course.student.headers)
    assert first.status_code == 201
    assert (first.json()["revision"], first.json()["is_late"]) == (1, False)

    clock.advance(days=2)
    again = await client.post(url, json={"text": "Final"}, headers=quiz_course.student.headers)
    assert again.status_code == 200
    assert (again.json()["id"], again.json()["revision"], again.json()["is_late"]) == (
        first.json()["id"],
        2,
        True,
    )
    assert await count_rows(app, Submission) == 1

    grade_url = f"{API}/submissions/{first.json()['id']}/grade"
    assert (await client.post(grade_url, json={"points": 11}, headers=quiz_course.owner.headers)).json()[
        "code"
    ] == ("invalid_grade")
    assert (
        await client.post(grade_url, json={"points": 5}, headers=quiz_course.student.headers)
    ).status_code == 403
    graded = await client.post(
        grade_url, json={"points": 8.5, "feedback": "Good"}, headers=quiz_course.owner.headers
    )
    assert graded.status_code == 200
    assert (graded.json()["status"], graded.json()["points"], graded.json()["feedback"]) == (
        "graded",
        8.5,
        "Good",
    )
    assert len(await events(app, "submission.graded")) == 1

    locked = await client.post(url, json={"text": "Too late"}, headers=quiz_course.student.headers)
    assert_problem(locked, 409, "submission_already_graded")


async def test_submission_rules(app: FastAPI, client: httpx.AsyncClient, quiz_course: QuizCourse) -> None:
    assignment = await post_assignment(client, quiz_course)
    url = f"{API}/assignments/{assignment['id']}/submissions"
    assert (
        await client.post(url, json={"text": "  "}, headers=quiz_course.student.headers)
    ).status_code == 422
    assert (await client.post(url, json={}, headers=quiz_course.student.headers)).status_code == 422
    outsider = await create_user(app)
    assert (await client.post(url, json={"text": "hi"}, headers=outsider.headers)).status_code == 403
    assert (await client.post(url, json={"text": "hi"}, headers=quiz_course.owner.headers)).status_code == 403
    unknown = await client.post(
        url, json={"file_ids": ["00000000-0000-4000-8000-000000000001"]}, headers=quiz_course.student.headers
    )
    assert_problem(unknown, 422, "invalid_file")
    work = await create_file(app, quiz_course.student, purpose="submission")
    files = await client.post(url, json={"file_ids": [str(work.id)]}, headers=quiz_course.student.headers)
    assert files.status_code == 201


async def test_students_see_only_their_submissions(
    app: FastAPI, client: httpx.AsyncClient, quiz_course: QuizCourse
) -> None:
    assignment = await post_assignment(client, quiz_course)
    other = await create_user(app)
    await enroll_directly(app, other, quiz_course.course)
    url = f"{API}/assignments/{assignment['id']}/submissions"
    await client.post(url, json={"text": "mine"}, headers=quiz_course.student.headers)
    await client.post(url, json={"text": "theirs"}, headers=other.headers)
    own = (await client.get(url, headers=quiz_course.student.headers)).json()
    assert [s["text"] for s in own["items"]] == ["mine"]
    assert (await client.get(url, headers=quiz_course.owner.headers)).json()["total"] == 2


# -- gradebook -------------------------------------------------------------------------


async def _graded_course(app: FastAPI, client: httpx.AsyncClient, qc: QuizCourse) -> tuple[str, str]:
    quiz = (
        await client.put(
            f"{API}/lessons/{qc.quiz_lesson.id}/quiz", json=quiz_body(), headers=qc.owner.headers
        )
    ).json()
    for _ in range(2):  # the best of two attempts counts
        attempt = (
            await client.post(f"{API}/quizzes/{quiz['id']}/attempts", headers=qc.student.headers)
        ).json()
        single = quiz["questions"][0]
        answers = {single["id"]: [o["id"] for o in single["options"] if o["is_correct"]]} if _ else {}
        await client.post(
            f"{API}/attempts/{attempt['id']}/submit", json={"answers": answers}, headers=qc.student.headers
        )
    assignment = await post_assignment(client, qc, title='=HYPERLINK("http://evil")')
    submission = (
        await client.post(
            f"{API}/assignments/{assignment['id']}/submissions",
            json={"text": "x"},
            headers=qc.student.headers,
        )
    ).json()
    await client.post(
        f"{API}/submissions/{submission['id']}/grade", json={"points": 7}, headers=qc.owner.headers
    )
    return quiz["id"], assignment["id"]


async def test_gradebook_json(app: FastAPI, client: httpx.AsyncClient, quiz_course: QuizCourse) -> None:
    quiz_id, assignment_id = await _graded_course(app, client, quiz_course)
    idle = await create_user(app, full_name="Idle Student")
    await enroll_directly(app, idle, quiz_course.course)
    response = await client.get(
        f"{API}/courses/{quiz_course.course.id}/gradebook", headers=quiz_course.owner.headers
    )
    assert response.status_code == 200
    book = response.json()
    assert [(i["id"], i["kind"]) for i in book["items"]] == [(quiz_id, "quiz"), (assignment_id, "assignment")]
    rows = {row["user_id"]: row["scores"] for row in book["students"]}
    assert rows[quiz_course.student.id] == [40.0, 7.0]
    assert rows[idle.id] == [None, None]


async def test_gradebook_permissions(app: FastAPI, client: httpx.AsyncClient) -> None:
    organization = await create_organization(app)
    owner = await create_user(app, Role.INSTRUCTOR, organization=organization)
    principal = await create_user(app, Role.PRINCIPAL, organization=organization)
    other_principal = await create_user(app, Role.PRINCIPAL, organization=await create_organization(app))
    admin = await create_user(app, Role.ADMIN)
    student = await create_user(app)
    course = await create_course(app, owner, lessons=1, organization=organization)
    await enroll_directly(app, student, course)
    url = f"{API}/courses/{course.id}/gradebook"
    for actor, expected in (
        (owner, 200),
        (principal, 200),
        (admin, 200),
        (student, 403),
        (other_principal, 403),
    ):
        assert (await client.get(url, headers=actor.headers)).status_code == expected
    assert (await client.get(url)).status_code == 401


async def test_gradebook_csv_quotes_and_neutralises_formulas(
    app: FastAPI, client: httpx.AsyncClient, quiz_course: QuizCourse
) -> None:
    await _graded_course(app, client, quiz_course)
    tricky = await create_user(app, full_name='-Doe, "Jane"\nSmith')
    await enroll_directly(app, tricky, quiz_course.course)
    response = await client.get(
        f"{API}/courses/{quiz_course.course.id}/gradebook",
        params={"format": "csv"},
        headers=quiz_course.owner.headers,
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert len(rows) == 3, "a header and one row per student"
    header = rows[0]
    assert header[:2] == ["student", "email"]
    assert header[3].startswith("'=HYPERLINK"), "formula in a title is neutralised"
    names = {row[0] for row in rows[1:]}
    assert '\'-Doe, "Jane"\nSmith' in names
    student_row = next(row for row in rows[1:] if row[1] == quiz_course.student.user.email)
    assert student_row[2:] == ["40.0", "7.0"]


async def _count_gradebook_queries(app: FastAPI, client: httpx.AsyncClient, qc: QuizCourse) -> int:
    with count_statements(app) as statements:
        response = await client.get(f"{API}/courses/{qc.course.id}/gradebook", headers=qc.owner.headers)
    assert response.status_code == 200
    return len(statements)


async def test_gradebook_query_count_does_not_grow_with_students(
    app: FastAPI, client: httpx.AsyncClient, quiz_course: QuizCourse
) -> None:
    await _graded_course(app, client, quiz_course)
    with_one = await _count_gradebook_queries(app, client, quiz_course)
    for _ in range(15):
        extra = await create_user(app)
        await enroll_directly(app, extra, quiz_course.course)
    assert await _count_gradebook_queries(app, client, quiz_course) == with_one
