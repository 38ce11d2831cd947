"""File ids other resources take are checked and recorded by media: an avatar, an
assignment's attachments, a submission's files, a file lesson's file. Each must be a live,
`ready` file of the caller with the right purpose, else `422 invalid_file` and nothing
changes; what is accepted is recorded in `file_attachments` in the same transaction."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import httpx
import pytest
from fastapi import FastAPI

from studyhall.assessment.models import Assignment, Submission
from studyhall.catalog.models import Lesson
from studyhall.identity.models import Role, User
from studyhall.media.models import File, FileAttachment
from tests.factories import (
    API,
    Actor,
    assert_problem,
    count_rows,
    count_statements,
    create_course,
    create_file,
    create_lesson,
    create_user,
    enroll_directly,
    fresh_row,
    rows,
)

FileMaker = Callable[[Actor], Awaitable[File]]


async def attachments(app: FastAPI, kind: str, target_id: uuid.UUID | str) -> set[uuid.UUID]:
    found = await rows(
        app,
        FileAttachment,
        FileAttachment.kind == kind,
        FileAttachment.target_id == uuid.UUID(str(target_id)),
    )
    return {attachment.file_id for attachment in found}


async def unusable_files(
    app: FastAPI, client: httpx.AsyncClient, caller: Actor, purpose: str
) -> dict[str, str]:
    """For each way a file can be wrong for `purpose` and `caller`, a file id that is."""
    other = await create_user(app)
    wrong_purpose = "submission" if purpose != "submission" else "lesson_material"
    deleted = await create_file(app, caller, purpose=purpose, content_type="image/png")
    assert (await client.delete(f"{API}/files/{deleted.id}", headers=caller.headers)).status_code == 204
    return {
        "unknown": str(uuid.uuid4()),
        "pending": str(
            (await create_file(app, caller, purpose=purpose, content_type="image/png", ready=False)).id
        ),
        "someone else's": str((await create_file(app, other, purpose=purpose, content_type="image/png")).id),
        "another purpose": str((await create_file(app, caller, purpose=wrong_purpose)).id),
        "deleted": str(deleted.id),
    }


def assert_invalid_file(response: httpx.Response, file_id: str) -> None:
    assert file_id in assert_problem(response, 422, "invalid_file")["detail"]


# -- avatar ------------------------------------------------------------------------------------


async def test_avatar_must_be_the_callers_ready_avatar_file(app: FastAPI, client: httpx.AsyncClient) -> None:
    me = await create_user(app)
    for reason, file_id in (await unusable_files(app, client, me, "avatar")).items():
        response = await client.patch(f"{API}/auth/me", headers=me.headers, json={"avatar_file_id": file_id})
        assert_invalid_file(response, file_id)
        assert (await fresh_row(app, User, me.user.id)).avatar_file_id is None, reason
    assert await attachments(app, "avatar", me.user.id) == set()


async def test_avatar_is_recorded_and_replaced(app: FastAPI, client: httpx.AsyncClient) -> None:
    me = await create_user(app)
    first, second = [await create_file(app, me, purpose="avatar", content_type="image/png") for _ in range(2)]
    for avatar in (first, second):
        response = await client.patch(
            f"{API}/auth/me", headers=me.headers, json={"avatar_file_id": str(avatar.id)}
        )
        assert response.status_code == 200 and response.json()["avatar_file_id"] == str(avatar.id)
        assert await attachments(app, "avatar", me.user.id) == {avatar.id}
    # Keeping the same avatar while changing the name is fine.
    same = await client.patch(
        f"{API}/auth/me", headers=me.headers, json={"full_name": "Renamed", "avatar_file_id": str(second.id)}
    )
    assert same.status_code == 200
    cleared = await client.patch(f"{API}/auth/me", headers=me.headers, json={"avatar_file_id": None})
    assert cleared.status_code == 200 and cleared.json()["avatar_file_id"] is None
    assert await attachments(app, "avatar", me.user.id) == set()


# -- assignments -------------------------------------------------------------------------------


async def test_assignment_attachments_are_checked_on_create(app: FastAPI, client: httpx.AsyncClient) -> None:
    teacher = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, teacher)
    url = f"{API}/courses/{course.id}/assignments"
    good = await create_file(app, teacher)
    for file_id in (await unusable_files(app, client, teacher, "lesson_material")).values():
        body = {"title": "Essay", "max_points": 10, "attachment_file_ids": [str(good.id), file_id]}
        assert_invalid_file(await client.post(url, headers=teacher.headers, json=body), file_id)
    assert await count_rows(app, Assignment) == 0
    assert await count_rows(app, FileAttachment) == 0
    created = await client.post(
        url,
        headers=teacher.headers,
        json={"title": "Essay", "max_points": 10, "attachment_file_ids": [str(good.id)]},
    )
    assert created.status_code == 201 and created.json()["attachment_file_ids"] == [str(good.id)]
    [attachment] = await rows(app, FileAttachment)
    assert (attachment.kind, attachment.target_id, attachment.course_id) == (
        "assignment",
        uuid.UUID(created.json()["id"]),
        course.id,
    )


async def test_assignment_attachments_are_replaced_on_update(app: FastAPI, client: httpx.AsyncClient) -> None:
    teacher = await create_user(app, Role.INSTRUCTOR)
    co_teacher = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, teacher)
    add = await client.post(
        f"{API}/courses/{course.id}/instructors", headers=teacher.headers, json={"user_id": co_teacher.id}
    )
    assert add.status_code in (200, 201), add.text
    first, second = await create_file(app, teacher), await create_file(app, teacher)
    created = await client.post(
        f"{API}/courses/{course.id}/assignments",
        headers=teacher.headers,
        json={"title": "Essay", "max_points": 10, "attachment_file_ids": [str(first.id), str(second.id)]},
    )
    url = f"{API}/assignments/{created.json()['id']}"
    # A co-teacher keeps a colleague's attachment and adds their own; not someone else's.
    theirs = await create_file(app, co_teacher)
    stranger = await create_file(app, await create_user(app, Role.INSTRUCTOR))
    refused = await client.patch(
        url, headers=co_teacher.headers, json={"attachment_file_ids": [str(first.id), str(stranger.id)]}
    )
    assert_invalid_file(refused, str(stranger.id))
    assert await attachments(app, "assignment", created.json()["id"]) == {first.id, second.id}
    updated = await client.patch(
        url, headers=co_teacher.headers, json={"attachment_file_ids": [str(first.id), str(theirs.id)]}
    )
    assert updated.status_code == 200 and updated.json()["attachment_file_ids"] == [
        str(first.id),
        str(theirs.id),
    ]
    assert await attachments(app, "assignment", created.json()["id"]) == {first.id, theirs.id}
    assert (await client.patch(url, headers=teacher.headers, json={"title": "Renamed"})).status_code == 200
    assert await attachments(app, "assignment", created.json()["id"]) == {first.id, theirs.id}


# -- submissions -------------------------------------------------------------------------------


async def test_submission_files_are_checked_recorded_and_replaced(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    teacher = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, teacher)
    await enroll_directly(app, student, course)
    assignment = await client.post(
        f"{API}/courses/{course.id}/assignments",
        headers=teacher.headers,
        json={"title": "Essay", "max_points": 10},
    )
    url = f"{API}/assignments/{assignment.json()['id']}/submissions"
    for file_id in (await unusable_files(app, client, student, "submission")).values():
        assert_invalid_file(
            await client.post(url, headers=student.headers, json={"file_ids": [file_id]}), file_id
        )
    assert await count_rows(app, Submission) == 0
    draft, final = [await create_file(app, student, purpose="submission") for _ in range(2)]
    first = await client.post(url, headers=student.headers, json={"file_ids": [str(draft.id)]})
    assert first.status_code == 201, first.text
    submission_id = first.json()["id"]
    [attachment] = await rows(app, FileAttachment)
    assert (attachment.kind, attachment.target_id, attachment.course_id) == (
        "submission",
        uuid.UUID(submission_id),
        course.id,
    )
    again = await client.post(url, headers=student.headers, json={"file_ids": [str(final.id)]})
    assert again.status_code == 200 and again.json()["file_ids"] == [str(final.id)]
    assert await attachments(app, "submission", submission_id) == {final.id}


# -- file lessons ------------------------------------------------------------------------------


async def test_a_file_lesson_takes_a_file_and_its_readers_download_it(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    teacher = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, teacher)
    await enroll_directly(app, student, course)
    handout = await create_file(app, teacher, content=b"%PDF handout", filename="handout.pdf")
    created = await client.post(
        f"{API}/courses/{course.id}/lessons",
        headers=teacher.headers,
        json={"title": "Handout", "type": "file", "file_id": str(handout.id)},
    )
    assert created.status_code == 201, created.text
    shown = created.json()["file"]
    assert {key: shown[key] for key in ("id", "filename", "content_type", "size_bytes")} == {
        "id": str(handout.id),
        "filename": "handout.pdf",
        "content_type": "application/pdf",
        "size_bytes": len(b"%PDF handout"),
    }
    lesson_id = created.json()["id"]
    assert await attachments(app, "lesson", lesson_id) == {handout.id}
    read = await client.get(f"{API}/lessons/{lesson_id}", headers=student.headers)
    assert read.status_code == 200 and read.json()["file"]["id"] == str(handout.id)
    download = await client.get(read.json()["file"]["download_url"])
    assert download.status_code == 200 and download.content == b"%PDF handout"


async def test_a_file_lesson_file_is_replaced_and_removed(app: FastAPI, client: httpx.AsyncClient) -> None:
    teacher = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, teacher)
    lesson = await create_lesson(app, course, lesson_type="file")
    url = f"{API}/lessons/{lesson.id}"
    for file_id in (await unusable_files(app, client, teacher, "lesson_material")).values():
        assert_invalid_file(
            await client.patch(url, headers=teacher.headers, json={"file_id": file_id}), file_id
        )
    assert (await client.get(url, headers=teacher.headers)).json()["file"] is None
    first, second = await create_file(app, teacher), await create_file(app, teacher)
    for file in (first, second):
        response = await client.patch(url, headers=teacher.headers, json={"file_id": str(file.id)})
        assert response.status_code == 200 and response.json()["file"]["id"] == str(file.id)
        assert await attachments(app, "lesson", lesson.id) == {file.id}
        assert (await fresh_row(app, Lesson, lesson.id)).extra == {"file_id": str(file.id)}
    renamed = await client.patch(url, headers=teacher.headers, json={"title": "Renamed"})
    assert renamed.json()["file"]["id"] == str(second.id)
    removed = await client.patch(url, headers=teacher.headers, json={"file_id": None})
    assert removed.status_code == 200 and removed.json()["file"] is None
    assert await attachments(app, "lesson", lesson.id) == set()
    # A deleted file disappears from the lesson.
    await client.patch(url, headers=teacher.headers, json={"file_id": str(first.id)})
    await client.delete(f"{API}/files/{first.id}", headers=teacher.headers)
    assert (await client.get(url, headers=teacher.headers)).json()["file"] is None


@pytest.mark.parametrize("lesson_type", ["text", "video", "quiz", "assignment"])
async def test_other_lesson_types_refuse_a_file(
    app: FastAPI, client: httpx.AsyncClient, lesson_type: str
) -> None:
    teacher = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, teacher)
    file = await create_file(app, teacher)
    created = await client.post(
        f"{API}/courses/{course.id}/lessons",
        headers=teacher.headers,
        json={"title": "Not a file", "type": lesson_type, "file_id": str(file.id)},
    )
    assert_problem(created, 422, "content_not_for_lesson_type")
    lesson = await create_lesson(app, course, lesson_type=lesson_type)
    patched = await client.patch(
        f"{API}/lessons/{lesson.id}", headers=teacher.headers, json={"file_id": str(file.id)}
    )
    assert_problem(patched, 422, "content_not_for_lesson_type")
    assert await count_rows(app, FileAttachment) == 0
    assert (await fresh_row(app, Lesson, lesson.id)).extra in ({}, None)


async def test_only_file_lessons_read_their_file(app: FastAPI, client: httpx.AsyncClient) -> None:
    """The lesson page of a text lesson stays one statement; a file lesson adds one."""
    teacher = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, teacher, lessons=1)
    text_lesson = (await rows(app, Lesson, Lesson.course_id == course.id))[0]
    file_lesson = await create_lesson(app, course, lesson_type="file", is_preview=True)
    await client.patch(
        f"{API}/lessons/{file_lesson.id}",
        headers=teacher.headers,
        json={"file_id": str((await create_file(app, teacher)).id)},
    )
    await client.patch(f"{API}/lessons/{text_lesson.id}", headers=teacher.headers, json={"is_preview": True})
    for lesson, expected in ((text_lesson, 1), (file_lesson, 2)):
        with count_statements(app) as statements:
            response = await client.get(f"{API}/lessons/{lesson.id}")
        assert response.status_code == 200
        assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == expected
