"""The web app's own checks, inside the README's one test command: TypeScript, ESLint, the
Vitest suite, the API types generated from the current OpenAPI document, and the size of the
first page load."""

from __future__ import annotations

import gzip
import json
import subprocess
from pathlib import Path

import pytest

from studyhall import web_build
from studyhall.main import create_app
from tests.web.conftest import WEB

#: Gzipped JavaScript a visitor's first page (the catalog) may download.
FIRST_LOAD_BUDGET = 250 * 1024


def npm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    bin_dir = web_build.node_bin_dir()
    environment = {"PATH": f"{bin_dir}:/usr/bin:/bin", "CI": "true", "HOME": str(Path.home())}
    result = subprocess.run(
        [str(bin_dir / "npm"), *args], cwd=WEB, env=environment, capture_output=True, text=True, check=False
    )
    if check:
        assert result.returncode == 0, (
            f"npm {' '.join(args)}:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result


@pytest.fixture(scope="module")
def node_modules(web_dist: Path) -> Path:
    """Installed by the build (`npm ci` from the committed lockfile)."""
    return WEB / "node_modules"


def test_typescript_compiles(node_modules: Path) -> None:
    npm("run", "typecheck")


def test_eslint_is_clean(node_modules: Path) -> None:
    npm("run", "lint")


def test_vitest_suite_passes(node_modules: Path) -> None:
    result = npm("test", check=False)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and " failed" not in result.stdout


def test_api_types_match_the_current_openapi_document(node_modules: Path, tmp_path: Path) -> None:
    """`src/api/schema.d.ts` is generated from `/openapi.json`: a contract change that is not
    regenerated (and type-checked against) fails here."""
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(create_app().openapi(), indent=2) + "\n")
    generated = tmp_path / "schema.d.ts"
    npm("exec", "--", "openapi-typescript", str(spec), "-o", str(generated))
    committed = (WEB / "src" / "api" / "schema.d.ts").read_text()
    assert generated.read_text() == committed, (
        "web/src/api/schema.d.ts is stale: run `./dev run studyhall openapi -o web/openapi.json "
        "&& npm --prefix web run gen:api`"
    )


def first_load_chunks(manifest: dict[str, dict[str, object]]) -> set[str]:
    """The JavaScript files the catalog page loads: the entry and the public area, with every
    chunk they import statically."""
    wanted = [key for key, chunk in manifest.items() if chunk.get("isEntry") or "PublicArea" in key]
    files: set[str] = set()
    while wanted:
        chunk = manifest[wanted.pop()]
        if str(chunk["file"]) not in files:
            files.add(str(chunk["file"]))
            wanted += list(chunk.get("imports", []))  # type: ignore[call-overload]
    return files


def test_first_page_load_stays_under_250_kb_gzipped_and_areas_are_split(web_dist: Path) -> None:
    manifest = json.loads((web_dist / ".vite" / "manifest.json").read_text())
    first = first_load_chunks(manifest)
    size = sum(len(gzip.compress((web_dist / name).read_bytes(), 9)) for name in first)
    print(f"first page load: {size / 1024:.1f} KB of gzipped JavaScript in {len(first)} files")
    assert size < FIRST_LOAD_BUDGET
    for area in ("StudentArea", "InstructorArea", "AdminArea"):
        chunk = next(chunk for key, chunk in manifest.items() if area in key)
        assert chunk.get("isDynamicEntry") and chunk["file"] not in first, area
