"""Problem `type` URIs resolve to `/docs/errors`, which lists every error code there is."""

from __future__ import annotations

import html
import re
import uuid
from urllib.parse import urldefrag, urljoin

import httpx

from studyhall.core.errors import DomainError
from tests.factories import API, assert_problem, subclasses_in_studyhall

HTTP_LEVEL = {
    ("validation_error", 422),
    ("internal_error", 500),
    ("payload_too_large", 413),
    ("not_found", 404),
    ("method_not_allowed", 405),
    ("not_authenticated", 401),
    ("forbidden", 403),
    ("rate_limited", 429),
}


def page_rows(page: str) -> dict[str, list[tuple[str, int]]]:
    """(code, status) of each table row, grouped under the anchor of the code they follow."""
    rows = re.findall(r"<tr(?: id=\"([^\"]+)\")?>\s*<td><code>([^<]+)</code></td>\s*<td>(\d+)</td>", page)
    found: dict[str, list[tuple[str, int]]] = {}
    anchor = ""
    for row_id, code, status in rows:
        anchor = row_id or anchor
        found.setdefault(anchor, []).append((html.unescape(code), int(status)))
    return found


async def test_every_error_code_is_listed_with_its_status(client: httpx.AsyncClient) -> None:
    expected = {(cls.code, cls.status) for cls in subclasses_in_studyhall(DomainError)} | HTTP_LEVEL
    assert len(expected) > 60  # every domain's errors are loaded

    page = await client.get("/docs/errors")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    rows = page_rows(page.text)
    listed = {row for anchored in rows.values() for row in anchored}
    assert expected <= listed, expected - listed
    assert all(code == anchor for anchor, anchored in rows.items() for code, _ in anchored)

    catalog = await client.get("/docs/errors.json")
    assert catalog.status_code == 200
    entries = catalog.json()["errors"]
    assert {(entry["code"], entry["status"]) for entry in entries} == listed
    assert all(entry["title"] and 400 <= entry["status"] <= 599 for entry in entries)


async def test_meanings_come_from_the_definitions(client: httpx.AsyncClient) -> None:
    entries = {entry["code"]: entry for entry in (await client.get("/docs/errors.json")).json()["errors"]}
    assert (
        entries["invalid_reset_token"]["meaning"]
        == "No live token with that value: unknown, used or expired."
    )
    assert "MAX_REQUEST_BODY_BYTES" in entries["payload_too_large"]["meaning"]
    page = (await client.get("/docs/errors")).text
    assert "retry after <code>Retry-After</code> seconds" in page  # backticks shown as code


async def test_problem_types_resolve_to_their_entry(client: httpx.AsyncClient) -> None:
    problems = [
        (await client.get(f"{API}/courses/{uuid.uuid4()}"), 404, "course_not_found"),
        (await client.get("/no/such/route"), 404, "not_found"),
        (await client.get(f"{API}/courses?limit=0"), 422, "validation_error"),
        (await client.get(f"{API}/auth/me"), 401, "not_authenticated"),
        (await client.delete("/health"), 405, "method_not_allowed"),
        (await client.post(f"{API}/auth/login", content=b"x" * 2_000_000), 413, "payload_too_large"),
    ]
    for response, status, code in problems:
        body = assert_problem(response, status, code)
        assert body["type"] == f"/docs/errors#{code}"
        document, fragment = urldefrag(urljoin(str(response.url), str(body["type"])))
        assert (document, fragment) == ("http://testserver/docs/errors", code)
        page = await client.get(document)
        assert page.status_code == 200
        assert (code, status) in page_rows(page.text)[fragment]


async def test_error_pages_are_in_the_api_description(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "get" in paths["/docs/errors"] and "get" in paths["/docs/errors.json"]
