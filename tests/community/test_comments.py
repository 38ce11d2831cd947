"""Comments route by route: who comments, the one level of replies, who edits and who
moderates, the event written, and the rate limit."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI

from studyhall import event_types
from studyhall.community.models import Comment
from tests.community.conftest import Classroom
from tests.factories import (
    API,
    AppFactory,
    assert_problem,
    client_for,
    count_rows,
    count_statements,
    create_comment,
    create_post,
    create_user,
    events,
    fresh_row,
    outcomes,
    race,
    set_course,
)


def comments_url(post_id: object) -> str:
    return f"{API}/posts/{post_id}/comments"


def comment_url(comment: Comment | uuid.UUID) -> str:
    return f"{API}/comments/{comment.id if isinstance(comment, Comment) else comment}"


async def test_members_comment_and_reply_one_level_deep(
    app: FastAPI, client: httpx.AsyncClient, room: Classroom
) -> None:
    post = await create_post(app, room.teacher, room.course)
    url = comments_url(post.id)
    first = await client.post(
        url, json={"body": "Why *LR*? <img src=x onerror=alert(1)>"}, headers=room.student.headers
    )
    assert first.status_code == 201, first.text
    top = first.json()
    assert (top["post_id"], top["author_id"], top["parent_id"]) == (str(post.id), room.student.id, None)
    assert "<em>LR</em>" in top["body_html"] and "onerror" not in top["body_html"]
    reply = await client.post(
        url, json={"body": "Because.", "parent_id": top["id"]}, headers=room.teacher.headers
    )
    assert reply.status_code == 201 and reply.json()["parent_id"] == top["id"]
    # A reply to a reply, a parent of another post, a made-up parent: 422, nothing stored.
    deeper = await client.post(
        url, json={"body": "x", "parent_id": reply.json()["id"]}, headers=room.classmate.headers
    )
    assert_problem(deeper, 422, "comment_nesting_too_deep")
    elsewhere = await create_comment(app, room.student, await create_post(app, room.student))
    foreign = await client.post(
        url, json={"body": "x", "parent_id": str(elsewhere.id)}, headers=room.classmate.headers
    )
    assert_problem(foreign, 422, "comment_parent_invalid")
    made_up = await client.post(
        url, json={"body": "x", "parent_id": str(uuid.uuid4())}, headers=room.classmate.headers
    )
    assert_problem(made_up, 422, "comment_parent_invalid")
    for bad in ({"body": ""}, {"body": "x" * 5_001}, {"body": "x", "post_id": str(post.id)}):
        assert_problem(
            await client.post(url, json=bad, headers=room.student.headers), 422, "validation_error"
        )
    assert await count_rows(app, Comment, Comment.post_id == post.id) == 2
    assert await events(app, event_types.COMMENT_CREATED) == [
        {
            "comment_id": top["id"],
            "post_id": str(post.id),
            "course_id": str(room.course.id),
            "author_id": room.student.id,
            "parent_id": None,
        },
        {
            "comment_id": reply.json()["id"],
            "post_id": str(post.id),
            "course_id": str(room.course.id),
            "author_id": room.teacher.id,
            "parent_id": top["id"],
        },
    ]
    # Oldest first, paginated.
    listed = await client.get(url, headers=room.classmate.headers)
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["items"]] == [top["id"], reply.json()["id"]]
    page = await client.get(url, params={"limit": 1, "offset": 1}, headers=room.classmate.headers)
    assert (page.json()["total"], page.json()["limit"], page.json()["offset"]) == (2, 1, 1)
    assert [item["id"] for item in page.json()["items"]] == [reply.json()["id"]]
    assert_problem(
        await client.get(url, params={"limit": 101}, headers=room.student.headers), 422, "validation_error"
    )


async def test_who_may_not_see_the_post_gets_nothing(
    app: FastAPI, client: httpx.AsyncClient, room: Classroom
) -> None:
    post = await create_post(app, room.teacher, room.course)
    comment = await create_comment(app, room.student, post)
    url = comments_url(post.id)
    assert_problem(await client.get(url, headers=room.outsider.headers), 404, "post_not_found")
    assert_problem(
        await client.post(url, json={"body": "hi"}, headers=room.outsider.headers), 404, "post_not_found"
    )
    assert_problem(
        await client.patch(comment_url(comment), json={"body": "x"}, headers=room.outsider.headers),
        404,
        "comment_not_found",
    )
    assert_problem(
        await client.delete(comment_url(comment), headers=room.outsider.headers), 404, "comment_not_found"
    )
    assert_problem(await client.get(url), 401, "not_authenticated")
    assert_problem(
        await client.get(comments_url(uuid.uuid4()), headers=room.admin.headers), 404, "post_not_found"
    )
    # A course that became invisible: students lose its comments too; staff keep them.
    await set_course(app, room.course, status="archived")
    assert_problem(await client.get(url, headers=room.student.headers), 404, "post_not_found")
    assert_problem(
        await client.delete(comment_url(comment), headers=room.student.headers), 404, "comment_not_found"
    )
    assert (await client.get(url, headers=room.teacher.headers)).json()["total"] == 1
    # A deleted post takes its comments out of reach.
    await set_course(app, room.course, status="published")
    assert (await client.delete(f"{API}/posts/{post.id}", headers=room.teacher.headers)).status_code == 204
    assert_problem(await client.get(url, headers=room.teacher.headers), 404, "post_not_found")
    assert_problem(
        await client.post(url, json={"body": "hi"}, headers=room.teacher.headers), 404, "post_not_found"
    )
    assert_problem(
        await client.patch(comment_url(comment), json={"body": "x"}, headers=room.student.headers),
        404,
        "comment_not_found",
    )
    assert await count_rows(app, Comment) == 1


async def test_the_author_edits_and_moderators_delete(
    app: FastAPI, client: httpx.AsyncClient, room: Classroom
) -> None:
    post = await create_post(app, room.student, room.course)
    comment = await create_comment(app, room.classmate, post, body="first")
    edited = await client.patch(
        comment_url(comment), json={"body": "**second**"}, headers=room.classmate.headers
    )
    assert edited.status_code == 200
    assert (edited.json()["body"], edited.json()["body_html"]) == (
        "**second**",
        "<p><strong>second</strong></p>\n",
    )
    row = await fresh_row(app, Comment, comment.id)
    assert (row.body, row.body_html) == ("**second**", "<p><strong>second</strong></p>\n")
    # Nobody else edits it, not even the post's author, course staff or admins.
    for actor in (room.student, room.teacher, room.admin):
        denied = await client.patch(comment_url(comment), json={"body": "x"}, headers=actor.headers)
        assert_problem(denied, 403, "cannot_edit_comment")
    # The post's author may not delete it; course staff may.
    assert_problem(
        await client.delete(comment_url(comment), headers=room.student.headers), 403, "cannot_edit_comment"
    )
    assert (await client.delete(comment_url(comment), headers=room.co_teacher.headers)).status_code == 204
    assert (await fresh_row(app, Comment, comment.id)).deleted_at is not None
    assert (await client.get(comments_url(post.id), headers=room.student.headers)).json()["items"] == []
    assert_problem(
        await client.patch(comment_url(comment), json={"body": "x"}, headers=room.classmate.headers),
        404,
        "comment_not_found",
    )
    # Its author deletes their own.
    own = await create_comment(app, room.student, post)
    assert (await client.delete(comment_url(own), headers=room.student.headers)).status_code == 204
    # A deleted comment takes no replies.
    reply = await client.post(
        comments_url(post.id), json={"body": "x", "parent_id": str(own.id)}, headers=room.classmate.headers
    )
    assert_problem(reply, 422, "comment_parent_invalid")


async def test_on_an_open_post_admins_moderate(
    app: FastAPI, client: httpx.AsyncClient, room: Classroom
) -> None:
    post = await create_post(app, room.outsider)
    comment = await create_comment(app, room.student, post)
    assert_problem(
        await client.delete(comment_url(comment), headers=room.teacher.headers), 403, "cannot_edit_comment"
    )
    assert (await client.delete(comment_url(comment), headers=room.admin.headers)).status_code == 204
    assert (await fresh_row(app, Comment, comment.id)).deleted_at is not None


async def test_concurrent_deletes_of_one_comment(
    app: FastAPI, client: httpx.AsyncClient, room: Classroom
) -> None:
    comment = await create_comment(app, room.student, await create_post(app, room.teacher, room.course))
    responses = await race(
        client.delete(comment_url(comment), headers=actor.headers)
        for actor in (room.student, room.teacher, room.admin)
    )
    assert outcomes(responses) == {(204, None): 1, (404, "comment_not_found"): 2}


async def test_commenting_is_rate_limited_per_user(make_app: AppFactory) -> None:
    app = await make_app(rate_limit_comments="3/minute")
    author, other = await create_user(app), await create_user(app)
    post = await create_post(app, other)
    async with client_for(app) as client:
        for _ in range(3):
            assert (
                await client.post(comments_url(post.id), json={"body": "b"}, headers=author.headers)
            ).status_code == 201
        limited = await client.post(comments_url(post.id), json={"body": "b"}, headers=author.headers)
        assert_problem(limited, 429, "rate_limited")
        assert int(limited.headers["Retry-After"]) >= 1
        assert (
            await client.post(comments_url(post.id), json={"body": "b"}, headers=other.headers)
        ).status_code == 201
    assert await count_rows(app, Comment, Comment.author_id == author.user.id) == 3


async def test_the_comment_list_is_a_fixed_number_of_queries(
    app: FastAPI, client: httpx.AsyncClient, room: Classroom
) -> None:
    post = await create_post(app, room.teacher, room.course)
    for _ in range(30):
        await create_comment(app, room.student, post)

    async def statements_for(limit: int) -> int:
        with count_statements(app) as statements:
            response = await client.get(
                comments_url(post.id), params={"limit": limit}, headers=room.student.headers
            )
        assert response.status_code == 200 and len(response.json()["items"]) == min(limit, 30)
        return len(statements)

    assert await statements_for(2) == await statements_for(100)
