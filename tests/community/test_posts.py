"""Posts route by route: who may read, write, delete and restore them, what the listing
shows to whom, the events written, and the limits."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from studyhall import event_types
from studyhall.community.models import Post
from studyhall.core.clock import utcnow
from studyhall.core.events import OutboxEvent
from studyhall.identity.models import Role, User
from tests.community.conftest import Classroom
from tests.factories import (
    API,
    AppFactory,
    assert_problem,
    client_for,
    count_rows,
    count_statements,
    create_course,
    create_organization,
    create_post,
    create_user,
    enroll_directly,
    events,
    fresh_row,
    outcomes,
    race,
    set_course,
)

POSTS = f"{API}/posts"


def post_url(post: Post | str | uuid.UUID) -> str:
    return f"{POSTS}/{post.id if isinstance(post, Post) else post}"


# -- creating ---------------------------------------------------------------------------------


async def test_an_open_post_is_written_sanitised_and_announced_in_the_outbox(
    app: FastAPI, client: httpx.AsyncClient, room: Classroom
) -> None:
    body = 'Hello **all** <script>alert(1)</script><a href="javascript:alert(1)">x</a>'
    response = await client.post(POSTS, json={"title": "  Hi  ", "body": body}, headers=room.student.headers)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["title"] == "Hi"
    assert created["body"] == body
    assert created["course_id"] is None
    assert created["kind"] == "discussion"
    assert created["author_id"] == room.student.id
    assert "<strong>all</strong>" in created["body_html"]
    assert "script" not in created["body_html"] and "javascript" not in created["body_html"]
    row = await fresh_row(app, Post, created["id"])
    assert (row.title, row.body, row.body_html, row.deleted_at) == ("Hi", body, created["body_html"], None)
    assert await events(app, event_types.POST_CREATED) == [
        {"post_id": created["id"], "course_id": None, "author_id": room.student.id, "kind": "discussion"}
    ]
    assert await events(app, event_types.ANNOUNCEMENT_POSTED) == []
    # Every signed-in user reads an open post; nobody anonymous.
    seen = await client.get(post_url(created["id"]), headers=room.outsider.headers)
    assert seen.status_code == 200 and seen.json() == created
    assert_problem(await client.get(post_url(created["id"])), 401, "not_authenticated")
    assert_problem(await client.post(POSTS, json={"title": "x", "body": "y"}), 401, "not_authenticated")


async def test_course_posts_are_for_its_members(
    app: FastAPI, client: httpx.AsyncClient, room: Classroom
) -> None:
    payload = {"title": "Question", "body": "What is a parser?", "course_id": str(room.course.id)}
    for member in (room.student, room.teacher, room.co_teacher, room.admin):
        response = await client.post(POSTS, json=payload, headers=member.headers)
        assert response.status_code == 201, response.text
        assert response.json()["course_id"] == str(room.course.id)
    # Sees the course, is not enrolled: 403; a course the caller may not see: 404.
    assert_problem(await client.post(POSTS, json=payload, headers=room.outsider.headers), 403, "not_enrolled")
    draft = await create_course(app, room.teacher, status="draft")
    hidden = {**payload, "course_id": str(draft.id)}
    assert_problem(
        await client.post(POSTS, json=hidden, headers=room.student.headers), 404, "course_not_found"
    )
    missing = {**payload, "course_id": str(uuid.uuid4())}
    assert_problem(
        await client.post(POSTS, json=missing, headers=room.student.headers), 404, "course_not_found"
    )
    assert await count_rows(app, Post) == 4
    # A non-member does not even learn a course post exists.
    post = await create_post(app, room.student, room.course)
    assert_problem(await client.get(post_url(post), headers=room.outsider.headers), 404, "post_not_found")
    assert (await client.get(post_url(post), headers=room.classmate.headers)).status_code == 200


async def test_announcements_are_for_course_staff_in_a_course(
    app: FastAPI, client: httpx.AsyncClient, room: Classroom
) -> None:
    announcement = {
        "title": "Exam",
        "body": "On Friday.",
        "course_id": str(room.course.id),
        "kind": "announcement",
    }
    assert_problem(
        await client.post(POSTS, json=announcement, headers=room.student.headers),
        403,
        "announcement_staff_only",
    )
    open_one = {"title": "Exam", "body": "On Friday.", "kind": "announcement"}
    assert_problem(
        await client.post(POSTS, json=open_one, headers=room.admin.headers), 422, "announcement_needs_course"
    )
    assert await count_rows(app, Post) == 0
    response = await client.post(POSTS, json=announcement, headers=room.co_teacher.headers)
    assert response.status_code == 201, response.text
    assert response.json()["kind"] == "announcement"
    payload = {
        "post_id": response.json()["id"],
        "course_id": str(room.course.id),
        "author_id": room.co_teacher.id,
    }
    assert await events(app, event_types.ANNOUNCEMENT_POSTED) == [{**payload, "kind": "announcement"}]
    assert await events(app, event_types.POST_CREATED) == [{**payload, "kind": "announcement"}]
    # Admins run every course.
    by_admin = await client.post(POSTS, json=announcement, headers=room.admin.headers)
    assert by_admin.status_code == 201, by_admin.text


async def test_input_limits(app: FastAPI, client: httpx.AsyncClient, room: Classroom) -> None:
    headers = room.student.headers
    for bad in (
        {"title": "x" * 201, "body": "b"},
        {"title": "   ", "body": "b"},
        {"title": "t", "body": ""},
        {"title": "t", "body": "b" * 20_001},
        {"title": "t", "body": "b", "kind": "poll"},
        {"title": "t", "body": "b", "author_id": room.teacher.id},
        {"title": "t\u0000", "body": "b"},
    ):
        assert_problem(await client.post(POSTS, json=bad, headers=headers), 422, "validation_error")
    assert await count_rows(app, Post) == 0


async def test_posting_is_rate_limited_per_user(make_app: AppFactory) -> None:
    app = await make_app(rate_limit_posts="2/minute")
    author, other = await create_user(app), await create_user(app)
    async with client_for(app) as client:
        for _ in range(2):
            response = await client.post(POSTS, json={"title": "t", "body": "b"}, headers=author.headers)
            assert response.status_code == 201
        limited = await client.post(POSTS, json={"title": "t", "body": "b"}, headers=author.headers)
        assert_problem(limited, 429, "rate_limited")
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        # Another user has their own allowance.
        assert (
            await client.post(POSTS, json={"title": "t", "body": "b"}, headers=other.headers)
        ).status_code == 201
    assert await count_rows(app, Post, Post.author_id == author.user.id) == 2


# -- visibility over time -----------------------------------------------------------------------


async def test_a_course_that_became_invisible_hides_its_posts_from_students_not_staff(
    app: FastAPI, client: httpx.AsyncClient, room: Classroom
) -> None:
    post = await create_post(app, room.student, room.course)
    for change in ({"status": "draft"}, {"status": "archived"}):
        await set_course(app, room.course, **change)
        assert_problem(await client.get(post_url(post), headers=room.student.headers), 404, "post_not_found")
        listed = await client.get(POSTS, headers=room.student.headers)
        assert listed.json()["total"] == 0
        # Even its author may no longer change it.
        patch = await client.patch(post_url(post), json={"title": "New"}, headers=room.student.headers)
        assert_problem(patch, 404, "post_not_found")
        assert (await client.get(post_url(post), headers=room.teacher.headers)).status_code == 200
        assert (await client.get(POSTS, headers=room.teacher.headers)).json()["total"] == 1
    await set_course(app, room.course, status="published")
    assert (await client.get(post_url(post), headers=room.student.headers)).status_code == 200
    # A deleted course takes its posts with it, for its staff too, until it is restored.
    await set_course(app, room.course, deleted_at=utcnow())
    for actor in (room.student, room.teacher, room.admin):
        assert_problem(await client.get(post_url(post), headers=actor.headers), 404, "post_not_found")
        assert (await client.get(POSTS, headers=actor.headers)).json()["total"] == 0
    await set_course(app, room.course, deleted_at=None)
    assert (await client.get(post_url(post), headers=room.student.headers)).status_code == 200


async def test_a_student_who_left_the_course_loses_its_posts(
    app: FastAPI, client: httpx.AsyncClient, room: Classroom
) -> None:
    post = await create_post(app, room.teacher, room.course)
    left = await client.delete(f"{API}/courses/{room.course.id}/enroll", headers=room.student.headers)
    assert left.status_code == 204
    assert_problem(await client.get(post_url(post), headers=room.student.headers), 404, "post_not_found")
    assert (await client.get(POSTS, headers=room.student.headers)).json()["items"] == []


# -- listing ----------------------------------------------------------------------------------


async def test_the_listing_shows_only_what_the_caller_may_see_newest_first_with_filters(
    app: FastAPI, client: httpx.AsyncClient, room: Classroom
) -> None:
    open_post = await create_post(app, room.outsider)
    in_course = await create_post(app, room.student, room.course)
    announcement = await create_post(app, room.teacher, room.course, kind="announcement")
    elsewhere = await create_post(app, room.co_teacher, room.other_course)
    await create_post(app, room.student, deleted=True)
    draft = await create_course(app, room.teacher, status="draft")
    in_draft = await create_post(app, room.teacher, draft)

    async def listed(actor_headers: dict[str, str], **query: str) -> list[str]:
        response = await client.get(POSTS, params=query, headers=actor_headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["total"] == len(body["items"])
        return [item["id"] for item in body["items"]]

    ids = lambda *posts: [str(post.id) for post in posts]  # noqa: E731
    assert await listed(room.student.headers) == ids(announcement, in_course, open_post)
    assert await listed(room.outsider.headers) == ids(open_post)
    assert await listed(room.teacher.headers) == ids(in_draft, announcement, in_course, open_post)
    assert await listed(room.co_teacher.headers) == ids(elsewhere, announcement, in_course, open_post)
    assert await listed(room.admin.headers) == ids(in_draft, elsewhere, announcement, in_course, open_post)
    # Filters narrow what the caller may see, never widen it.
    assert await listed(room.student.headers, course_id=str(room.course.id)) == ids(announcement, in_course)
    assert await listed(room.student.headers, course_id=str(room.other_course.id)) == []
    assert await listed(room.student.headers, course_id=str(draft.id)) == []
    assert await listed(room.student.headers, author_id=room.teacher.id) == ids(announcement)
    assert await listed(room.student.headers, kind="discussion") == ids(in_course, open_post)
    assert await listed(room.student.headers, kind="announcement") == ids(announcement)
    page = await client.get(POSTS, params={"limit": 1, "offset": 1}, headers=room.student.headers)
    assert page.json() == {
        "items": [page.json()["items"][0]],
        "total": 3,
        "limit": 1,
        "offset": 1,
    } and page.json()["items"][0]["id"] == str(in_course.id)
    for bad in ({"limit": 101}, {"limit": 0}, {"offset": -1}, {"kind": "poll"}, {"course_id": "nope"}):
        assert_problem(
            await client.get(POSTS, params=bad, headers=room.student.headers), 422, "validation_error"
        )
    assert_problem(await client.get(POSTS), 401, "not_authenticated")


async def test_the_listing_is_a_fixed_number_of_queries_whatever_the_page_size(
    app: FastAPI, client: httpx.AsyncClient, room: Classroom
) -> None:
    for n in range(30):
        await create_post(app, room.student, room.course if n % 2 else None)

    async def statements_for(limit: int) -> int:
        with count_statements(app) as statements:
            response = await client.get(POSTS, params={"limit": limit}, headers=room.student.headers)
        assert response.status_code == 200 and len(response.json()["items"]) == min(limit, 30)
        return len(statements)

    assert await statements_for(2) == await statements_for(100)


# -- changing -------------------------------------------------------------------------------


async def test_the_author_course_staff_and_admins_edit_a_post(
    app: FastAPI, client: httpx.AsyncClient, room: Classroom
) -> None:
    post = await create_post(app, room.student, room.course, title="Before", body="old")
    put = await client.put(
        post_url(post), json={"title": "After", "body": "**new**"}, headers=room.student.headers
    )
    assert put.status_code == 200, put.text
    assert (put.json()["title"], put.json()["body_html"]) == ("After", "<p><strong>new</strong></p>\n")
    patched = await client.patch(post_url(post), json={"title": "By staff"}, headers=room.co_teacher.headers)
    assert patched.status_code == 200 and patched.json()["body"] == "**new**"
    by_admin = await client.patch(post_url(post), json={"body": "admin"}, headers=room.admin.headers)
    assert by_admin.status_code == 200
    row = await fresh_row(app, Post, post.id)
    assert (row.title, row.body, row.body_html, row.course_id) == (
        "By staff",
        "admin",
        "<p>admin</p>\n",
        room.course.id,
    )
    assert [e["editor_id"] for e in await events(app, event_types.POST_UPDATED)] == [
        room.student.id,
        room.co_teacher.id,
        room.admin.id,
    ]
    # A classmate sees it and may not change it; an outsider does not see it.
    denied = await client.patch(post_url(post), json={"title": "Mine"}, headers=room.classmate.headers)
    assert_problem(denied, 403, "cannot_edit_post")
    hidden = await client.put(post_url(post), json={"title": "x", "body": "y"}, headers=room.outsider.headers)
    assert_problem(hidden, 404, "post_not_found")
    # Course and kind are fixed; PUT needs the whole post.
    for bad in (
        {"title": "x", "body": "y", "course_id": None},
        {"title": "x"},
        {"title": "x", "body": "y", "kind": "announcement"},
    ):
        assert_problem(
            await client.put(post_url(post), json=bad, headers=room.student.headers), 422, "validation_error"
        )
    assert_problem(
        await client.patch(post_url(uuid.uuid4()), json={}, headers=room.admin.headers), 404, "post_not_found"
    )
    assert (await fresh_row(app, Post, post.id)).title == "By staff"
    # A change that changes nothing answers the post and tells nobody.
    for same in ({}, {"title": "By staff"}, {"title": None}):
        unchanged = await client.patch(post_url(post), json=same, headers=room.student.headers)
        assert unchanged.status_code == 200 and unchanged.json()["title"] == "By staff"
    assert_problem(
        await client.patch(post_url(post), json={}, headers=room.classmate.headers), 403, "cannot_edit_post"
    )
    assert len(await events(app, event_types.POST_UPDATED)) == 3


async def test_an_open_post_is_changed_by_its_author_and_admins_only(
    app: FastAPI, client: httpx.AsyncClient, room: Classroom
) -> None:
    post = await create_post(app, room.student)
    denied = await client.patch(post_url(post), json={"title": "x"}, headers=room.teacher.headers)
    assert_problem(denied, 403, "cannot_edit_post")
    assert_problem(await client.delete(post_url(post), headers=room.teacher.headers), 403, "cannot_edit_post")
    assert (await client.delete(post_url(post), headers=room.admin.headers)).status_code == 204
    assert (await fresh_row(app, Post, post.id)).deleted_at is not None


async def test_delete_and_restore(app: FastAPI, client: httpx.AsyncClient, room: Classroom) -> None:
    post = await create_post(app, room.student, room.course)
    assert_problem(
        await client.delete(post_url(post), headers=room.classmate.headers), 403, "cannot_edit_post"
    )
    deleted = await client.delete(post_url(post), headers=room.student.headers)
    assert deleted.status_code == 204 and deleted.content == b""
    row = await fresh_row(app, Post, post.id)
    assert row.deleted_at is not None
    assert await events(app, event_types.POST_DELETED) == [
        {
            "post_id": str(post.id),
            "course_id": str(room.course.id),
            "author_id": room.student.id,
            "kind": "discussion",
            "deleted_by": room.student.id,
        }
    ]
    # Gone from every read, and unknown to those who may not restore it.
    for actor in (room.student, room.classmate, room.teacher):
        assert_problem(await client.get(post_url(post), headers=actor.headers), 404, "post_not_found")
        assert (await client.get(POSTS, headers=actor.headers)).json()["total"] == 0
    assert_problem(await client.delete(post_url(post), headers=room.student.headers), 404, "post_not_found")
    restore = f"{post_url(post)}/restore"
    assert_problem(await client.post(restore, headers=room.classmate.headers), 404, "post_not_found")
    assert_problem(await client.post(restore, headers=room.outsider.headers), 404, "post_not_found")
    restored = await client.post(restore, headers=room.teacher.headers)
    assert restored.status_code == 200 and restored.json()["id"] == str(post.id)
    assert (await fresh_row(app, Post, post.id)).deleted_at is None
    assert [e["restored_by"] for e in await events(app, event_types.POST_RESTORED)] == [room.teacher.id]
    assert (await client.get(post_url(post), headers=room.classmate.headers)).status_code == 200
    assert_problem(await client.post(restore, headers=room.student.headers), 409, "not_deleted")
    assert_problem(await client.post(restore, headers=room.classmate.headers), 403, "cannot_edit_post")


async def test_concurrent_deletes_of_one_post_delete_it_once(
    app: FastAPI, client: httpx.AsyncClient, room: Classroom
) -> None:
    post = await create_post(app, room.student, room.course)
    responses = await race(
        client.delete(post_url(post), headers=actor.headers)
        for actor in (room.student, room.teacher, room.admin)
    )
    assert outcomes(responses) == {(204, None): 1, (404, "post_not_found"): 2}
    assert len(await events(app, event_types.POST_DELETED)) == 1
    assert await count_rows(app, OutboxEvent, OutboxEvent.event_type == event_types.POST_DELETED) == 1


async def test_concurrent_restores_restore_once(
    app: FastAPI, client: httpx.AsyncClient, room: Classroom
) -> None:
    post = await create_post(app, room.student, room.course, deleted=True)
    responses = await race(
        client.post(f"{post_url(post)}/restore", headers=room.student.headers) for _ in range(3)
    )
    assert outcomes(responses) == {(200, None): 1, (409, "not_deleted"): 2}
    assert len(await events(app, event_types.POST_RESTORED)) == 1


async def test_an_admin_enrolled_nowhere_and_a_new_member_see_course_posts(
    app: FastAPI, client: httpx.AsyncClient, room: Classroom
) -> None:
    post = await create_post(app, room.teacher, room.other_course)
    assert (await client.get(post_url(post), headers=room.admin.headers)).status_code == 200
    assert_problem(await client.get(post_url(post), headers=room.student.headers), 404, "post_not_found")
    await enroll_directly(app, room.student, room.other_course)
    assert (await client.get(post_url(post), headers=room.student.headers)).status_code == 200


async def test_an_organisation_course_post_follows_membership_and_its_principal_moderates(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    school = await create_organization(app)
    principal = await create_user(app, Role.PRINCIPAL, organization=school)
    teacher = await create_user(app, Role.INSTRUCTOR, organization=school)
    student = await create_user(app, organization=school)
    course = await create_course(app, teacher, visibility="organization", organization=school)
    await enroll_directly(app, student, course)
    post = await create_post(app, student, course)
    assert (await client.get(post_url(post), headers=student.headers)).status_code == 200
    listed = await client.get(POSTS, headers=principal.headers)
    assert [item["id"] for item in listed.json()["items"]] == [str(post.id)]
    edited = await client.patch(post_url(post), json={"title": "Moderated"}, headers=principal.headers)
    assert edited.status_code == 200 and edited.json()["title"] == "Moderated"
    # Moved out of the organisation: the enrollment no longer opens the course's posts.
    async with app.state.database.sessionmaker() as session, session.begin():
        await session.execute(update(User).where(User.id == student.user.id).values(organization_id=None))
    assert_problem(await client.get(post_url(post), headers=student.headers), 404, "post_not_found")
    assert (await client.get(POSTS, headers=student.headers)).json()["total"] == 0
