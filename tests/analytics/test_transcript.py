"""GET /me/transcript: completed courses with grades, dates and certificates; as a PDF too."""

from __future__ import annotations

import io
from datetime import timedelta

import httpx
from fastapi import FastAPI
from pypdf import PdfReader

from studyhall.certificates.models import Certificate
from studyhall.core.clock import utcnow
from tests.analytics.conftest import KnownCourse, graded_course
from tests.factories import (
    API,
    Actor,
    complete_enrollment_directly,
    count_statements,
    create_course,
    enroll_directly,
    iso,
    rows,
    set_course,
)


async def transcript(client: httpx.AsyncClient, actor: Actor, **params: str) -> httpx.Response:
    return await client.get(f"{API}/me/transcript", params=params, headers=actor.headers)


async def test_transcript_lists_completed_courses_with_grades_and_certificates(
    app: FastAPI, client: httpx.AsyncClient, known: KnownCourse
) -> None:
    k = known
    sql_id = await graded_course(app, client, k, "SQL Basics", 8)
    unassessed = await create_course(app, k.owner, title="Design Thinking")
    await enroll_directly(app, k.ann, unassessed)
    await complete_enrollment_directly(app, k.ann, unassessed, k.at(6))
    deleted = await create_course(app, k.owner, title="Gone")
    await enroll_directly(app, k.ann, deleted)
    await complete_enrollment_directly(app, k.ann, deleted, k.at(6))
    await set_course(app, deleted, deleted_at=utcnow())
    await enroll_directly(app, k.ann, await create_course(app, k.owner, title="Unfinished"))
    [certificate] = await rows(app, Certificate, Certificate.user_id == k.ann.user.id)
    with count_statements(app) as statements:
        response = await transcript(client, k.ann)
    assert response.status_code == 200, response.text
    body = response.json()
    generated_at = body.pop("generated_at")
    assert generated_at == iso(k.at(4))
    assert body == {
        "student_name": "Ann Learner",
        "courses_completed": 3,
        "average_grade_percent": 90.0,
        "courses": [
            {
                "course_id": str(k.course.id),
                "title": "Data Science",
                "category": None,
                "level": "beginner",
                "enrolled_at": iso(k.at(0)),
                "completed_at": iso(k.at(3)),
                "grade_percent": 100.0,
                "certificate": {
                    "id": str(certificate.id),
                    "verification_code": certificate.verification_code,
                    "issued_at": body["courses"][0]["certificate"]["issued_at"],
                    "revoked_at": None,
                },
            },
            {
                "course_id": sql_id,
                "title": "SQL Basics",
                "category": None,
                "level": "beginner",
                "enrolled_at": body["courses"][1]["enrolled_at"],
                "completed_at": iso(k.at(5)),
                "grade_percent": 80.0,
                "certificate": None,
            },
            {
                "course_id": str(unassessed.id),
                "title": "Design Thinking",
                "category": None,
                "level": "beginner",
                "enrolled_at": body["courses"][2]["enrolled_at"],
                "completed_at": iso(k.at(6)),
                "grade_percent": None,
                "certificate": None,
            },
        ],
    }
    assert len(statements) <= 6, statements
    # Nobody else's: Ben completed nothing.
    ben = (await transcript(client, k.ben)).json()
    assert (ben["courses"], ben["courses_completed"], ben["average_grade_percent"]) == ([], 0, None)


async def test_a_course_left_after_completion_stays_and_a_revoked_certificate_says_so(
    app: FastAPI, client: httpx.AsyncClient, known: KnownCourse
) -> None:
    k = known
    left = await client.delete(f"{API}/courses/{k.course.id}/enroll", headers=k.ann.headers)
    assert left.status_code == 204, left.text
    [certificate] = await rows(app, Certificate, Certificate.user_id == k.ann.user.id)
    async with app.state.database.sessionmaker() as session, session.begin():
        row = await session.get(Certificate, certificate.id)
        assert row is not None
        row.revoked_at = k.at(4)
    [entry] = (await transcript(client, k.ann)).json()["courses"]
    assert (entry["title"], entry["grade_percent"]) == ("Data Science", 100.0)
    assert entry["certificate"]["revoked_at"] == iso(k.at(4))
    text = pdf_text((await transcript(client, k.ann, format="pdf")).content)
    assert f"{certificate.verification_code} (revoked)" in text


def pdf_text(data: bytes) -> str:
    """The document's text, whitespace (line breaks of wrapped cells too) made single spaces."""
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


async def test_pdf_transcript(app: FastAPI, client: httpx.AsyncClient, known: KnownCourse) -> None:
    k = known
    await graded_course(app, client, k, "SQL Basics", 8)
    [certificate] = await rows(app, Certificate, Certificate.user_id == k.ann.user.id)
    response = await transcript(client, k.ann, format="pdf")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == f'attachment; filename="transcript-{k.ann.id}.pdf"'
    reader = PdfReader(io.BytesIO(response.content))
    assert reader.metadata is not None and reader.metadata.title == "Transcript: Ann Learner"
    text = pdf_text(response.content)
    for expected in (
        "Academic Transcript",
        "Ann Learner",
        "Data Science",
        k.at(3).strftime("%Y-%m-%d"),
        "100 %",
        certificate.verification_code,
        "SQL Basics",
        k.at(5).strftime("%Y-%m-%d"),
        "80 %",
        "Courses completed: 2",
        "Average grade: 90 %",
    ):
        assert expected in text, (expected, text)
    empty = pdf_text((await transcript(client, k.ben, format="pdf")).content)
    assert "No completed courses yet." in empty and "Ben Learner" in empty


async def test_many_courses_fit_on_several_pages(
    app: FastAPI, client: httpx.AsyncClient, known: KnownCourse
) -> None:
    k = known
    for n in range(40):
        course = await create_course(app, k.owner, title=f"Course number {n} " + "with a long title " * 3)
        await enroll_directly(app, k.ann, course)
        await complete_enrollment_directly(app, k.ann, course, k.at(5) + timedelta(minutes=n))
    reader = PdfReader(io.BytesIO((await transcript(client, k.ann, format="pdf")).content))
    assert len(reader.pages) >= 2
    assert "Course number 39" in pdf_text((await transcript(client, k.ann, format="pdf")).content)
