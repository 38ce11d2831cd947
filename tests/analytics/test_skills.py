"""GET /me/skills: the career profile from completed courses, weighted by grades."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from studyhall.certificates.models import Certificate
from tests.analytics.conftest import KnownCourse, graded_course
from tests.factories import (
    API,
    complete_enrollment_directly,
    count_statements,
    create_course,
    enroll_directly,
    iso,
    rows,
)


async def test_skills_from_completed_courses_weighted_by_grades(
    app: FastAPI, client: httpx.AsyncClient, known: KnownCourse
) -> None:
    k = known
    # Data Science (tags Python, Data; grade 100, certificate) is completed on day 3.
    sql_id = await graded_course(
        app, client, k, "SQL Basics", 8, skills=["python", " SQL ", ""], tags=["ignored"]
    )
    design = await create_course(app, k.owner, title="Design Thinking", category="Design")
    await enroll_directly(app, k.ann, design)
    await complete_enrollment_directly(app, k.ann, design, k.at(6))
    nothing = await create_course(app, k.owner, title="No skills")
    await enroll_directly(app, k.ann, nothing)
    await complete_enrollment_directly(app, k.ann, nothing, k.at(6))
    [certificate] = await rows(app, Certificate, Certificate.user_id == k.ann.user.id)
    with count_statements(app) as statements:
        response = await client.get(f"{API}/me/skills", headers=k.ann.headers)
    assert response.status_code == 200, response.text
    data_science = {
        "course_id": str(k.course.id),
        "title": "Data Science",
        "completed_at": iso(k.at(3)),
        "grade_percent": 100.0,
        "certificate_code": certificate.verification_code,
    }
    sql = {
        "course_id": sql_id,
        "title": "SQL Basics",
        "completed_at": iso(k.at(5)),
        "grade_percent": 80.0,
        "certificate_code": None,
    }
    assert response.json() == {
        "skills": [
            {"name": "Python", "weight": 1.8, "score_percent": 90.0, "evidence": [data_science, sql]},
            {"name": "Data", "weight": 1.0, "score_percent": 100.0, "evidence": [data_science]},
            {"name": "SQL", "weight": 0.8, "score_percent": 80.0, "evidence": [sql]},
            {
                "name": "Design",
                "weight": 0.5,
                "score_percent": None,
                "evidence": [
                    {
                        "course_id": str(design.id),
                        "title": "Design Thinking",
                        "completed_at": iso(k.at(6)),
                        "grade_percent": None,
                        "certificate_code": None,
                    }
                ],
            },
        ]
    }
    assert len(statements) <= 6, statements
    # Courses in progress give no skill.
    ben = await client.get(f"{API}/me/skills", headers=k.ben.headers)
    assert ben.json() == {"skills": []}
