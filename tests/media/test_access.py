"""Who may see and who may delete a file, as a matrix: every kind of attachment against
everyone around a course, before and after the course is unpublished, and once deleted."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from studyhall.media.models import File
from tests.factories import API, assert_problem, fresh_row, set_course
from tests.media.conftest import Campus, attach_to_lesson

EVERYONE = ("owner", "co_teacher", "enrolled", "classmate", "outsider", "admin", "anonymous")
SIGNED_IN = EVERYONE[:-1]


def seen_by(*names: str) -> dict[str, int]:
    return {name: 200 if name in names else 404 for name in EVERYONE}


async def matrix(client: httpx.AsyncClient, campus: Campus) -> dict[str, dict[str, int]]:
    """For each file, the status of `GET /files/{id}` for each caller; a 200 must carry a
    download URL that downloads the file."""
    seen: dict[str, dict[str, int]] = {}
    for name, file in campus.files.items():
        seen[name] = {}
        for caller, headers in campus.callers().items():
            response = await client.get(f"{API}/files/{file.id}", headers=headers)
            seen[name][caller] = response.status_code
            if response.status_code == 200:
                assert response.json()["download_url"], (name, caller)
            else:
                assert_problem(response, 404, "file_not_found")
    return seen


async def test_who_sees_which_file(client: httpx.AsyncClient, campus: Campus) -> None:
    staff = ("owner", "co_teacher", "admin")
    members = (*staff, "enrolled", "classmate")
    assert await matrix(client, campus) == {
        "lesson": seen_by(*members),
        "preview": seen_by(*EVERYONE),
        "assignment": seen_by(*members),
        "submission": seen_by(*staff, "enrolled"),
        "avatar": seen_by(*SIGNED_IN),
        "unattached": seen_by("owner", "admin"),
    }


async def test_unpublishing_the_course_leaves_its_files_to_staff_and_uploaders(
    app: FastAPI, client: httpx.AsyncClient, campus: Campus
) -> None:
    await set_course(app, campus.course, status="draft")
    staff = ("owner", "co_teacher", "admin")
    assert await matrix(client, campus) == {
        "lesson": seen_by(*staff),
        "preview": seen_by(*staff),
        "assignment": seen_by(*staff),
        "submission": seen_by(*staff, "enrolled"),
        "avatar": seen_by(*SIGNED_IN),
        "unattached": seen_by("owner", "admin"),
    }


async def test_a_deleted_file_is_nobodys(app: FastAPI, client: httpx.AsyncClient, campus: Campus) -> None:
    uploaders = {"submission": campus.enrolled, "avatar": campus.outsider}
    for name, file in campus.files.items():
        uploader = uploaders.get(name, campus.owner)
        response = await client.delete(f"{API}/files/{file.id}", headers=uploader.headers)
        assert response.status_code == 204, (name, response.text)
    assert await matrix(client, campus) == {name: seen_by() for name in campus.files}


async def test_a_deleted_lesson_or_assignment_no_longer_shows_its_file(
    app: FastAPI, client: httpx.AsyncClient, campus: Campus
) -> None:
    owner = campus.owner.headers
    assert (await client.delete(f"{API}/lessons/{campus.lesson.id}", headers=owner)).status_code == 204
    assert (
        await client.delete(f"{API}/assignments/{campus.assignment['id']}", headers=owner)
    ).status_code == 204
    seen = await matrix(client, campus)
    assert seen["lesson"] == seen_by("owner", "admin")
    assert seen["assignment"] == seen_by("owner", "admin")


async def test_who_may_delete_a_file(app: FastAPI, client: httpx.AsyncClient, campus: Campus) -> None:
    """The uploader, staff of the course it is attached to, admins; others who see it 403,
    the rest 404."""
    for deleter in ("owner", "co_teacher", "admin"):
        file = await attach_to_lesson(client, app, campus.lesson, campus.owner)
        response = await client.delete(f"{API}/files/{file.id}", headers=getattr(campus, deleter).headers)
        assert response.status_code == 204, (deleter, response.text)
        assert (await fresh_row(app, File, file.id)).deleted_at is not None
    file = await attach_to_lesson(client, app, campus.lesson, campus.owner)
    assert_problem(
        await client.delete(f"{API}/files/{file.id}", headers=campus.enrolled.headers),
        403,
        "cannot_delete_file",
    )
    assert_problem(
        await client.delete(f"{API}/files/{file.id}", headers=campus.outsider.headers), 404, "file_not_found"
    )
    assert_problem(await client.delete(f"{API}/files/{file.id}"), 401, "not_authenticated")
    submission = campus.files["submission"]
    assert_problem(
        await client.delete(f"{API}/files/{submission.id}", headers=campus.classmate.headers),
        404,
        "file_not_found",
    )
    assert (
        await client.delete(f"{API}/files/{submission.id}", headers=campus.co_teacher.headers)
    ).status_code == 204
    avatar = campus.files["avatar"]
    assert_problem(
        await client.delete(f"{API}/files/{avatar.id}", headers=campus.owner.headers),
        403,
        "cannot_delete_file",
    )
    assert (await fresh_row(app, File, file.id)).deleted_at is None
    assert (await fresh_row(app, File, avatar.id)).deleted_at is None


async def test_a_restored_file_is_shown_where_it_was_attached(
    app: FastAPI, client: httpx.AsyncClient, campus: Campus
) -> None:
    file = campus.files["lesson"]
    lesson_url = f"{API}/lessons/{campus.lesson.id}"
    assert (await client.delete(f"{API}/files/{file.id}", headers=campus.owner.headers)).status_code == 204
    assert (await client.get(lesson_url, headers=campus.enrolled.headers)).json()["file"] is None
    assert (
        await client.post(f"{API}/files/{file.id}/restore", headers=campus.owner.headers)
    ).status_code == 200
    assert (await client.get(lesson_url, headers=campus.enrolled.headers)).json()["file"]["id"] == str(
        file.id
    )
    assert (await client.get(f"{API}/files/{file.id}", headers=campus.enrolled.headers)).status_code == 200
