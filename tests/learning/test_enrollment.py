"""Enrolling, unenrolling, re-enrolling and "my courses"."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI

from studyhall.catalog.models import Course
from studyhall.core.clock import utcnow
from studyhall.identity.models import Role
from tests.factories import (
    API,
    assert_problem,
    complete,
    course_lessons,
    create_course,
    create_organization,
    create_user,
    enroll,
    enrollment_row,
    events,
    fresh_row,
    set_course,
)


async def test_enroll_creates_an_active_enrollment_and_an_event(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, owner, lessons=3)

    body = await enroll(client, student, course)

    assert body["course_id"] == str(course.id)
    assert body["user_id"] == student.id
    assert body["status"] == "active"
    assert body["completed_lessons"] == 0
    assert body["total_lessons"] == 3
    assert body["progress_percent"] == 0.0
    assert body["completed_at"] is None
    row = await enrollment_row(app, student, course)
    assert row is not None
    assert str(row.id) == body["id"]
    assert (await fresh_row(app, Course, course.id)).enrollment_count == 1
    assert await events(app, "enrollment.created") == [
        {"enrollment_id": body["id"], "course_id": str(course.id), "user_id": student.id}
    ]


async def test_enrolling_twice_is_409(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, owner, lessons=1)
    await enroll(client, student, course)

    response = await client.post(f"{API}/courses/{course.id}/enroll", headers=student.headers)

    assert_problem(response, 409, "already_enrolled")
    assert (await fresh_row(app, Course, course.id)).enrollment_count == 1
    assert len(await events(app, "enrollment.created")) == 1


async def test_enroll_needs_a_published_visible_free_course(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await create_organization(app)
    owner = await create_user(app, Role.INSTRUCTOR, organization=org)
    student = await create_user(app)
    draft = await create_course(app, owner, status="draft", lessons=1)
    org_only = await create_course(app, owner, visibility="organization", lessons=1)
    paid = await create_course(app, owner, lessons=1, price_cents=1999)
    deleted = await create_course(app, owner, lessons=1)
    await set_course(app, deleted, deleted_at=utcnow())

    assert_problem(
        await client.post(f"{API}/courses/{draft.id}/enroll", headers=student.headers),
        404,
        "course_not_found",
    )
    assert_problem(
        await client.post(f"{API}/courses/{org_only.id}/enroll", headers=student.headers),
        404,
        "course_not_found",
    )
    assert_problem(
        await client.post(f"{API}/courses/{deleted.id}/enroll", headers=student.headers),
        404,
        "course_not_found",
    )
    assert_problem(
        await client.post(f"{API}/courses/{uuid.uuid4()}/enroll", headers=student.headers),
        404,
        "course_not_found",
    )
    assert_problem(
        await client.post(f"{API}/courses/{paid.id}/enroll", headers=student.headers), 402, "payment_required"
    )
    # Staff can see their draft, but it takes no enrollments yet.
    assert_problem(
        await client.post(f"{API}/courses/{draft.id}/enroll", headers=owner.headers),
        409,
        "course_not_published",
    )
    # An organisation member can enroll in the organisation's course.
    member = await create_user(app, organization=org)
    await enroll(client, member, org_only)
    assert (await fresh_row(app, Course, paid.id)).enrollment_count == 0
    assert len(await events(app, "enrollment.created")) == 1


async def test_enroll_requires_authentication_and_a_uuid(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, owner, lessons=1)
    response = await client.post(f"{API}/courses/{course.id}/enroll")
    assert_problem(response, 401, "not_authenticated")
    assert response.headers["www-authenticate"] == "Bearer"
    student = await create_user(app)
    assert_problem(
        await client.post(f"{API}/courses/not-a-uuid/enroll", headers=student.headers),
        422,
        "validation_error",
    )


async def test_unenroll_keeps_progress_and_re_enroll_restores_it(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, owner, lessons=4)
    lessons = await course_lessons(app, course)
    first = await enroll(client, student, course)
    assert (await complete(client, student, lessons[0])).status_code == 200
    assert (await complete(client, student, lessons[1])).status_code == 200

    response = await client.delete(f"{API}/courses/{course.id}/enroll", headers=student.headers)

    assert response.status_code == 204
    row = await enrollment_row(app, student, course)
    assert row is not None
    assert row.status == "unenrolled"
    assert row.unenrolled_at is not None
    assert (await fresh_row(app, Course, course.id)).enrollment_count == 0
    mine = (await client.get(f"{API}/enrollments/me", headers=student.headers)).json()
    assert mine["total"] == 0
    assert_problem(await complete(client, student, lessons[2]), 403, "not_enrolled")
    assert_problem(
        await client.delete(f"{API}/courses/{course.id}/enroll", headers=student.headers),
        404,
        "enrollment_not_found",
    )

    again = await enroll(client, student, course)

    assert again["id"] == first["id"]
    assert again["status"] == "active"
    assert again["completed_lessons"] == 2
    assert again["progress_percent"] == 50.0
    assert (await fresh_row(app, Course, course.id)).enrollment_count == 1
    assert len(await events(app, "enrollment.created")) == 2


async def test_unenroll_unknown_course_is_404(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    draft = await create_course(app, owner, status="draft")
    assert_problem(
        await client.delete(f"{API}/courses/{uuid.uuid4()}/enroll", headers=student.headers),
        404,
        "course_not_found",
    )
    assert_problem(
        await client.delete(f"{API}/courses/{draft.id}/enroll", headers=student.headers),
        404,
        "course_not_found",
    )
    assert_problem(await client.delete(f"{API}/courses/{draft.id}/enroll"), 401, "not_authenticated")


async def test_my_enrollments_lists_courses_with_progress(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    other = await create_user(app)
    first = await create_course(app, owner, lessons=2, title="First")
    second = await create_course(app, owner, lessons=4, title="Second")
    await enroll(client, student, first)
    await enroll(client, student, second)
    await enroll(client, other, first)
    lessons = await course_lessons(app, second)
    await complete(client, student, lessons[0])

    response = await client.get(f"{API}/enrollments/me", headers=student.headers)

    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 2
    assert body["limit"] == 20
    assert body["offset"] == 0
    by_title = {item["course"]["title"]: item for item in body["items"]}
    assert by_title["Second"]["completed_lessons"] == 1
    assert by_title["Second"]["total_lessons"] == 4
    assert by_title["Second"]["progress_percent"] == 25.0
    assert by_title["Second"]["last_activity_at"] is not None
    assert by_title["First"]["progress_percent"] == 0.0
    assert by_title["First"]["course"]["lesson_count"] == 2
    page = (await client.get(f"{API}/enrollments/me?limit=1&offset=1", headers=student.headers)).json()
    assert page["total"] == 2
    assert len(page["items"]) == 1
    assert_problem(
        await client.get(f"{API}/enrollments/me?limit=0", headers=student.headers), 422, "validation_error"
    )
    assert_problem(await client.get(f"{API}/enrollments/me"), 401, "not_authenticated")


async def test_wrong_method_lists_every_method_of_the_path(app: FastAPI, client: httpx.AsyncClient) -> None:
    response = await client.put(f"{API}/courses/{uuid.uuid4()}/enroll")
    assert_problem(response, 405, "method_not_allowed")
    assert set(response.headers["allow"].split(", ")) == {"DELETE", "POST"}
