"""Collections route by route: only their owner reads or changes them, adding a post is
idempotent (also under concurrent requests), and they list only posts the owner can still
see."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI

from studyhall.community.models import Collection, CollectionPost
from tests.community.conftest import Classroom
from tests.factories import (
    API,
    Actor,
    assert_problem,
    count_rows,
    count_statements,
    create_course,
    create_post,
    fresh_row,
    outcomes,
    race,
    set_course,
)

COLLECTIONS = f"{API}/collections"


async def new_collection(client: httpx.AsyncClient, owner: Actor, name: str = "Reading list") -> str:
    response = await client.post(
        COLLECTIONS, json={"name": name, "description": "For later"}, headers=owner.headers
    )
    assert response.status_code == 201, response.text
    collection_id: str = response.json()["id"]
    return collection_id


async def test_a_collection_is_its_owners_alone(
    app: FastAPI, client: httpx.AsyncClient, room: Classroom
) -> None:
    created = await client.post(
        COLLECTIONS, json={"name": "  Parsers  ", "description": "LR, LL"}, headers=room.student.headers
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["name"], body["description"], body["owner_id"]) == ("Parsers", "LR, LL", room.student.id)
    row = await fresh_row(app, Collection, body["id"])
    assert (row.owner_id, row.name, row.description, row.deleted_at) == (
        room.student.user.id,
        "Parsers",
        "LR, LL",
        None,
    )
    await new_collection(client, room.classmate, "Theirs")
    mine = await client.get(COLLECTIONS, headers=room.student.headers)
    assert [item["id"] for item in mine.json()["items"]] == [body["id"]] and mine.json()["total"] == 1
    url = f"{COLLECTIONS}/{body['id']}"
    assert (await client.get(url, headers=room.student.headers)).json() == body
    # Anyone else, admins included, does not find it, whatever they try.
    for stranger in (room.classmate, room.admin):
        assert_problem(await client.get(url, headers=stranger.headers), 404, "collection_not_found")
        assert_problem(
            await client.put(url, json={"name": "x"}, headers=stranger.headers), 404, "collection_not_found"
        )
        assert_problem(
            await client.patch(url, json={"name": "x"}, headers=stranger.headers), 404, "collection_not_found"
        )
        assert_problem(await client.delete(url, headers=stranger.headers), 404, "collection_not_found")
        assert_problem(
            await client.get(f"{url}/posts", headers=stranger.headers), 404, "collection_not_found"
        )
        post = await create_post(app, stranger)
        added = await client.post(f"{url}/posts", json={"post_id": str(post.id)}, headers=stranger.headers)
        assert_problem(added, 404, "collection_not_found")
        assert_problem(
            await client.delete(f"{url}/posts/{post.id}", headers=stranger.headers),
            404,
            "collection_not_found",
        )
    assert_problem(await client.get(url), 401, "not_authenticated")
    assert_problem(await client.get(COLLECTIONS), 401, "not_authenticated")
    assert (await fresh_row(app, Collection, body["id"])).name == "Parsers"
    assert await count_rows(app, CollectionPost) == 0


async def test_edit_and_delete_a_collection(app: FastAPI, client: httpx.AsyncClient, room: Classroom) -> None:
    collection_id = await new_collection(client, room.student)
    url = f"{COLLECTIONS}/{collection_id}"
    patched = await client.patch(url, json={"name": "Renamed"}, headers=room.student.headers)
    assert (patched.status_code, patched.json()["name"], patched.json()["description"]) == (
        200,
        "Renamed",
        "For later",
    )
    cleared = await client.patch(url, json={"description": None}, headers=room.student.headers)
    assert cleared.json()["description"] is None
    put = await client.put(url, json={"name": "Whole"}, headers=room.student.headers)
    assert (put.status_code, put.json()["name"], put.json()["description"]) == (200, "Whole", None)
    for bad in (
        {"name": ""},
        {"name": "x" * 101},
        {"name": "x", "description": "d" * 2_001},
        {"name": "x", "owner_id": room.admin.id},
    ):
        assert_problem(await client.put(url, json=bad, headers=room.student.headers), 422, "validation_error")
        assert_problem(
            await client.post(COLLECTIONS, json=bad, headers=room.student.headers), 422, "validation_error"
        )
    assert_problem(
        await client.put(url, json={"description": "d"}, headers=room.student.headers),
        422,
        "validation_error",
    )
    row = await fresh_row(app, Collection, collection_id)
    assert (row.name, row.description) == ("Whole", None)
    assert (await client.delete(url, headers=room.student.headers)).status_code == 204
    assert (await fresh_row(app, Collection, collection_id)).deleted_at is not None
    assert_problem(await client.get(url, headers=room.student.headers), 404, "collection_not_found")
    assert_problem(await client.delete(url, headers=room.student.headers), 404, "collection_not_found")
    assert (await client.get(COLLECTIONS, headers=room.student.headers)).json()["total"] == 0


async def test_adding_a_post_is_idempotent(app: FastAPI, client: httpx.AsyncClient, room: Classroom) -> None:
    collection_id = await new_collection(client, room.student)
    url = f"{COLLECTIONS}/{collection_id}/posts"
    post = await create_post(app, room.teacher, room.course)
    first = await client.post(url, json={"post_id": str(post.id)}, headers=room.student.headers)
    assert first.status_code == 201, first.text
    assert (first.json()["collection_id"], first.json()["post_id"]) == (collection_id, str(post.id))
    again = await client.post(url, json={"post_id": str(post.id)}, headers=room.student.headers)
    assert again.status_code == 200 and again.json() == first.json()
    assert await count_rows(app, CollectionPost) == 1
    listed = await client.get(url, headers=room.student.headers)
    assert [item["id"] for item in listed.json()["items"]] == [str(post.id)]
    assert listed.json()["items"][0]["title"] == post.title


async def test_only_posts_the_owner_may_see_go_in(
    app: FastAPI, client: httpx.AsyncClient, room: Classroom
) -> None:
    collection_id = await new_collection(client, room.student)
    url = f"{COLLECTIONS}/{collection_id}/posts"
    draft = await create_course(app, room.teacher, status="draft")
    for post_id in (
        (await create_post(app, room.teacher, room.other_course)).id,
        (await create_post(app, room.teacher, draft)).id,
        (await create_post(app, room.student, deleted=True)).id,
        uuid.uuid4(),
    ):
        response = await client.post(url, json={"post_id": str(post_id)}, headers=room.student.headers)
        assert_problem(response, 404, "post_not_found")
    assert_problem(
        await client.post(url, json={"post_id": "nope"}, headers=room.student.headers),
        422,
        "validation_error",
    )
    assert await count_rows(app, CollectionPost) == 0


async def test_a_collection_lists_only_posts_the_owner_can_still_see(
    app: FastAPI, client: httpx.AsyncClient, room: Classroom
) -> None:
    collection_id = await new_collection(client, room.student)
    url = f"{COLLECTIONS}/{collection_id}/posts"
    open_post = await create_post(app, room.outsider)
    course_post = await create_post(app, room.teacher, room.course)
    to_delete = await create_post(app, room.student)
    for post in (open_post, course_post, to_delete):
        assert (
            await client.post(url, json={"post_id": str(post.id)}, headers=room.student.headers)
        ).status_code == 201

    async def listed() -> list[str]:
        response = await client.get(url, headers=room.student.headers)
        assert response.status_code == 200
        assert response.json()["total"] == len(response.json()["items"])
        return [item["id"] for item in response.json()["items"]]

    # Most recently added first.
    assert await listed() == [str(to_delete.id), str(course_post.id), str(open_post.id)]
    assert (
        await client.delete(f"{API}/posts/{to_delete.id}", headers=room.student.headers)
    ).status_code == 204
    await set_course(app, room.course, status="draft")
    assert await listed() == [str(open_post.id)]
    await set_course(app, room.course, status="published")
    assert (
        await client.post(f"{API}/posts/{to_delete.id}/restore", headers=room.student.headers)
    ).status_code == 200
    assert await listed() == [str(to_delete.id), str(course_post.id), str(open_post.id)]
    page = await client.get(url, params={"limit": 2, "offset": 2}, headers=room.student.headers)
    assert (page.json()["total"], [item["id"] for item in page.json()["items"]]) == (3, [str(open_post.id)])
    assert await count_rows(app, CollectionPost) == 3


async def test_removing_a_post(app: FastAPI, client: httpx.AsyncClient, room: Classroom) -> None:
    collection_id = await new_collection(client, room.student)
    post = await create_post(app, room.teacher, room.course)
    url = f"{COLLECTIONS}/{collection_id}/posts"
    assert (
        await client.post(url, json={"post_id": str(post.id)}, headers=room.student.headers)
    ).status_code == 201
    # Removing works even when the post is no longer visible to the owner.
    await set_course(app, room.course, status="archived")
    removed = await client.delete(f"{url}/{post.id}", headers=room.student.headers)
    assert removed.status_code == 204 and removed.content == b""
    assert await count_rows(app, CollectionPost) == 0
    assert_problem(
        await client.delete(f"{url}/{post.id}", headers=room.student.headers), 404, "post_not_in_collection"
    )
    assert_problem(
        await client.delete(f"{url}/{uuid.uuid4()}", headers=room.student.headers),
        404,
        "post_not_in_collection",
    )


async def test_concurrent_adds_store_one_entry_and_concurrent_removes_remove_it_once(
    app: FastAPI, client: httpx.AsyncClient, room: Classroom
) -> None:
    collection_id = await new_collection(client, room.student)
    post = await create_post(app, room.student)
    url = f"{COLLECTIONS}/{collection_id}/posts"
    added = await race(
        client.post(url, json={"post_id": str(post.id)}, headers=room.student.headers) for _ in range(5)
    )
    assert outcomes(added) == {(201, None): 1, (200, None): 4}
    assert len({response.json()["added_at"] for response in added}) == 1
    assert await count_rows(app, CollectionPost) == 1
    removed = await race(client.delete(f"{url}/{post.id}", headers=room.student.headers) for _ in range(3))
    assert outcomes(removed) == {(204, None): 1, (404, "post_not_in_collection"): 2}
    assert await count_rows(app, CollectionPost) == 0


async def test_concurrent_deletes_of_a_collection(
    app: FastAPI, client: httpx.AsyncClient, room: Classroom
) -> None:
    collection_id = await new_collection(client, room.student)
    url = f"{COLLECTIONS}/{collection_id}"
    responses = await race(client.delete(url, headers=room.student.headers) for _ in range(3))
    assert outcomes(responses) == {(204, None): 1, (404, "collection_not_found"): 2}


async def test_the_collection_list_is_a_fixed_number_of_queries(
    app: FastAPI, client: httpx.AsyncClient, room: Classroom
) -> None:
    collection_id = await new_collection(client, room.student)
    url = f"{COLLECTIONS}/{collection_id}/posts"
    for n in range(30):
        post = await create_post(app, room.teacher, room.course if n % 2 else None)
        assert (
            await client.post(url, json={"post_id": str(post.id)}, headers=room.student.headers)
        ).status_code == 201

    async def statements_for(limit: int) -> int:
        with count_statements(app) as statements:
            response = await client.get(url, params={"limit": limit}, headers=room.student.headers)
        assert response.status_code == 200 and len(response.json()["items"]) == min(limit, 30)
        return len(statements)

    assert await statements_for(2) == await statements_for(100)
