"""The web app at `/`: files from the build, the single-page fallback, cache headers, and the
API and service paths that keep their meaning."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.factories import API, AppFactory, assert_problem, client_for

INDEX = "<!doctype html><title>StudyHall web app</title>"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    """A build as Vite lays it out: index.html, hashed assets, public files."""
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "assets" / "index-Ab12Cd.js").write_text("console.log('app')")
    (root / "favicon.svg").write_text("<svg/>")
    (tmp_path / "secret.txt").write_text("outside the build")
    return root


@pytest.fixture
async def web(make_app: AppFactory, dist: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(await make_app(web_dist_dir=dist)) as client:
        yield client


def assert_page(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert response.text == INDEX
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/courses/intro-to-python",
        "/reset-password?token=abc",
        "/verify-email?token=abc",
        "/certificates/verify/ABCD-1234",
        "/my/courses/intro/0f1e2d3c",
    ],
)
async def test_pages_of_the_app_answer_index_html(web: httpx.AsyncClient, path: str) -> None:
    assert_page(await web.get(path))


async def test_head_answers_the_page_headers(web: httpx.AsyncClient) -> None:
    response = await web.head("/courses/intro")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache"
    assert response.content == b""


async def test_hashed_assets_are_cached_for_a_year_other_files_revalidated(web: httpx.AsyncClient) -> None:
    asset = await web.get("/assets/index-Ab12Cd.js")
    assert asset.status_code == 200
    assert asset.text == "console.log('app')"
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "javascript" in asset.headers["content-type"]
    icon = await web.get("/favicon.svg")
    assert (icon.status_code, icon.headers["cache-control"]) == (200, "no-cache")


async def test_a_missing_asset_is_a_404_not_the_page(web: httpx.AsyncClient) -> None:
    assert_problem(await web.get("/assets/gone-123.js"), 404, "not_found")


async def test_nothing_outside_the_build_is_served(web: httpx.AsyncClient) -> None:
    for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt"):
        response = await web.get(path)
        assert "outside the build" not in response.text


@pytest.mark.parametrize(
    "path",
    [
        f"{API}/no-such-route",
        "/api/anything",
        "/docs/no-such-page",
        "/redoc/x",
        "/openapi.json/x",
        "/graphql/x",
        "/ws/x",
        "/health/x",
        "/healthz",
        "/metrics/x",
        "/webhooks/x",
    ],
)
async def test_unknown_api_and_service_paths_stay_problem_404s(web: httpx.AsyncClient, path: str) -> None:
    assert_problem(await web.get(path), 404, "not_found")


async def test_unknown_admin_panel_pages_are_the_panels_own_404(web: httpx.AsyncClient) -> None:
    """`/admin` is the admin panel's (HTML), so its unknown pages answer its 404 page, never
    the web app."""
    response = await web.get("/admin/x")
    assert response.status_code == 404
    assert INDEX not in response.text


async def test_api_and_service_routes_keep_their_answers(web: httpx.AsyncClient) -> None:
    assert (await web.get("/health/live")).json() == {"status": "ok"}
    assert (await web.get("/openapi.json")).json()["info"]["title"] == "StudyHall"
    assert (await web.get("/docs")).headers["content-type"].startswith("text/html")
    assert INDEX not in (await web.get("/docs")).text
    assert (await web.get("/metrics")).headers["content-type"].startswith("text/plain")
    assert (await web.get(f"{API}/courses")).json()["items"] == []
    assert_problem(await web.get(f"{API}/auth/me"), 401, "not_authenticated")
    assert_problem(await web.get("/storage/some/key"), 403, "storage_signature_invalid")


async def test_a_wrong_method_on_an_api_route_is_still_405(web: httpx.AsyncClient) -> None:
    assert_problem(await web.get(f"{API}/auth/login"), 405, "method_not_allowed")


async def test_other_methods_on_app_paths_are_404(web: httpx.AsyncClient) -> None:
    assert_problem(await web.post("/courses/intro"), 404, "not_found")


async def test_without_a_build_the_root_says_how_to_build_and_the_api_runs(
    make_app: AppFactory, tmp_path: Path
) -> None:
    async with client_for(await make_app(web_dist_dir=tmp_path / "never-built")) as client:
        root = await client.get("/")
        assert root.status_code == 200
        assert "./dev serve" in root.text
        assert "npm ci" in root.text
        assert root.headers["cache-control"] == "no-cache"
        assert_problem(await client.get("/courses/intro"), 404, "not_found")
        assert (await client.get("/health/live")).status_code == 200
