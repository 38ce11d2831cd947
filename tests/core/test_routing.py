"""`core.routing.DomainRouter` rules routers out by the path's leading segments: every
documented route must still be reached, with the method it documents."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic_core import from_json
from sqlalchemy import select

from studyhall.analytics.models import ActivityEvent
from studyhall.core.routing import DomainRouter, leading_segment
from tests.factories import activity_event, create_user, post_events

SAMPLE_ID = "00000000-0000-4000-8000-000000000000"
UNROUTED = {"not_found", "method_not_allowed"}


def documented_operations(app: FastAPI) -> list[tuple[str, str]]:
    return [
        (method.upper(), re.sub(r"\{[^}]+\}", SAMPLE_ID, path))
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    ]


@pytest.mark.sqlite_only
async def test_every_documented_route_is_reached(app: FastAPI, client: httpx.AsyncClient) -> None:
    operations = documented_operations(app)
    assert len(operations) > 80
    unrouted = []
    for method, path in operations:
        response = await client.request(method, path)
        if method == "HEAD":  # no body to read the code from; an unrouted HEAD is a 405
            if response.status_code == 405:
                unrouted.append((method, path, response.status_code))
            continue
        is_problem = response.headers.get("content-type", "").startswith("application/problem+json")
        if is_problem and response.json().get("code") in UNROUTED:
            unrouted.append((method, path, response.status_code))
    assert unrouted == []


@pytest.mark.sqlite_only
async def test_unknown_paths_and_methods_still_get_the_routers_answers(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/v1/no-such-thing/here")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    wrong_method = await client.put("/api/v1/auth/me")
    assert (wrong_method.status_code, wrong_method.json()["code"]) == (405, "method_not_allowed")
    assert "PATCH" in wrong_method.headers["allow"]


def test_a_router_rules_out_paths_without_its_leading_segments() -> None:
    router = DomainRouter(prefix="/things")

    @router.get("/{thing_id}")
    async def thing(thing_id: str) -> str:
        return thing_id

    assert router.leading_segments() == frozenset({"things"})
    assert leading_segment("/{id}/x") is None
    assert leading_segment("/courses/{id}") == "courses"

    parameter_first = DomainRouter()

    @parameter_first.get("/{anything}")
    async def anything(anything: str) -> str:
        return anything

    assert parameter_first.leading_segments() is None


async def test_json_bodies_are_read_by_the_fast_parser_with_the_standard_librarys_meaning(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A body pydantic-core refuses (nesting deeper than it reads) is read by `json`, with
    the same values; the others by pydantic-core."""
    parsed: list[bytes] = []

    def counting(body: bytes, **options: Any) -> object:
        parsed.append(body)
        return from_json(body, **options)

    monkeypatch.setattr("studyhall.core.routing.from_json", counting)
    student = await create_user(app)
    deep: object = {"path": "/", "big": 2**80}
    for _ in range(250):
        deep = {"inner": deep}
    shallow = activity_event(data={"path": "/", "big": 2**80, "ratio": 0.1})
    nested = activity_event(data={"path": "/", "tree": deep})
    for event in (shallow, nested):
        response = await post_events(client, student, [event])
        assert response.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    assert len(parsed) == 2  # both tried the fast parser; the nested one fell back
    async with app.state.database.sessionmaker() as session:
        stored = {row.event_id: row.data for row in await session.scalars(select(ActivityEvent))}
    assert stored == {shallow["event_id"]: shallow["data"], nested["event_id"]: nested["data"]}
