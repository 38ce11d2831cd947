"""Property-based fuzzing of every route in the OpenAPI schema, on SQLite and on PostgreSQL
(each generated case is sent to both).

No generated input may produce a 500 or a response that breaks the documented schema.
Routes added by any domain join automatically. PostgreSQL is the stricter database (NUL in
text, integer ranges, string lengths), so inputs that only it refuses are caught here.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import CheckContext, negative_data_rejection, positive_data_acceptance
from schemathesis.core.transport import Response

from studyhall.main import create_app
from tests.conftest import BACKENDS, database_of_its_own, make_settings
from tests.factories import create_user

#: The schema is the same whatever the database; this app only describes it.
_DATA_DIR = Path(tempfile.mkdtemp(prefix="studyhall-fuzz-schema-"))
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app(make_settings(f"sqlite+aiosqlite:///{_DATA_DIR / 'unused.db'}", _DATA_DIR))
)


@pytest.fixture(scope="module", autouse=True)
def _remove_schema_app_dir() -> Iterator[None]:
    yield
    shutil.rmtree(_DATA_DIR, ignore_errors=True)


@pytest.fixture(scope="module")
async def fuzzed_apps(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, FastAPI]:
    """The app on each backend, each on a database of its own, so what the fuzzer writes stays
    out of other tests. Every generated case goes to both (generating a case costs about as
    much as sending it). Schemathesis runs them (lifespan included) in its own event loop
    thread. Outside CI without PostgreSQL, only SQLite is fuzzed (with the harness's warning)."""
    apps: dict[str, FastAPI] = {}
    for backend in BACKENDS:
        data_dir = tmp_path_factory.mktemp(f"fuzz-{backend}")
        try:
            url = await database_of_its_own(request, backend, data_dir)
        except pytest.skip.Exception:
            continue
        apps[backend] = create_app(make_settings(url, data_dir))
    return apps


def with_nul(value: Any) -> Any:
    """`value` with a NUL appended to each string value in it (keys stay, so that the input
    still gets past validation to wherever the string is used)."""
    if isinstance(value, str):
        return value + "\x00"
    if isinstance(value, dict):
        return {key: with_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [with_nul(item) for item in value]
    return value


def sometimes_with_nul(_context: Any, value: Any) -> st.SearchStrategy[Any]:
    """One draw in ten carries NUL in every string. The schema's strings may hold any
    character, yet random generation rarely produces NUL, the character that fails on
    PostgreSQL: this keeps that class of input in every run, in bodies, queries and paths."""
    return st.integers(0, 9).map(lambda draw: with_nul(value) if draw == 0 else value)


for container in ("body", "query", "path_parameters"):
    schema.hook(f"flatmap_{container}")(sometimes_with_nul)


def refused_by_contract(response: Response) -> bool:
    """Refusals the API makes whatever a schema allows: a body over MAX_REQUEST_BODY_BYTES
    (`413 payload_too_large`), an upload over its purpose's limits (`413 file_too_large`,
    `415 unsupported_file_type`: settings, not schema), text no database column can store
    (NUL, unpaired surrogates: a `422` naming only such strings), and a webhook whose
    signature does not verify (`400 webhook_signature_invalid`: no schema can describe an HMAC)."""
    if response.request.method == "HEAD":  # no body: the status is all there is
        return response.status_code in (413, 422)
    if response.status_code == 400:
        return bool(response.json().get("code") == "webhook_signature_invalid")
    if response.status_code == 413:
        return bool(response.json().get("code") in ("payload_too_large", "file_too_large"))
    if response.status_code == 415:
        return bool(response.json().get("code") == "unsupported_file_type")
    if response.status_code == 422:
        issues = response.json().get("errors") or []
        return bool(issues) and all(issue["type"] == "string_unstorable_character" for issue in issues)
    return False


def positive_data_accepted(ctx: CheckContext, response: Response, case: schemathesis.Case) -> bool | None:
    """Schemathesis' check, allowing the refusals of the contract."""
    return None if refused_by_contract(response) else positive_data_acceptance(ctx, response, case)


def negative_data_rejected(ctx: CheckContext, response: Response, case: schemathesis.Case) -> bool | None:
    """Schemathesis' check, counting the refusals of the contract as rejections."""
    return None if refused_by_contract(response) else negative_data_rejection(ctx, response, case)


FUZZ_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def call_and_validate(
    case: schemathesis.Case, apps: dict[str, FastAPI], headers: dict[str, dict[str, str]] | None = None
) -> None:
    """The case on each backend's app (with that backend's `headers`)."""
    for backend, app in apps.items():
        try:
            case.call_and_validate(
                app=app,
                headers=headers[backend] if headers else None,
                excluded_checks=[positive_data_acceptance, negative_data_rejection],
                additional_checks=[positive_data_accepted, negative_data_rejected],
            )
        except Exception as exc:
            exc.add_note(f"on {backend}")
            raise


@schema.parametrize()
@FUZZ_SETTINGS
def test_api_never_errors_and_matches_its_schema(
    case: schemathesis.Case, fuzzed_apps: dict[str, FastAPI]
) -> None:
    call_and_validate(case, fuzzed_apps)


@pytest.fixture(scope="module")
async def signed_in_headers(fuzzed_apps: dict[str, FastAPI]) -> dict[str, dict[str, str]]:
    """The headers of a user of each fuzzed database, by backend. Made through a second app
    on the same database: the fuzzed one runs in schemathesis' own event loop."""
    headers = {}
    for backend, app in fuzzed_apps.items():
        helper = create_app(app.state.settings)
        try:
            actor = await create_user(helper)
        finally:
            await helper.state.database.dispose()
        headers[backend] = actor.headers
    return headers


#: Routes about the caller's own things, fuzzed signed in too (anonymous, they stop at 401).
#: Not `POST /posts`: a schema-valid announcement without a course is a documented `422`.
OWN_ROUTES = r"^/api/v1/(notifications|me/notification-preferences|files|posts|comments|collections)"


@schema.include(path_regex=OWN_ROUTES).exclude(method="POST", path="/api/v1/posts").parametrize()
@FUZZ_SETTINGS
def test_own_routes_signed_in_never_error_and_match_the_schema(
    case: schemathesis.Case, fuzzed_apps: dict[str, FastAPI], signed_in_headers: dict[str, dict[str, str]]
) -> None:
    call_and_validate(case, fuzzed_apps, signed_in_headers)
