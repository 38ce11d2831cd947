"""The layering rules of docs/architecture.md that code can check: each error is defined once,
in an errors module; services return rows or results, never response schemas, and know
nothing of HTTP."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

from pydantic import BaseModel

import studyhall
from studyhall.core.errors import DomainError
from tests.factories import subclasses_in_studyhall

SOURCE = Path(studyhall.__file__).parent
DOMAINS = (
    "analytics",
    "assessment",
    "catalog",
    "certificates",
    "community",
    "identity",
    "learning",
    "media",
    "notifications",
)
#: Modules of a domain that speak HTTP or are the schemas; every other one is service layer.
HTTP_LAYER = {
    "router.py",
    "video_router.py",
    "audit_router.py",
    "ingest_router.py",
    "insights_router.py",
    "socket_router.py",
    "sockets.py",
    "deps.py",
    "schemas.py",
    "presenters.py",
    # Response bodies for routers and GraphQL, from the response cache or built on a miss.
    "reads.py",
}
#: Still builds its own response models.
NOT_YET_LAYERED = {"catalog/service.py"}


def _import_everything() -> None:
    for module in pkgutil.walk_packages(studyhall.__path__, "studyhall."):
        importlib.import_module(module.name)


def _service_layer() -> dict[str, ast.Module]:
    return {
        str(path.relative_to(SOURCE)): ast.parse(path.read_text())
        for domain in DOMAINS
        for path in sorted((SOURCE / domain).glob("*.py"))
        if path.name not in HTTP_LAYER and str(path.relative_to(SOURCE)) not in NOT_YET_LAYERED
    }


def test_each_error_is_defined_once_in_an_errors_module() -> None:
    """One class per code and per name across every module (`NotEnrolled` is the catalog's,
    answered by catalog, learning and assessment alike)."""
    _import_everything()
    errors = subclasses_in_studyhall(DomainError)
    by_code: dict[str, list[str]] = {}
    by_name: dict[str, list[str]] = {}
    for error in errors:
        where = f"{error.__module__}.{error.__qualname__}"
        by_code.setdefault(error.code, []).append(where)
        by_name.setdefault(error.__name__, []).append(where)
    assert {code: found for code, found in by_code.items() if len(found) > 1} == {}
    assert {name: found for name, found in by_name.items() if len(found) > 1} == {}
    assert {e.__module__ for e in errors if not e.__module__.endswith(".errors")} == set()
    assert by_code["not_enrolled"] == ["studyhall.catalog.errors.NotEnrolled"]
    assert by_code["not_course_staff"] == ["studyhall.catalog.errors.NotCourseStaff"]


def test_services_return_rows_or_results_never_schemas() -> None:
    _import_everything()
    schemas = {model.__name__ for model in subclasses_in_studyhall(BaseModel)}
    offenders = {}
    for path, tree in _service_layer().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns is not None:
                named = {n.id for n in ast.walk(node.returns) if isinstance(n, ast.Name)}
                if named & schemas:
                    offenders[f"{path}:{node.name}"] = sorted(named & schemas)
    assert offenders == {}


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.ImportFrom):
        return [node.module or ""]
    return [alias.name for alias in node.names] if isinstance(node, ast.Import) else []


def test_services_know_nothing_of_http() -> None:
    importing_http = {
        path
        for path, tree in _service_layer().items()
        for node in ast.walk(tree)
        for name in _imported(node)
        if name.split(".")[0] in {"fastapi", "starlette"}
    }
    assert importing_http == set()


def test_every_router_is_a_domain_router() -> None:
    """`core.routing.DomainRouter` keeps routing cheap; a plain `APIRouter` would be tried
    route by route for every request that reaches it."""
    plain = [
        path.relative_to(SOURCE).as_posix()
        for path in SOURCE.rglob("*.py")
        if path.name != "routing.py" and "APIRouter(" in path.read_text()
    ]
    assert plain == []
