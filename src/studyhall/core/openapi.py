"""OpenAPI: every error response is documented as an RFC 9457 problem document."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

from studyhall.core.errors import PROBLEM_CONTENT_TYPE

Responses = dict[int | str, dict[str, Any]]


class ValidationIssue(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """An error (RFC 9457). Some codes add fields, e.g. `errors` or `request_id`."""

    type: str = Field(examples=["/docs/errors#course_not_found"])
    title: str = Field(examples=["Course not found"])
    status: int = Field(examples=[404])
    detail: str
    code: str = Field(examples=["course_not_found"], description="Stable, machine-readable error code")
    errors: list[ValidationIssue] | None = Field(None, description="Present on `validation_error`")


_MEANINGS = {
    401: (
        "Missing, invalid or expired token, or its session was signed out "
        "(`not_authenticated`, `invalid_token`, `session_revoked`)"
    ),
    402: "The course is paid and the caller has not paid (`payment_required`)",
    403: "Authenticated but not allowed",
    404: "No such resource the caller may see",
    409: "Conflicts with the current state",
    422: "Invalid path, query or body (`validation_error`)",
    429: "Rate limited; retry after `Retry-After` seconds (`rate_limited`)",
}


def error_responses(*statuses: int, **descriptions: str) -> Responses:
    """`responses=` for a route, e.g. `error_responses(401, 404, status_404="`course_not_found`")`.
    Bodies are documented as problem documents by `install_problem_openapi`."""
    documented: Responses = {}
    for status in statuses:
        description = (
            descriptions.get(f"status_{status}") or _MEANINGS.get(status) or HTTPStatus(status).phrase
        )
        documented[status] = {"description": description}
    return documented


def _problem_content() -> dict[str, Any]:
    return {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def install_problem_openapi(app: FastAPI) -> None:
    """Replace FastAPI's default error bodies with the problem schema the app really sends."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in components["Problem"].pop("$defs", {}).items():
            components.setdefault(name, definition)
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                _rewrite_errors(operation)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _rewrite_errors(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.get("responses", {})
    for status, response in responses.items():
        if status.isdigit() and int(status) >= 400:
            response["content"] = _problem_content()
            if status == "422":
                response["description"] = "Validation error (`validation_error`) or a semantic input error"
    if "422" not in responses and (operation.get("parameters") or operation.get("requestBody")):
        responses["422"] = {"description": "Validation error", "content": _problem_content()}
    if operation.get("requestBody"):
        _document_body_limit(responses)


BODY_TOO_LARGE = "The body is over `MAX_REQUEST_BODY_BYTES` (`payload_too_large`)"


def _document_body_limit(responses: dict[str, Any]) -> None:
    """Every request body may be over the global limit, also on a route that documents a `413`
    of its own (an upload over its purpose's largest size)."""
    documented = responses.get("413")
    if documented is None:
        responses["413"] = {"description": BODY_TOO_LARGE, "content": _problem_content()}
    elif "payload_too_large" not in documented["description"]:
        documented["description"] += f"; or: {BODY_TOO_LARGE}"
