"""Concurrent deletes of one assignment run as if one after the other."""

from __future__ import annotations

from collections import Counter

import httpx
from fastapi import FastAPI

from studyhall.assessment.models import Assignment
from tests.assessment.conftest import QuizCourse, post_assignment
from tests.factories import API, fresh_row, outcomes, race


async def test_parallel_assignment_deletes_delete_once(
    app: FastAPI, client: httpx.AsyncClient, quiz_course: QuizCourse
) -> None:
    created = await post_assignment(client, quiz_course)
    url = f"{API}/assignments/{created['id']}"

    responses = await race(client.delete(url, headers=quiz_course.owner.headers) for _ in range(10))

    assert outcomes(responses) == Counter({(204, None): 1, (404, "assignment_not_found"): 9})
    row = await fresh_row(app, Assignment, created["id"])
    assert row.deleted_at is not None
    assert row.deletion_id is not None
