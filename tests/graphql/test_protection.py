"""What `/graphql` refuses before running anything (depth, cost, aliases, tokens,
introspection when turned off), its explorer, its exported schema, and how unexpected
errors are masked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from typer.testing import CliRunner

from studyhall.cli import app as cli
from studyhall.community.models import Post
from studyhall.config import Settings
from studyhall.core.errors import InvalidInput
from studyhall.graphql.errors import coded_error
from studyhall.graphql.router import StudyHallGraphQLRouter
from studyhall.graphql.schema import schema_sdl
from studyhall.identity.models import Role
from studyhall.learning.models import Enrollment
from tests.conftest import TEST_SECRET
from tests.factories import (
    GRAPHQL,
    AppFactory,
    assert_graphql_error,
    assert_problem,
    client_for,
    count_rows,
    create_course,
    create_user,
    graphql,
    graphql_data,
)
from tests.statements import count_wire_statements

SCHEMA_FILE = Path(__file__).parents[2] / "docs" / "schema.graphql"
NESTED = "{ courses { items { modules { lessons { id } } } } }"  # four levels of selections
FULL_COURSE = """
  items {
    id slug title subtitle description category tags skills level language status visibility
    durationMinutes priceCents currency certificateEnabled lessonCount enrollmentCount
    createdAt updatedAt publishedAt isEnrolled progressPercent
    instructors { id fullName bio role email organizationId emailVerified createdAt }
    modules {
      id title description order lessons { id title type order durationMinutes isPreview isCompleted }
    }
    lessons { id moduleId title type order durationMinutes isPreview isCompleted }
  }
"""


async def refused_before_running(app: FastAPI, query: str, code: str, **variables: object) -> str:
    """Sends `query`, checks it is refused with `code` without a single statement reaching
    the database: the error's message."""
    async with client_for(app) as client, count_wire_statements(app) as statements:
        body = await graphql(client, query, variables)
    error = assert_graphql_error(body, code)
    assert body["data"] is None
    assert statements == []
    return str(error["message"])


# -- depth --------------------------------------------------------------------------------


async def test_queries_deeper_than_the_limit_are_refused(make_app: AppFactory) -> None:
    assert Settings().graphql_max_depth == 10
    shallow = await make_app(graphql_max_depth=3)
    message = await refused_before_running(shallow, NESTED, "query_too_deep")
    assert "exceeds maximum operation depth of 3" in message
    deep_enough = await make_app(graphql_max_depth=4)
    async with client_for(deep_enough) as client:
        assert graphql_data(await graphql(client, NESTED)) == {"courses": {"items": []}}


async def test_introspection_is_not_held_to_the_depth_limit(client: httpx.AsyncClient) -> None:
    """GraphiQL's introspection query nests `ofType` deeper than 10; introspection has its own
    switch (`GRAPHQL_INTROSPECTION`)."""
    of_type = "name " + "ofType { name " * 10 + "}" * 10
    body = await graphql(client, "{ __schema { types { fields { type { " + of_type + " } } } } }")
    assert graphql_data(body)["__schema"]["types"]


# -- cost ---------------------------------------------------------------------------------


async def test_the_cost_is_the_documented_formula(make_app: AppFactory) -> None:
    """`courses(limit: L) { items { id title } }` costs 1 + L × (1 + 2); a list without a
    `limit` counts ten times; fragments and variables count as written inline."""
    app = await make_app(graphql_max_cost=151)
    teacher = await create_user(app, Role.INSTRUCTOR)
    await create_course(app, teacher)
    within = [
        ("{ courses(limit: 50) { items { id title } } }", {}),  # 1 + 50 × 3 = 151
        ("query($n: Int) { courses(limit: $n) { items { id title } } }", {"n": 50}),
        ("{ courses(limit: 12) { items { lessons { id } } } }", {}),  # 1 + 12 × (1 + (1 + 10 × 1)) = 145
        ("{ courses { ...Page } } fragment Page on CoursePage { items { id title } }", {}),  # 20: 61
    ]
    async with client_for(app) as client:
        for query, variables in within:
            graphql_data(await graphql(client, query, variables))
    over = [
        ("{ courses(limit: 51) { items { id title } } }", {}, 154),
        ("query($n: Int) { courses(limit: $n) { items { id title } } }", {"n": 51}, 154),
        ("{ courses(limit: 13) { items { lessons { id } } } }", {}, 157),
        (
            "{ a: courses(limit: 25) { items { id title } } b: courses(limit: 25) { items { id title } } }",
            {},
            152,
        ),
    ]
    for query, variables, cost in over:
        message = await refused_before_running(app, query, "query_too_costly", **variables)
        assert f"estimated cost is {cost}, above the limit of 151" in message
    async with client_for(app) as client:  # costs are kept per document and variables
        graphql_data(await graphql(client, *within[1]))


async def test_the_default_budget_takes_one_full_catalog_page(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    one_page = "{ courses(limit: 100) { " + FULL_COURSE + " } }"
    graphql_data(await graphql(client, one_page))
    two_pages = "{ " + " ".join(f"p{n}: courses(limit: 100) {{ {FULL_COURSE} }}" for n in range(2)) + " }"
    await refused_before_running(app, two_pages, "query_too_costly")


# -- aliases and tokens -------------------------------------------------------------------


async def test_too_many_aliases_are_refused(app: FastAPI) -> None:
    aliased = "{ " + " ".join(f"a{n}: courses {{ total }}" for n in range(31)) + " }"
    message = await refused_before_running(app, aliased, "too_many_aliases")
    assert "31 aliases found. Allowed: 30" in message


async def test_too_many_tokens_are_refused(app: FastAPI) -> None:
    long_query = "{ courses { " + "total " * 6_000 + "} }"
    message = await refused_before_running(app, long_query, "validation_error")
    assert "tokens" in message


# -- introspection ------------------------------------------------------------------------

INTROSPECTION = "{ __schema { description } }"


async def test_introspection_can_be_turned_off(make_app: AppFactory) -> None:
    default = await make_app()
    async with client_for(default) as client:
        assert graphql_data(await graphql(client, INTROSPECTION)) == {"__schema": {"description": None}}
        assert graphql_data(await graphql(client, '{ __type(name: "Course") { name } }')) == {
            "__type": {"name": "Course"}
        }
    closed = await make_app(graphql_introspection=False)
    await refused_before_running(closed, INTROSPECTION, "introspection_disabled")
    await refused_before_running(closed, '{ __type(name: "Course") { name } }', "introspection_disabled")
    async with client_for(closed) as client:  # everything else still answers
        assert graphql_data(await graphql(client, "{ courses { total } }")) == {"courses": {"total": 0}}


def test_introspection_defaults_to_off_in_production_only() -> None:
    assert Settings(environment="development").graphql_introspection_enabled is True
    assert Settings(environment="test", secret_key=TEST_SECRET).graphql_introspection_enabled is True
    production = Settings(environment="production", secret_key=TEST_SECRET)
    assert production.graphql_introspection_enabled is False
    opened = Settings(environment="production", secret_key=TEST_SECRET, graphql_introspection=True)
    assert opened.graphql_introspection_enabled is True


# -- the explorer and GET -----------------------------------------------------------------


async def test_a_browser_gets_graphiql(client: httpx.AsyncClient) -> None:
    response = await client.get(GRAPHQL, headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


async def test_queries_run_over_get_and_mutations_do_not(app: FastAPI, client: httpx.AsyncClient) -> None:
    teacher = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, teacher)
    response = await client.get(GRAPHQL, params={"query": "{ courses { total } }"})
    assert (response.status_code, response.json()) == (200, {"data": {"courses": {"total": 1}}})
    mutation = f'mutation {{ enroll(courseId: "{course.id}") {{ id }} }}'
    refused = await client.get(GRAPHQL, params={"query": mutation}, headers=student.headers)
    assert refused.status_code == 400
    assert "mutations are not allowed" in refused.text.lower()
    assert await count_rows(app, Enrollment) == 0


async def test_documents_that_cannot_run_answer_as_a_graphql_server_does(client: httpx.AsyncClient) -> None:
    """No query or no such operation is an HTTP 400; a document that does not parse or names
    an unknown field is a `validation_error` with a null `data`; of several operations the
    named one runs, with its own cost."""
    missing = await client.post(GRAPHQL, json={"variables": {}})
    assert missing.status_code == 400
    assert "no graphql query" in missing.text.lower()
    misnamed = {"query": "query A { courses { total } }", "operationName": "B"}
    unknown = await client.post(GRAPHQL, json=misnamed)
    assert unknown.status_code == 400
    for broken in ("{ courses { total }", "{ courses { nonsense } }"):
        body = await graphql(client, broken)
        assert body["data"] is None
        assert_graphql_error(body, "validation_error")
    two = "query Small { courses(limit: 1) { total } } query Big { courses(limit: 100) { items { id } } }"
    for name, expected in (("Small", {"courses": {"total": 0}}), ("Big", {"courses": {"items": []}})):
        response = await client.post(GRAPHQL, json={"query": two, "operationName": name})
        assert response.json() == {"data": expected}
    unnamed = await graphql(client, two)  # which one is meant: graphql-core's error
    assert unnamed["data"] is None
    assert "operation name" in unnamed["errors"][0]["message"]


async def test_plain_json_posts_and_the_views_other_requests_answer_alike(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A POST of one plain JSON operation goes straight to the schema (`graphql.router`);
    the same operation in any other shape (here with `extensions`, which strawberry's view
    handles) gets the same answer, errors included, and malformed bodies get the view's 400s."""
    teacher = await create_user(app, Role.INSTRUCTOR)
    await create_course(app, teacher)
    parsed_by_view = []
    view_parse = StudyHallGraphQLRouter.parse_http_body

    async def parse_http_body(self: StudyHallGraphQLRouter, request: Any) -> Any:
        parsed_by_view.append(request)
        return await view_parse(self, request)

    monkeypatch.setattr(StudyHallGraphQLRouter, "parse_http_body", parse_http_body)
    for body in (
        {"query": "{ courses { total items { title instructors { fullName } } } }"},
        {"query": "{ courses { nonsense } }"},
        {"query": "query($n: Int) { courses(limit: $n) { total } }", "variables": {"n": 0}},
        {"query": "{ me { id } }"},
    ):
        plain = await client.post(GRAPHQL, json=body)
        assert parsed_by_view == []
        through_view = await client.post(GRAPHQL, json={**body, "extensions": {}})
        assert len(parsed_by_view) == 1
        parsed_by_view.clear()
        assert plain.status_code == through_view.status_code == 200
        assert plain.json() == through_view.json()
        assert plain.headers["content-type"] == "application/json"
    for malformed in (b"{", b'{"query": 1}', b'{"query": "{ courses { total } }", "variables": []}'):
        refused = await client.post(GRAPHQL, content=malformed, headers={"content-type": "application/json"})
        assert refused.status_code == 400


# -- the exported schema ------------------------------------------------------------------


def test_the_committed_schema_is_the_live_one() -> None:
    assert SCHEMA_FILE.read_text() == schema_sdl(), "run: studyhall graphql-schema -o docs/schema.graphql"


def test_the_cli_prints_the_schema(tmp_path: Path) -> None:
    printed = CliRunner().invoke(cli, ["graphql-schema"])
    assert printed.exit_code == 0, printed.output
    assert printed.output == schema_sdl()
    target = tmp_path / "schema.graphql"
    written = CliRunner().invoke(cli, ["graphql-schema", "--output", str(target)])
    assert written.exit_code == 0
    assert target.read_text() == schema_sdl()
    for root in ("type Query {", "type Mutation {", "type CoursePage {", "input PostInput {"):
        assert root in printed.output


# -- error formatting ---------------------------------------------------------------------


def test_unexpected_errors_are_masked_and_domain_errors_keep_their_code() -> None:
    """The one formatter (`graphql.errors.ErrorCodes`): no message of an unexpected error,
    which may hold SQL or data, reaches the client; the request id does."""
    from strawberry.exceptions import StrawberryGraphQLError

    leaked = StrawberryGraphQLError("boom", original_error=RuntimeError("SELECT secret FROM users"))
    masked = coded_error(leaked, "req-1")
    assert "secret" not in masked.message
    assert masked.extensions == {"code": "internal_error", "status": 500, "request_id": "req-1"}

    expected = StrawberryGraphQLError("x", original_error=InvalidInput("Bad thing", errors=[{"loc": ["a"]}]))
    coded = coded_error(expected, "req-2")
    assert coded.message == "Bad thing"
    assert coded.extensions == {"code": "validation_error", "status": 422, "errors": [{"loc": ["a"]}]}

    try:
        Settings(graphql_max_depth=0)
    except ValidationError as exc:
        invalid = coded_error(StrawberryGraphQLError("x", original_error=exc), None)
    assert invalid.extensions is not None
    assert invalid.extensions["code"] == "validation_error"
    assert invalid.extensions["errors"][0]["loc"] == ["input", "graphql_max_depth"]


async def test_text_the_database_cannot_store_is_refused_before_graphql(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """The request-level checks of every route apply to `/graphql` too: NUL in a variable is
    REST's `422 validation_error` problem, and nothing is written."""
    student = await create_user(app)
    response = await client.post(
        GRAPHQL,
        json={
            "query": "mutation($input: PostInput!) { createPost(input: $input) { id } }",
            "variables": {"input": {"title": "Hi\u0000", "body": "x"}},
        },
        headers=student.headers,
    )
    assert_problem(response, 422, "validation_error")
    assert await count_rows(app, Post) == 0
