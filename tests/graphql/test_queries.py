"""GraphQL queries see exactly what their REST twins see: the same courses, enrollments,
notifications and posts for the same caller, nothing of other people's progress, and the
same error codes (`extensions.code`)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from studyhall.core.clock import utcnow
from studyhall.identity.models import Role
from tests.factories import (
    API,
    Actor,
    FakeClock,
    access_token_for,
    add_co_instructor,
    assert_graphql_error,
    bearer,
    complete_directly,
    course_lessons,
    create_course,
    create_lesson,
    create_module,
    create_notification,
    create_organization,
    create_post,
    create_user,
    enroll_directly,
    graphql,
    graphql_data,
    set_course,
)

CATALOG = """
query Catalog($limit: Int, $offset: Int, $level: String, $q: String, $sort: String) {
  courses(limit: $limit, offset: $offset, level: $level, q: $q, sort: $sort) {
    total limit offset
    items { id slug title level isEnrolled progressPercent lessonCount enrollmentCount }
  }
}
"""

COURSE = """
query Course($id: ID, $slug: String) {
  course(id: $id, slug: $slug) {
    id slug title status isEnrolled progressPercent
    instructors { id fullName email }
    modules { id title order lessons { id } }
    lessons { id title type order durationMinutes isPreview isCompleted }
  }
}
"""


async def rest(client: httpx.AsyncClient, path: str, actor: Actor | None = None) -> httpx.Response:
    return await client.get(f"{API}{path}", headers=actor.headers if actor else {})


def rest_cards(page: dict[str, Any]) -> list[dict[str, Any]]:
    """REST course cards in the shape of the GraphQL query above."""
    return [
        {
            "id": item["id"],
            "slug": item["slug"],
            "title": item["title"],
            "level": item["level"],
            "isEnrolled": item["is_enrolled"],
            "progressPercent": item["progress_percent"],
            "lessonCount": item["lesson_count"],
            "enrollmentCount": item["enrollment_count"],
        }
        for item in page["items"]
    ]


# -- courses ------------------------------------------------------------------------------


async def test_the_catalog_shows_each_caller_what_rest_shows(app: FastAPI, client: httpx.AsyncClient) -> None:
    school, other_school = await create_organization(app), await create_organization(app)
    teacher = await create_user(app, Role.INSTRUCTOR, organization=school)
    pupil = await create_user(app, organization=school)
    outsider = await create_user(app, organization=other_school)
    public = await create_course(app, teacher, lessons=2, level="advanced")
    await create_course(app, teacher, lessons=1, visibility="organization", organization=school)
    await create_course(app, teacher, lessons=1, status="draft")
    await create_course(app, teacher, lessons=1, status="archived")
    await enroll_directly(app, pupil, public)
    await complete_directly(app, pupil, (await course_lessons(app, public))[0])

    for caller in (None, pupil, outsider, teacher):
        expected = (await rest(client, "/courses", caller)).json()
        page = graphql_data(await graphql(client, CATALOG, actor=caller))["courses"]
        assert page["items"] == rest_cards(expected)
        assert (page["total"], page["limit"], page["offset"]) == (expected["total"], 20, 0)

    pupil_page = graphql_data(await graphql(client, CATALOG, actor=pupil))["courses"]
    assert len(pupil_page["items"]) == 2  # the public course and the school's
    mine = next(item for item in pupil_page["items"] if item["id"] == str(public.id))
    assert (mine["isEnrolled"], mine["progressPercent"]) == (True, 50.0)
    outsider_page = graphql_data(await graphql(client, CATALOG, actor=outsider))["courses"]
    assert [item["id"] for item in outsider_page["items"]] == [str(public.id)]
    assert outsider_page["items"][0]["isEnrolled"] is False  # nothing of the pupil's progress


async def test_callers_of_one_shared_page_each_get_their_own_flags(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """The courses of a cached page are built once and copied per caller: interleaved
    callers of the same page never see each other's flags, and an edit shows at once."""
    teacher = await create_user(app, Role.INSTRUCTOR)
    pupil, other = await create_user(app), await create_user(app)
    first = await create_course(app, teacher, lessons=2)
    second = await create_course(app, teacher, lessons=2)
    await enroll_directly(app, pupil, first)
    await complete_directly(app, pupil, (await course_lessons(app, first))[0])
    await enroll_directly(app, other, second)

    def flags(page: dict[str, Any]) -> dict[str, tuple[bool, float | None]]:
        return {item["id"]: (item["isEnrolled"], item["progressPercent"]) for item in page["items"]}

    for caller in (pupil, other, None, pupil, other):
        page = graphql_data(await graphql(client, CATALOG, actor=caller))["courses"]
        assert page["items"] == rest_cards((await rest(client, "/courses", caller)).json())
    pupil_flags = flags(graphql_data(await graphql(client, CATALOG, actor=pupil))["courses"])
    assert pupil_flags == {str(first.id): (True, 50.0), str(second.id): (False, None)}
    other_flags = flags(graphql_data(await graphql(client, CATALOG, actor=other))["courses"])
    assert other_flags == {str(first.id): (False, None), str(second.id): (True, 0.0)}

    rename = {"title": "Renamed"}
    renamed = await client.patch(f"{API}/courses/{first.id}", json=rename, headers=teacher.headers)
    assert renamed.status_code == 200
    page = graphql_data(await graphql(client, CATALOG, actor=other))["courses"]
    assert {item["id"]: item["title"] for item in page["items"]}[str(first.id)] == "Renamed"
    assert flags(page) == other_flags


CATALOG_THROUGH_FRAGMENTS = """
query ($slug: String) {
  courses { items { ...Card } }
  course(slug: $slug) { ... on Course { id ...Flags } }
}
fragment Card on Course { id ...Flags instructors { fullName } }
fragment Flags on Course { isEnrolled progressPercent }
"""


async def test_instructors_and_flags_asked_for_through_fragments_are_answered(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    teacher = await create_user(app, Role.INSTRUCTOR, full_name="Ada Teacher")
    helper = await create_user(app, Role.INSTRUCTOR, full_name="Bob Helper")
    pupil = await create_user(app)
    course = await create_course(app, teacher, lessons=2)
    await add_co_instructor(app, course, helper)
    await enroll_directly(app, pupil, course)
    await complete_directly(app, pupil, (await course_lessons(app, course))[0])

    variables = {"slug": course.slug}
    data = graphql_data(await graphql(client, CATALOG_THROUGH_FRAGMENTS, variables, actor=pupil))
    assert data["courses"]["items"] == [
        {
            "id": str(course.id),
            "isEnrolled": True,
            "progressPercent": 50.0,
            "instructors": [{"fullName": "Ada Teacher"}, {"fullName": "Bob Helper"}],
        }
    ]
    assert data["course"] == {"id": str(course.id), "isEnrolled": True, "progressPercent": 50.0}
    anonymous = graphql_data(await graphql(client, CATALOG_THROUGH_FRAGMENTS, variables))
    assert anonymous["course"] == {"id": str(course.id), "isEnrolled": False, "progressPercent": None}


async def test_catalog_filters_and_pages_as_rest(app: FastAPI, client: httpx.AsyncClient) -> None:
    teacher = await create_user(app, Role.INSTRUCTOR)
    for n in range(5):
        await create_course(app, teacher, title=f"Topic {n}", level="beginner" if n % 2 else "advanced")

    page = graphql_data(
        await graphql(client, CATALOG, {"limit": 2, "offset": 1, "sort": "title", "level": "beginner"})
    )["courses"]
    expected = (await rest(client, "/courses?limit=2&offset=1&sort=title&level=beginner")).json()
    assert page["items"] == rest_cards(expected)
    assert (page["total"], page["limit"], page["offset"]) == (2, 2, 1)
    assert [item["title"] for item in page["items"]] == ["Topic 3"]


async def test_out_of_range_pages_and_bad_filters_are_validation_errors(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    for variables, location in (
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"offset": -1}, "offset"),
        ({"level": "expert"}, "level"),
        ({"sort": "random"}, "sort"),
        ({"q": "x" * 201}, "q"),
    ):
        query = "&".join(f"{key}={value}" for key, value in variables.items())
        assert (await rest(client, f"/courses?{query}")).status_code == 422
        body = await graphql(client, CATALOG, variables)
        error = assert_graphql_error(body, "validation_error", ["courses"])
        assert [entry["loc"] for entry in error["extensions"]["errors"]] == [["args", location]]
        assert body["data"] is None


async def test_a_course_is_null_wherever_rest_answers_404(app: FastAPI, client: httpx.AsyncClient) -> None:
    school = await create_organization(app)
    teacher = await create_user(app, Role.INSTRUCTOR, organization=school)
    student = await create_user(app)
    admin = await create_user(app, Role.ADMIN)
    draft = await create_course(app, teacher, status="draft", lessons=1)
    internal = await create_course(app, teacher, visibility="organization", organization=school)
    deleted = await create_course(app, teacher, deleted_at=utcnow())

    for course, caller, visible in (
        (draft, student, False),
        (draft, None, False),
        (draft, teacher, True),
        (draft, admin, True),
        (internal, student, False),
        (internal, teacher, True),
        (deleted, teacher, False),
    ):
        status = (await rest(client, f"/courses/{course.id}", caller)).status_code
        assert status == (200 if visible else 404)
        for variables in ({"id": str(course.id)}, {"slug": course.slug}):
            found = graphql_data(await graphql(client, COURSE, variables, actor=caller))["course"]
            assert (found is not None) == visible, (course.title, caller, variables)
    unknown = await graphql(client, COURSE, {"id": str(uuid.uuid4())})
    assert graphql_data(unknown) == {"course": None}


async def test_a_course_needs_one_well_formed_key(app: FastAPI, client: httpx.AsyncClient) -> None:
    malformed = await graphql(client, COURSE, {"id": "not-a-uuid"})
    error = assert_graphql_error(malformed, "validation_error", ["course"])
    assert error["extensions"]["errors"][0]["loc"] == ["args", "id"]
    assert_graphql_error(await graphql(client, COURSE, {}), "validation_error", ["course"])
    assert_graphql_error(
        await graphql(client, COURSE, {"id": str(uuid.uuid4()), "slug": "x"}), "validation_error", ["course"]
    )


async def test_a_course_outline_matches_the_rest_detail(app: FastAPI, client: httpx.AsyncClient) -> None:
    teacher = await create_user(app, Role.INSTRUCTOR, full_name="Grace Hopper")
    helper = await create_user(app, Role.INSTRUCTOR, full_name="Alan Kay")
    student, classmate = await create_user(app), await create_user(app)
    course = await create_course(app, teacher, lessons=0)
    await add_co_instructor(app, course, helper)
    module = await create_module(app, course, title="Basics")
    first = await create_lesson(app, course, module_id=module.id, is_preview=True)
    second = await create_lesson(app, course)
    await enroll_directly(app, student, course)
    await enroll_directly(app, classmate, course)
    await complete_directly(app, student, first)

    for caller, completed in ((student, {first.id}), (classmate, set()), (None, set())):
        detail = (await rest(client, f"/courses/{course.id}", caller)).json()
        found = graphql_data(await graphql(client, COURSE, {"id": str(course.id)}, actor=caller))["course"]
        assert found["lessons"] == [
            {
                "id": lesson["id"],
                "title": lesson["title"],
                "type": lesson["type"],
                "order": lesson["order"],
                "durationMinutes": lesson["duration_minutes"],
                "isPreview": lesson["is_preview"],
                "isCompleted": lesson["is_completed"],
            }
            for lesson in detail["lessons"]
        ]
        assert {lesson["id"] for lesson in found["lessons"] if lesson["isCompleted"]} == {
            str(lesson_id) for lesson_id in completed
        }
        assert found["modules"] == [
            {"id": str(module.id), "title": "Basics", "order": 0, "lessons": [{"id": str(first.id)}]}
        ]
        assert found["progressPercent"] == detail["progress_percent"]
    assert [lesson.id for lesson in (first, second)] == [
        uuid.UUID(lesson["id"]) for lesson in detail["lessons"]
    ]
    instructors = graphql_data(await graphql(client, COURSE, {"id": str(course.id)}, actor=student))
    assert [(i["fullName"], i["email"]) for i in instructors["course"]["instructors"]] == [
        ("Grace Hopper", None),
        ("Alan Kay", None),
    ]


async def test_private_user_fields_follow_the_rest_user_rule(app: FastAPI, client: httpx.AsyncClient) -> None:
    """An instructor's email: for themselves, admins and their organisation's principal, as
    `GET /users/{id}`; everyone else gets null."""
    school = await create_organization(app)
    teacher = await create_user(app, Role.INSTRUCTOR, organization=school, email="grace@example.com")
    principal = await create_user(app, Role.PRINCIPAL, organization=school)
    admin = await create_user(app, Role.ADMIN)
    student = await create_user(app, organization=school)
    course = await create_course(app, teacher)
    query = "query($id: ID) { course(id: $id) { instructors { email organizationId emailVerified } } }"
    for caller, sees in ((teacher, True), (principal, True), (admin, True), (student, False), (None, False)):
        user_status = (await rest(client, f"/users/{teacher.id}", caller)).status_code
        assert (user_status == 200) == sees
        [instructor] = graphql_data(await graphql(client, query, {"id": str(course.id)}, actor=caller))[
            "course"
        ]["instructors"]
        expected = (
            {"email": "grace@example.com", "organizationId": str(school.id), "emailVerified": False}
            if sees
            else {"email": None, "organizationId": None, "emailVerified": None}
        )
        assert instructor == expected


async def test_the_schema_has_no_answer_keys_content_or_secrets(client: httpx.AsyncClient) -> None:
    """Quizzes and lesson content stay on REST, where their rules live: no field of the schema
    carries an answer key, content, a password or a token."""
    types = "{ __schema { types { name fields { name } inputFields { name } } } }"
    found = graphql_data(await graphql(client, types))["__schema"]["types"]
    fields = {
        field["name"].lower()
        for type_ in found
        if not type_["name"].startswith("__")
        for field in (type_["fields"] or []) + (type_["inputFields"] or [])
    }
    assert {"title", "email", "lessons", "progresspercent"} <= fields
    for hidden in ("iscorrect", "correctoption", "answer", "content", "password", "token", "hash"):
        assert not any(hidden in field for field in fields), hidden


# -- me -----------------------------------------------------------------------------------

ME = "{ me { id fullName role email emailVerified createdAt } }"


async def test_me_is_the_caller(app: FastAPI, client: httpx.AsyncClient) -> None:
    student = await create_user(app, email="ada@example.com", full_name="Ada Lovelace")
    me = graphql_data(await graphql(client, ME, actor=student))["me"]
    rest_me = (await rest(client, "/auth/me", student)).json()
    assert me["id"] == rest_me["id"] == student.id
    assert (me["fullName"], me["role"], me["email"]) == ("Ada Lovelace", "student", "ada@example.com")


async def test_me_without_a_valid_session_is_refused_with_rest_codes(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    student = await create_user(app)
    assert_graphql_error(await graphql(client, ME), "unauthenticated", ["me"])
    garbage = await graphql(client, ME, headers=bearer("not-a-token"))
    assert_graphql_error(garbage, "invalid_token", ["me"])

    short = await access_token_for(app, student.user, ttl=timedelta(minutes=1))
    clock.advance(minutes=2)
    assert (await client.get(f"{API}/auth/me", headers=bearer(short))).json()["code"] == "invalid_token"
    assert_graphql_error(await graphql(client, ME, headers=bearer(short)), "invalid_token", ["me"])

    signed_out = await client.post(f"{API}/auth/logout-all", headers=student.headers)
    assert signed_out.status_code == 204
    assert (await rest(client, "/auth/me", student)).json()["code"] == "session_revoked"
    assert_graphql_error(await graphql(client, ME, actor=student), "session_revoked", ["me"])
    # A public field is refused too, as REST refuses a bad token on the catalog.
    assert (await rest(client, "/courses", student)).status_code == 401
    assert_graphql_error(await graphql(client, CATALOG, actor=student), "session_revoked", ["courses"])


# -- my enrollments -----------------------------------------------------------------------

MY_ENROLLMENTS = """
query($limit: Int, $offset: Int) {
  myEnrollments(limit: $limit, offset: $offset) {
    total limit offset
    items { id courseId status completedLessons totalLessons progressPercent course { id title } }
  }
}
"""


async def test_my_enrollments_are_the_callers_visible_ones(app: FastAPI, client: httpx.AsyncClient) -> None:
    teacher = await create_user(app, Role.INSTRUCTOR)
    student, classmate = await create_user(app), await create_user(app)
    kept = await create_course(app, teacher, lessons=2, title="Kept")
    withdrawn = await create_course(app, teacher, lessons=1, title="Withdrawn")
    theirs = await create_course(app, teacher, lessons=1, title="Theirs")
    for course in (kept, withdrawn):
        await enroll_directly(app, student, course)
    await enroll_directly(app, classmate, theirs)
    await complete_directly(app, student, (await course_lessons(app, kept))[0])
    await set_course(app, withdrawn, status="draft")

    page = graphql_data(await graphql(client, MY_ENROLLMENTS, actor=student))["myEnrollments"]
    expected = (await rest(client, "/enrollments/me", student)).json()
    assert [item["id"] for item in page["items"]] == [item["id"] for item in expected["items"]]
    assert page["total"] == expected["total"] == 1
    [item] = page["items"]
    assert item["course"] == {"id": str(kept.id), "title": "Kept"}
    assert (item["completedLessons"], item["totalLessons"], item["progressPercent"]) == (1, 2, 50.0)
    assert item["status"] == "active"

    assert_graphql_error(await graphql(client, MY_ENROLLMENTS), "unauthenticated", ["myEnrollments"])
    bad = await graphql(client, MY_ENROLLMENTS, {"limit": 500}, actor=student)
    assert_graphql_error(bad, "validation_error", ["myEnrollments"])
    assert (await rest(client, "/enrollments/me?limit=500", student)).status_code == 422


# -- notifications ------------------------------------------------------------------------

NOTIFICATIONS = """
query($unread: Boolean, $limit: Int) {
  notifications(unread: $unread, limit: $limit) {
    total limit offset unreadCount items { id type title body data createdAt readAt }
  }
}
"""


async def test_notifications_are_the_callers_own(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    student, other = await create_user(app), await create_user(app)
    first = await create_notification(app, student, title="First", data={"course_id": "c1"})
    clock.advance(seconds=1)
    second = await create_notification(app, student, title="Second", read=True)
    await create_notification(app, other, title="Not yours")

    for unread in (None, True):
        page = graphql_data(await graphql(client, NOTIFICATIONS, {"unread": unread}, actor=student))
        query = "?unread=true" if unread else ""
        expected = (await rest(client, f"/notifications{query}", student)).json()
        notifications = page["notifications"]
        assert [item["id"] for item in notifications["items"]] == [item["id"] for item in expected["items"]]
        assert (notifications["total"], notifications["unreadCount"]) == (
            expected["total"],
            expected["unread_count"],
        )
    everything = graphql_data(await graphql(client, NOTIFICATIONS, actor=student))["notifications"]
    assert [item["id"] for item in everything["items"]] == [str(second.id), str(first.id)]
    assert everything["items"][1]["data"] == {"course_id": "c1"}
    assert everything["items"][0]["readAt"] is not None and everything["items"][1]["readAt"] is None

    assert_graphql_error(await graphql(client, NOTIFICATIONS), "unauthenticated", ["notifications"])


# -- posts --------------------------------------------------------------------------------

POSTS = """
query($courseId: ID, $limit: Int) {
  posts(courseId: $courseId, limit: $limit) {
    total items { id title courseId kind bodyHtml author { id fullName email } }
  }
}
"""


async def test_posts_are_those_rest_lists(app: FastAPI, client: httpx.AsyncClient) -> None:
    teacher = await create_user(app, Role.INSTRUCTOR)
    student, outsider = await create_user(app), await create_user(app)
    course = await create_course(app, teacher, lessons=1)
    other_course = await create_course(app, teacher, lessons=1)
    await enroll_directly(app, student, course)
    inside = await create_post(app, student, course, title="Inside")
    await create_post(app, teacher, other_course, title="Elsewhere")
    await create_post(app, outsider, title="Open")
    await create_post(app, outsider, title="Gone", deleted=True)

    for caller in (student, outsider, teacher):
        for course_filter in (None, course.id, other_course.id):
            variables = {"courseId": str(course_filter) if course_filter else None}
            page = graphql_data(await graphql(client, POSTS, variables, actor=caller))["posts"]
            query = f"?course_id={course_filter}" if course_filter else ""
            expected = (await rest(client, f"/posts{query}", caller)).json()
            assert [item["id"] for item in page["items"]] == [item["id"] for item in expected["items"]]
            assert page["total"] == expected["total"]

    student_view = graphql_data(await graphql(client, POSTS, actor=student))["posts"]
    assert sorted(item["title"] for item in student_view["items"]) == ["Inside", "Open"]
    outsider_view = graphql_data(await graphql(client, POSTS, {"courseId": str(course.id)}, actor=outsider))[
        "posts"
    ]
    assert outsider_view == {"total": 0, "items": []}
    mine = next(item for item in student_view["items"] if item["id"] == str(inside.id))
    # The author is the caller: their own email shows; another's would be null.
    assert mine["author"] == {
        "id": student.id,
        "fullName": student.user.full_name,
        "email": student.user.email,
    }
    theirs = graphql_data(await graphql(client, POSTS, actor=teacher))["posts"]
    assert {item["author"]["email"] for item in theirs["items"] if item["id"] == str(inside.id)} == {None}

    assert_graphql_error(await graphql(client, POSTS), "unauthenticated", ["posts"])
    bad = await graphql(client, POSTS, {"courseId": "nope"}, actor=student)
    assert_graphql_error(bad, "validation_error", ["posts"])


async def test_private_fields_beside_public_ones_fail_alone(app: FastAPI, client: httpx.AsyncClient) -> None:
    """Without a token the catalog answers and each private field is its own
    `unauthenticated` error (partial data, as GraphQL allows)."""
    teacher = await create_user(app, Role.INSTRUCTOR)
    await create_course(app, teacher)
    body = await graphql(client, "{ courses { total } me { id } }")
    assert body["data"] == {"courses": {"total": 1}, "me": None}
    assert_graphql_error(body, "unauthenticated", ["me"])
