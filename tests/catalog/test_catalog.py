"""The catalog: filters, sorts, search, visibility, pagination, per-caller flags, query count,
course detail by id or slug with ETags."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from studyhall.catalog.models import Course
from studyhall.identity.models import Role
from studyhall.learning.models import Enrollment, LessonCompletion
from tests.factories import (
    API,
    assert_problem,
    count_statements,
    course_lessons,
    create_course,
    create_organization,
    create_user,
)


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def test_filters_and_sorts(app: FastAPI, client: httpx.AsyncClient) -> None:
    teacher = await create_user(app, Role.INSTRUCTOR)
    co = await create_user(app, Role.INSTRUCTOR)
    org = await create_organization(app)
    python = await create_course(
        app,
        teacher,
        title="Python for Data",
        category="programming",
        level="beginner",
        tags=["python", "data"],
        skills=["pandas"],
        lessons=1,
        enrollment_count=5,
    )
    rust = await create_course(
        app,
        teacher,
        title="Advanced Rust",
        category="programming",
        level="advanced",
        tags=["rust"],
        skills=["ownership"],
        price_cents=4900,
        lessons=1,
        enrollment_count=9,
        organization=org,
    )
    art = await create_course(
        app,
        co,
        title="Drawing Basics",
        category="art",
        level="beginner",
        tags=["drawing"],
        lessons=1,
    )
    await create_course(app, teacher, title="Hidden Draft", status="draft", tags=["python"])
    async with app.state.database.sessionmaker() as session, session.begin():
        from studyhall.catalog.models import CourseInstructor

        session.add(CourseInstructor(course_id=python.id, user_id=co.user.id))
        for course, description in ((python, "Analyse tables with pandas"), (art, "Pencils and charcoal")):
            await session.execute(
                update(Course).where(Course.id == course.id).values(description=description)
            )

    assert ids(await client.get(f"{API}/courses")) == [str(art.id), str(rust.id), str(python.id)]
    assert ids(await client.get(f"{API}/courses", params={"sort": "title"})) == [
        str(rust.id),
        str(art.id),
        str(python.id),
    ]
    assert ids(await client.get(f"{API}/courses", params={"sort": "popular"})) == [
        str(rust.id),
        str(python.id),
        str(art.id),
    ]
    assert ids(await client.get(f"{API}/courses", params={"category": "art"})) == [str(art.id)]
    assert set(ids(await client.get(f"{API}/courses", params={"level": "beginner"}))) == {
        str(art.id),
        str(python.id),
    }
    assert ids(await client.get(f"{API}/courses", params={"tag": "Python"})) == [str(python.id)]
    assert ids(await client.get(f"{API}/courses", params={"skill": "ownership"})) == [str(rust.id)]
    assert ids(await client.get(f"{API}/courses", params={"free": "false"})) == [str(rust.id)]
    assert set(ids(await client.get(f"{API}/courses", params={"free": "true"}))) == {
        str(art.id),
        str(python.id),
    }
    assert set(ids(await client.get(f"{API}/courses", params={"instructor_id": co.id}))) == {
        str(art.id),
        str(python.id),
    }
    assert ids(await client.get(f"{API}/courses", params={"organization_id": str(org.id)})) == [str(rust.id)]
    assert ids(await client.get(f"{API}/courses", params={"q": "pandas"})) == [str(python.id)]
    assert ids(await client.get(f"{API}/courses", params={"q": "charcoal pencils"})) == [str(art.id)]
    assert ids(await client.get(f"{API}/courses", params={"q": "rust"})) == [str(rust.id)]
    assert ids(await client.get(f"{API}/courses", params={"q": "100%_"})) == []
    assert ids(await client.get(f"{API}/courses", params={"q": "python", "level": "advanced"})) == []
    for params in (
        {"level": "expert"},
        {"sort": "random"},
        {"limit": 0},
        {"limit": 101},
        {"offset": -1},
        {"free": "maybe"},
        {"instructor_id": "x"},
    ):
        response = await client.get(f"{API}/courses", params=params)
        assert_problem(response, 422, "validation_error")


async def test_pagination(app: FastAPI, client: httpx.AsyncClient) -> None:
    teacher = await create_user(app, Role.INSTRUCTOR)
    created = [await create_course(app, teacher, title=f"C{n:02d}") for n in range(5)]
    page = await client.get(f"{API}/courses", params={"sort": "title", "limit": 2, "offset": 1})
    assert page.json()["total"] == 5
    assert (page.json()["limit"], page.json()["offset"]) == (2, 1)
    assert ids(page) == [str(created[1].id), str(created[2].id)]
    past = await client.get(f"{API}/courses", params={"offset": 50})
    assert past.json() == {"items": [], "total": 5, "limit": 20, "offset": 50}


async def test_visibility_of_drafts_and_organization_courses(app: FastAPI, client: httpx.AsyncClient) -> None:
    org = await create_organization(app)
    teacher = await create_user(app, Role.INSTRUCTOR, organization=org)
    member = await create_user(app, Role.STUDENT, organization=org)
    outsider = await create_user(app, Role.STUDENT)
    other_teacher = await create_user(app, Role.INSTRUCTOR)
    principal = await create_user(app, Role.PRINCIPAL, organization=org)
    admin = await create_user(app, Role.ADMIN)
    public = await create_course(app, teacher, title="Public")
    internal = await create_course(app, teacher, title="Internal", visibility="organization")
    draft = await create_course(app, teacher, title="Draft", status="draft")

    listings = {
        "anonymous": (None, {public}),
        "outsider": (outsider, {public}),
        "member": (member, {public, internal}),
        "other teacher": (other_teacher, {public}),
        "admin": (admin, {public, internal}),
    }
    for name, (actor, expected) in listings.items():
        headers = actor.headers if actor else {}
        assert set(ids(await client.get(f"{API}/courses", headers=headers))) == {
            str(c.id) for c in expected
        }, name
        for course in (public, internal, draft):
            status = (await client.get(f"{API}/courses/{course.id}", headers=headers)).status_code
            visible = course in expected or (actor is admin and course is draft)
            assert status == (200 if visible else 404), (name, course.title)

    mine = await client.get(f"{API}/courses", params={"mine": "true"}, headers=teacher.headers)
    assert set(ids(mine)) == {str(public.id), str(internal.id), str(draft.id)}
    drafts = await client.get(f"{API}/courses", params={"status": "draft"}, headers=principal.headers)
    assert ids(drafts) == [str(draft.id)]
    assert (
        ids(await client.get(f"{API}/courses", params={"status": "draft"}, headers=other_teacher.headers))
        == []
    )
    assert ids(await client.get(f"{API}/courses", params={"status": "draft"}, headers=admin.headers)) == [
        str(draft.id)
    ]
    for params in ({"mine": "true"}, {"status": "draft"}):
        denied = await client.get(f"{API}/courses", params=params, headers=member.headers)
        assert denied.status_code == 403
        assert (await client.get(f"{API}/courses", params=params)).status_code == 401


async def test_caller_flags_and_detail_by_slug(app: FastAPI, client: httpx.AsyncClient) -> None:
    teacher = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    other = await create_user(app)
    course = await create_course(app, teacher, lessons=4)
    lessons = await course_lessons(app, course)
    async with app.state.database.sessionmaker() as session, session.begin():
        session.add(Enrollment(user_id=student.user.id, course_id=course.id))
        session.add(LessonCompletion(user_id=student.user.id, lesson_id=lessons[0].id, course_id=course.id))
        await session.execute(update(Course).where(Course.id == course.id).values(enrollment_count=1))
    mine = (await client.get(f"{API}/courses", headers=student.headers)).json()["items"][0]
    assert (
        mine["is_enrolled"],
        mine["progress_percent"],
        mine["enrollment_count"],
        mine["lesson_count"],
    ) == (True, 25.0, 1, 4)
    theirs = (await client.get(f"{API}/courses", headers=other.headers)).json()["items"][0]
    assert (theirs["is_enrolled"], theirs["progress_percent"]) == (False, None)

    by_slug = await client.get(f"{API}/courses/{course.slug}", headers=student.headers)
    assert by_slug.status_code == 200
    detail = by_slug.json()
    assert detail["id"] == str(course.id)
    assert [(item["order"], item["is_completed"]) for item in detail["lessons"]] == [
        (0, True),
        (1, False),
        (2, False),
        (3, False),
    ]
    assert set(detail["lessons"][0]) == {
        "id",
        "module_id",
        "title",
        "type",
        "order",
        "duration_minutes",
        "is_preview",
        "is_completed",
    }
    assert (await client.get(f"{API}/courses/no-such-slug")).status_code == 404


async def test_etag_and_not_modified(app: FastAPI, client: httpx.AsyncClient) -> None:
    teacher = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, teacher, lessons=1)
    first = await client.get(f"{API}/courses/{course.id}", headers=student.headers)
    etag = first.headers["ETag"]
    assert etag.startswith('W/"')
    assert "private" in first.headers["Cache-Control"]
    cached = await client.get(
        f"{API}/courses/{course.id}", headers={**student.headers, "If-None-Match": etag}
    )
    assert cached.status_code == 304
    assert cached.content == b""
    # Another caller's view differs (their own flags), so the tag does not match theirs.
    async with app.state.database.sessionmaker() as session, session.begin():
        session.add(Enrollment(user_id=student.user.id, course_id=course.id))
    enrolled = await client.get(
        f"{API}/courses/{course.id}", headers={**student.headers, "If-None-Match": etag}
    )
    assert enrolled.status_code == 200
    assert enrolled.headers["ETag"] != etag
    # An edit changes the tag.
    new_tag = enrolled.headers["ETag"]
    await client.patch(f"{API}/courses/{course.id}", json={"subtitle": "new"}, headers=teacher.headers)
    changed = await client.get(
        f"{API}/courses/{course.id}", headers={**student.headers, "If-None-Match": new_tag}
    )
    assert changed.status_code == 200
    outline = await client.get(f"{API}/courses/{course.id}/lessons", headers=teacher.headers)
    again = await client.get(
        f"{API}/courses/{course.id}/lessons",
        headers={**teacher.headers, "If-None-Match": outline.headers["ETag"]},
    )
    assert again.status_code == 304


async def test_catalog_query_count_does_not_grow_with_page_size(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    teacher = await create_user(app, Role.INSTRUCTOR)
    co = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    async with app.state.database.sessionmaker() as session, session.begin():
        courses = [
            Course(
                slug=f"bulk-{n}",
                title=f"Bulk {n:03d}",
                owner_id=teacher.user.id,
                status="published",
                tags=["bulk"],
                lesson_count=2,
            )
            for n in range(100)
        ]
        session.add_all(courses)
        await session.flush()
        from studyhall.catalog.models import CourseInstructor

        for course in courses[::2]:
            session.add(CourseInstructor(course_id=course.id, user_id=co.user.id))
            session.add(Enrollment(user_id=student.user.id, course_id=course.id))
    counts = []
    for limit in (20, 100):
        with count_statements(app) as statements:
            response = await client.get(
                f"{API}/courses",
                params={"limit": limit, "tag": "bulk", "sort": "title"},
                headers=student.headers,
            )
        assert len(response.json()["items"]) == limit
        assert sum(item["is_enrolled"] for item in response.json()["items"]) == limit // 2
        counts.append(len(statements))
    assert counts[0] == counts[1]
    assert counts[0] <= 6  # user, count, page, instructors, progress (+ transaction bookkeeping)
    with count_statements(app) as anonymous:
        await client.get(f"{API}/courses", params={"limit": 100})
    assert len(anonymous) <= counts[0]


async def test_unknown_ids_are_not_found(app: FastAPI, client: httpx.AsyncClient) -> None:
    teacher = await create_user(app, Role.INSTRUCTOR)
    missing = uuid.uuid4()
    for method, path in (
        ("PATCH", f"/courses/{missing}"),
        ("DELETE", f"/courses/{missing}"),
        ("POST", f"/courses/{missing}/restore"),
        ("POST", f"/courses/{missing}/publish"),
        ("PATCH", f"/modules/{missing}"),
        ("DELETE", f"/modules/{missing}"),
        ("POST", f"/modules/{missing}/restore"),
        ("PATCH", f"/lessons/{missing}"),
        ("DELETE", f"/lessons/{missing}"),
        ("POST", f"/lessons/{missing}/restore"),
        ("GET", f"/lessons/{missing}/versions"),
    ):
        body = {} if method in ("PATCH",) else None
        response = await client.request(method, API + path, headers=teacher.headers, json=body)
        assert response.status_code == 404, (method, path, response.text)


async def test_method_not_allowed_lists_every_method_of_the_path(client: httpx.AsyncClient) -> None:
    response = await client.request("PUT", f"{API}/courses")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, POST"
    trash = await client.request("PUT", f"{API}/courses/trash")
    assert trash.headers["Allow"] == "GET"
    detail = await client.request("PUT", f"{API}/courses/{uuid.uuid4()}")
    assert detail.headers["Allow"] == "DELETE, GET, PATCH"
