"""Who may read which insight: the authorisation matrix of every insights route."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from studyhall.catalog.models import CourseInstructor
from studyhall.core.clock import utcnow
from studyhall.identity.models import Role
from tests.conftest import AppFactory
from tests.factories import (
    API,
    Actor,
    assert_problem,
    client_for,
    create_course,
    create_organization,
    create_user,
    enroll_directly,
    set_course,
)

ME_ROUTES = ("/me/analytics", "/me/skills", "/me/transcript", "/me/transcript?format=pdf")


@pytest.fixture
async def people(app: FastAPI) -> dict[str, Actor]:
    acme, other = await create_organization(app, "Acme"), await create_organization(app, "Other")
    return {
        "owner": await create_user(app, Role.INSTRUCTOR, organization=acme),
        "co_instructor": await create_user(app, Role.INSTRUCTOR, organization=acme),
        "principal": await create_user(app, Role.PRINCIPAL, organization=acme),
        "admin": await create_user(app, Role.ADMIN),
        "student": await create_user(app, organization=acme),
        "other_instructor": await create_user(app, Role.INSTRUCTOR, organization=acme),
        "other_principal": await create_user(app, Role.PRINCIPAL, organization=other),
        "outsider": await create_user(app),
    }


async def read(client: httpx.AsyncClient, path: str, actor: Actor | None) -> httpx.Response:
    return await client.get(f"{API}{path}", headers=actor.headers if actor else {})


async def test_course_analytics_matrix(
    app: FastAPI, client: httpx.AsyncClient, people: dict[str, Actor]
) -> None:
    owner = people["owner"]
    public = await create_course(app, owner)
    members_only = await create_course(app, owner, visibility="organization")
    draft = await create_course(app, owner, status="draft")
    for course in (public, members_only, draft):
        async with app.state.database.sessionmaker() as session, session.begin():
            session.add(CourseInstructor(course_id=course.id, user_id=people["co_instructor"].user.id))
    await enroll_directly(app, people["student"], public)
    await enroll_directly(app, people["student"], members_only)
    expected = {
        # who: (public course, organisation-only course, draft course)
        "owner": (200, 200, 200),
        "co_instructor": (200, 200, 200),
        "principal": (200, 200, 200),
        "admin": (200, 200, 200),
        "student": (403, 403, 404),
        "other_instructor": (403, 403, 404),
        "other_principal": (403, 404, 404),
        "outsider": (403, 404, 404),
    }
    for who, statuses in expected.items():
        for course, status in zip((public, members_only, draft), statuses, strict=True):
            response = await read(client, f"/courses/{course.id}/analytics", people[who])
            if status == 200:
                assert response.status_code == 200, (who, response.text)
                assert response.json()["course_id"] == str(course.id)
            elif status == 403:
                assert_problem(response, 403, "not_course_staff")
            else:
                assert_problem(response, 404, "course_not_found")
    assert_problem(await read(client, f"/courses/{public.id}/analytics", None), 401, "not_authenticated")
    missing = "/courses/00000000-0000-4000-8000-000000000000/analytics"
    assert_problem(await read(client, missing, people["admin"]), 404, "course_not_found")


async def test_deleted_course_analytics_are_404_even_for_its_owner(
    app: FastAPI, client: httpx.AsyncClient, people: dict[str, Actor]
) -> None:
    course = await create_course(app, people["owner"])
    await set_course(app, course, deleted_at=utcnow())
    assert_problem(
        await read(client, f"/courses/{course.id}/analytics", people["owner"]), 404, "course_not_found"
    )


async def test_organization_analytics_matrix(
    app: FastAPI, client: httpx.AsyncClient, people: dict[str, Actor]
) -> None:
    acme_id = people["principal"].user.organization_id
    expected = {
        "principal": 200,
        "admin": 200,
        "owner": 403,
        "student": 403,
        "other_principal": 404,
        "outsider": 404,
    }
    for who, status in expected.items():
        response = await read(client, f"/organizations/{acme_id}/analytics", people[who])
        if status == 200:
            assert response.status_code == 200, (who, response.text)
            assert response.json()["organization_id"] == str(acme_id)
        elif status == 403:
            assert_problem(response, 403, "insufficient_role")
        else:
            assert_problem(response, 404, "organization_not_found")
    assert_problem(await read(client, f"/organizations/{acme_id}/analytics", None), 401, "not_authenticated")
    missing = "/organizations/00000000-0000-4000-8000-000000000000/analytics"
    assert_problem(await read(client, missing, people["admin"]), 404, "organization_not_found")


async def test_my_routes_need_a_signed_in_caller_and_show_only_theirs(
    client: httpx.AsyncClient, people: dict[str, Actor]
) -> None:
    for path in ME_ROUTES:
        assert_problem(await read(client, path, None), 401, "not_authenticated")
        assert (await read(client, path, people["outsider"])).status_code == 200
    assert_problem(
        await read(client, "/me/transcript?format=docx", people["student"]), 422, "validation_error"
    )


async def test_answers_are_cached_and_the_access_check_still_runs_first(make_app: AppFactory) -> None:
    """An answer is kept `ANALYTICS_CACHE_SECONDS` (a new enrollment shows after that), but who
    may read it is checked on every request, before the cache."""
    app = await make_app()
    acme, other = await create_organization(app, "Acme"), await create_organization(app, "Other")
    owner = await create_user(app, Role.INSTRUCTOR, organization=acme)
    principal = await create_user(app, Role.PRINCIPAL, organization=acme)
    member = await create_user(app, organization=acme)
    stranger = await create_user(app, Role.PRINCIPAL, organization=other)
    course = await create_course(app, owner)
    await enroll_directly(app, member, course)
    paths = (f"/organizations/{acme.id}/analytics", f"/courses/{course.id}/analytics")
    async with client_for(app) as client:
        first = [await read(client, path, principal) for path in paths]
        assert [response.json()["enrollments_total"] for response in first] == [1, 1]
        await enroll_directly(app, await create_user(app, organization=acme), course)
        again = [await read(client, path, principal) for path in paths]
        assert [response.content for response in again] == [response.content for response in first]
        assert_problem(await read(client, paths[0], member), 403, "insufficient_role")
        assert_problem(await read(client, paths[0], stranger), 404, "organization_not_found")
        assert_problem(await read(client, paths[1], member), 403, "not_course_staff")
        assert_problem(await read(client, paths[1], stranger), 403, "not_course_staff")

    uncached = await make_app(analytics_cache_seconds=0)
    owner = await create_user(uncached, Role.INSTRUCTOR, organization=acme)
    course = await create_course(uncached, owner)
    async with client_for(uncached) as client:
        path = f"/courses/{course.id}/analytics"
        assert (await read(client, path, owner)).json()["enrollments_total"] == 0
        await enroll_directly(uncached, await create_user(uncached), course)
        assert (await read(client, path, owner)).json()["enrollments_total"] == 1
