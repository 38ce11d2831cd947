"""Property-based fuzzing of every route in the OpenAPI schema.

No generated input may produce a 500 or a response that breaks the documented schema.
Routes added by any domain join automatically.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from studyhall.core.migrate import upgrade
from studyhall.main import create_app
from tests.conftest import make_settings

DATA_DIR = Path(tempfile.mkdtemp(prefix="studyhall-fuzz-"))
DATABASE_URL = f"sqlite+aiosqlite:///{DATA_DIR / 'fuzz.db'}"
app = create_app(make_settings(DATABASE_URL, DATA_DIR))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture(scope="module", autouse=True)
def migrated_database() -> Iterator[None]:
    with ThreadPoolExecutor(1) as pool:  # outside the test session's event loop
        pool.submit(asyncio.run, upgrade(DATABASE_URL)).result()
    yield
    shutil.rmtree(DATA_DIR, ignore_errors=True)


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_never_errors_and_matches_its_schema(case: schemathesis.Case) -> None:
    case.call_and_validate()
