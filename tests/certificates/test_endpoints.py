"""The certificates API route by route: who may list, download, verify and revoke, and what
everyone else gets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from studyhall import event_types
from studyhall.catalog.models import Course, CourseInstructor
from studyhall.certificates.models import Certificate
from studyhall.identity.models import Organization, Role
from studyhall.main import create_app
from tests.conftest import make_settings
from tests.factories import (
    API,
    Actor,
    FakeClock,
    assert_problem,
    create_course,
    create_organization,
    create_user,
    events,
    fresh_row,
    issue_certificate_directly,
    outcomes,
    race,
)


@dataclass
class School:
    organization: Organization
    principal: Actor
    teacher: Actor
    co_teacher: Actor
    student: Actor
    course: Course
    certificate: Certificate


@pytest.fixture
async def school(app: FastAPI) -> School:
    organization = await create_organization(app)
    principal = await create_user(app, Role.PRINCIPAL, organization=organization)
    teacher = await create_user(app, Role.INSTRUCTOR, organization=organization)
    co_teacher = await create_user(app, Role.INSTRUCTOR, organization=organization)
    student = await create_user(app, organization=organization, full_name="Maria Müller")
    course = await create_course(app, teacher, lessons=1, certificate_enabled=True)
    async with app.state.database.sessionmaker() as session, session.begin():
        session.add(CourseInstructor(course_id=course.id, user_id=co_teacher.user.id))
    certificate = await issue_certificate_directly(app, student, course)
    return School(organization, principal, teacher, co_teacher, student, course, certificate)


def pdf_url(certificate: Certificate) -> str:
    return f"{API}/certificates/{certificate.id}/pdf"


def revoke_url(certificate: Certificate) -> str:
    return f"{API}/certificates/{certificate.id}/revoke"


def verify_url(code: str) -> str:
    return f"{API}/certificates/verify/{code}"


# -- GET /certificates -------------------------------------------------------------------------


async def test_my_certificates_lists_only_mine_newest_first(
    app: FastAPI, client: httpx.AsyncClient, school: School, clock: FakeClock
) -> None:
    clock.advance(minutes=1)
    second_course = await create_course(app, school.teacher, lessons=1, certificate_enabled=True)
    newer = await issue_certificate_directly(app, school.student, second_course)
    someone_else = await create_user(app)
    await issue_certificate_directly(app, someone_else, second_course)

    response = await client.get(f"{API}/certificates", headers=school.student.headers)

    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["limit"], body["offset"]) == (2, 20, 0)
    assert [item["id"] for item in body["items"]] == [str(newer.id), str(school.certificate.id)]
    assert body["items"][1] == {
        "id": str(school.certificate.id),
        "course": {
            "id": str(school.course.id),
            "slug": school.course.slug,
            "title": school.course.title,
        },
        "issued_at": school.certificate.issued_at.isoformat().replace("+00:00", "Z"),
        "verification_code": school.certificate.verification_code,
        "revoked_at": None,
        "revocation_reason": None,
    }

    page = await client.get(f"{API}/certificates?limit=1&offset=1", headers=school.student.headers)
    assert [item["id"] for item in page.json()["items"]] == [str(school.certificate.id)]
    assert page.json()["total"] == 2


async def test_my_certificates_is_empty_for_others_and_closed_to_anonymous(
    client: httpx.AsyncClient, school: School
) -> None:
    staff = await client.get(f"{API}/certificates", headers=school.teacher.headers)
    assert (staff.status_code, staff.json()["items"], staff.json()["total"]) == (200, [], 0)
    assert_problem(await client.get(f"{API}/certificates"), 401, "not_authenticated")
    for query in ("limit=0", "limit=101", "offset=-1", "limit=x"):
        bad = await client.get(f"{API}/certificates?{query}", headers=school.student.headers)
        assert_problem(bad, 422, "validation_error")


# -- GET /certificates/{id}/pdf ---------------------------------------------------------------


async def test_the_owner_course_staff_and_admins_download_the_pdf(
    app: FastAPI, client: httpx.AsyncClient, school: School
) -> None:
    admin = await create_user(app, Role.ADMIN)
    stored = await app.state.storage.read(school.certificate.pdf_key)
    for actor in (school.student, school.teacher, school.co_teacher, school.principal, admin):
        response = await client.get(pdf_url(school.certificate), headers=actor.headers)
        assert response.status_code == 200, actor.user.role
        assert response.headers["content-type"] == "application/pdf"
        assert response.content == stored
        assert school.certificate.verification_code in response.headers["content-disposition"]


async def test_anyone_else_gets_404_for_the_pdf(
    app: FastAPI, client: httpx.AsyncClient, school: School
) -> None:
    other_school = await create_organization(app)
    strangers = [
        await create_user(app, organization=school.organization),  # a classmate
        await create_user(app, Role.INSTRUCTOR, organization=school.organization),  # not this course
        await create_user(app, Role.PRINCIPAL, organization=other_school),
    ]
    for stranger in strangers:
        response = await client.get(pdf_url(school.certificate), headers=stranger.headers)
        assert_problem(response, 404, "certificate_not_found")
    unknown = await client.get(
        f"{API}/certificates/00000000-0000-0000-0000-000000000000/pdf", headers=school.student.headers
    )
    assert_problem(unknown, 404, "certificate_not_found")
    bad_id = await client.get(f"{API}/certificates/not-a-uuid/pdf", headers=school.student.headers)
    assert_problem(bad_id, 422, "validation_error")
    assert_problem(await client.get(pdf_url(school.certificate)), 401, "not_authenticated")


async def test_a_revoked_certificates_pdf_is_still_served_to_its_owner(
    app: FastAPI, client: httpx.AsyncClient, school: School
) -> None:
    revoked = await client.post(
        revoke_url(school.certificate), json={"reason": "Plagiarism"}, headers=school.principal.headers
    )
    assert revoked.status_code == 200
    response = await client.get(pdf_url(school.certificate), headers=school.student.headers)
    assert (response.status_code, response.headers["content-type"]) == (200, "application/pdf")


# -- GET /certificates/verify/{code} ----------------------------------------------------------


async def test_verify_answers_anyone_with_the_code(client: httpx.AsyncClient, school: School) -> None:
    code = school.certificate.verification_code
    response = await client.get(verify_url(code))
    assert response.status_code == 200
    assert response.json() == {
        "valid": True,
        "student_name": "Maria Müller",
        "course_title": school.course.title,
        "issued_at": school.certificate.issued_at.isoformat().replace("+00:00", "Z"),
        "revoked_at": None,
    }
    # As typed from paper: any case, no dashes, O for 0 and I or L for 1.
    typed = code.replace("-", "").lower().replace("0", "o").replace("1", "l")
    assert (await client.get(verify_url(typed))).json() == response.json()


@pytest.mark.parametrize(
    "code",
    [
        "00000-00000-00000-00000",  # well formed, no such certificate
        "ABCDE",  # too short
        "UUUUU-UUUUU-UUUUU-UUUUU",  # U is not in the alphabet
        "7K3QF-M2XHD-9TNBW-RC4V*",  # a character no code has
    ],
)
async def test_verify_an_unknown_code_is_404(client: httpx.AsyncClient, school: School, code: str) -> None:
    assert_problem(await client.get(verify_url(code)), 404, "certificate_not_found")


async def test_verify_refuses_overlong_codes(client: httpx.AsyncClient, school: School) -> None:
    assert_problem(await client.get(verify_url("A" * 65)), 422, "validation_error")


async def test_verify_is_rate_limited_per_client(database_url: str, tmp_path: Path) -> None:
    app = create_app(make_settings(database_url, tmp_path / "var", rate_limit_certificate_verify="3/minute"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("10.9.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            answers = [await client.get(verify_url("00000-00000-00000-00000")) for _ in range(4)]
        transport = httpx.ASGITransport(app=app, client=("10.9.0.2", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as elsewhere:
            other = await elsewhere.get(verify_url("00000-00000-00000-00000"))
    assert [r.status_code for r in answers] == [404, 404, 404, 429]
    assert_problem(answers[3], 429, "rate_limited")
    assert 1 <= int(answers[3].headers["retry-after"]) <= 60
    assert other.status_code == 404, "another client is not affected"


# -- POST /certificates/{id}/revoke -----------------------------------------------------------


async def test_an_admin_revokes_and_verify_then_answers_invalid(
    app: FastAPI, client: httpx.AsyncClient, school: School, clock: FakeClock
) -> None:
    admin = await create_user(app, Role.ADMIN)
    clock.advance(hours=1)

    response = await client.post(
        revoke_url(school.certificate), json={"reason": "  Issued by mistake  "}, headers=admin.headers
    )

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(school.certificate.id)
    assert body["revoked_at"] == clock.now.isoformat().replace("+00:00", "Z")
    assert body["revocation_reason"] == "Issued by mistake"
    row = await fresh_row(app, Certificate, school.certificate.id)
    assert (row.revoked_at, row.revoked_by, row.revocation_reason) == (
        clock.now,
        admin.user.id,
        "Issued by mistake",
    )
    assert await events(app, event_types.CERTIFICATE_REVOKED) == [
        {
            "certificate_id": str(school.certificate.id),
            "enrollment_id": str(school.certificate.enrollment_id),
            "user_id": school.student.id,
            "course_id": str(school.course.id),
            "by": admin.id,
        }
    ]
    verified = (await client.get(verify_url(school.certificate.verification_code))).json()
    assert (verified["valid"], verified["revoked_at"]) == (False, body["revoked_at"])
    listed = (await client.get(f"{API}/certificates", headers=school.student.headers)).json()
    assert listed["items"][0]["revoked_at"] == body["revoked_at"]


async def test_the_courses_principal_revokes_once(
    app: FastAPI, client: httpx.AsyncClient, school: School
) -> None:
    first = await client.post(
        revoke_url(school.certificate), json={"reason": "Plagiarism"}, headers=school.principal.headers
    )
    assert first.status_code == 200
    again = await client.post(
        revoke_url(school.certificate), json={"reason": "Again"}, headers=school.principal.headers
    )
    assert_problem(again, 409, "certificate_already_revoked")
    row = await fresh_row(app, Certificate, school.certificate.id)
    assert (row.revoked_by, row.revocation_reason) == (school.principal.user.id, "Plagiarism")
    assert len(await events(app, event_types.CERTIFICATE_REVOKED)) == 1


async def test_concurrent_revocations_one_wins(
    app: FastAPI, client: httpx.AsyncClient, school: School
) -> None:
    admin = await create_user(app, Role.ADMIN)
    responses = await race(
        client.post(revoke_url(school.certificate), json={"reason": f"r{n}"}, headers=admin.headers)
        for n in range(4)
    )
    assert outcomes(responses) == {(200, None): 1, (409, "certificate_already_revoked"): 3}
    assert len(await events(app, event_types.CERTIFICATE_REVOKED)) == 1


async def test_those_who_see_the_certificate_but_may_not_revoke_get_403(
    app: FastAPI, client: httpx.AsyncClient, school: School
) -> None:
    for actor in (school.student, school.teacher, school.co_teacher):
        response = await client.post(
            revoke_url(school.certificate), json={"reason": "x"}, headers=actor.headers
        )
        assert_problem(response, 403, "cannot_revoke_certificate")
    assert (await fresh_row(app, Certificate, school.certificate.id)).revoked_at is None


async def test_everyone_else_gets_404_on_revoke(
    app: FastAPI, client: httpx.AsyncClient, school: School
) -> None:
    other_principal = await create_user(app, Role.PRINCIPAL, organization=await create_organization(app))
    classmate = await create_user(app, organization=school.organization)
    for actor in (other_principal, classmate):
        response = await client.post(
            revoke_url(school.certificate), json={"reason": "x"}, headers=actor.headers
        )
        assert_problem(response, 404, "certificate_not_found")
    unknown = await client.post(
        f"{API}/certificates/00000000-0000-0000-0000-000000000000/revoke",
        json={"reason": "x"},
        headers=school.principal.headers,
    )
    assert_problem(unknown, 404, "certificate_not_found")
    anonymous = await client.post(revoke_url(school.certificate), json={"reason": "x"})
    assert_problem(anonymous, 401, "not_authenticated")
    assert (await fresh_row(app, Certificate, school.certificate.id)).revoked_at is None


async def test_a_course_without_organisation_is_revoked_by_admins_only(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    teacher = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, teacher, lessons=1, certificate_enabled=True)
    certificate = await issue_certificate_directly(app, await create_user(app), course)
    principal = await create_user(app, Role.PRINCIPAL, organization=await create_organization(app))
    response = await client.post(revoke_url(certificate), json={"reason": "x"}, headers=principal.headers)
    assert_problem(response, 404, "certificate_not_found")


@pytest.mark.parametrize(
    "body",
    [{}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 1001}, {"reason": "x", "extra": 1}, []],
)
async def test_revoke_needs_a_reason(
    app: FastAPI, client: httpx.AsyncClient, school: School, body: object
) -> None:
    response = await client.post(revoke_url(school.certificate), json=body, headers=school.principal.headers)
    assert_problem(response, 422, "validation_error")
    assert (await fresh_row(app, Certificate, school.certificate.id)).revoked_at is None
