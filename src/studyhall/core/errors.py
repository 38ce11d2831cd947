"""Domain errors and their rendering as RFC 9457 problem documents."""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any, ClassVar

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

PROBLEM_CONTENT_TYPE = "application/problem+json"
logger = structlog.get_logger(__name__)


class DomainError(Exception):
    """Base of every expected business error: carries its own code, status and title."""

    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"
    #: Commit what the request changed before raising (e.g. revoking a token family when a
    #: rotated refresh token is reused); by default the request's changes roll back.
    keeps_changes: ClassVar[bool] = False

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        self.detail = detail or self.title
        self.extra = extra
        self.headers: dict[str, str] = {}
        super().__init__(self.detail)


class NotFound(DomainError):
    code = "not_found"
    status = 404
    title = "Not found"


class PermissionDenied(DomainError):
    code = "forbidden"
    status = 403
    title = "Forbidden"


class Conflict(DomainError):
    code = "conflict"
    status = 409
    title = "Conflict"


class InvalidInput(DomainError):
    """A semantic input error the schema cannot express (unknown ids in a list, ...)."""

    code = "validation_error"
    status = 422
    title = "Validation error"


class Unauthenticated(DomainError):
    code = "not_authenticated"
    status = 401
    title = "Not authenticated"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.headers["WWW-Authenticate"] = "Bearer"


class RateLimited(DomainError):
    code = "rate_limited"
    status = 429
    title = "Too many requests"

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        super().__init__(detail or "Too many requests; retry later")
        self.headers["Retry-After"] = str(max(1, retry_after))


class DatabaseUnavailable(DomainError):
    """The database connection was lost mid-request (a restart, a network cut): nothing was
    committed and a retry gets a fresh connection."""

    code = "database_unavailable"
    status = 503
    title = "Service unavailable"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or "The database connection was lost; retry the request")
        self.headers["Retry-After"] = "1"


def error_entry(loc: list[str | int], msg: str, type: str) -> dict[str, Any]:
    """One entry of a problem's `errors`: the shape of every validation error, whether
    the schema or a service found it."""
    return {"loc": loc, "msg": msg, "type": type}


def problem_type(code: str) -> str:
    return f"/docs/errors#{code}"


def problem_response(
    status: int,
    code: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": problem_type(code),
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_CONTENT_TYPE)


_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


async def _domain_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return problem_response(exc.status, exc.code, exc.title, exc.detail, headers=exc.headers, **exc.extra)


_BODY_PARSE_ERROR = "There was an error parsing the body"


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _documented_methods(request: Request) -> set[str] | None:
    """Methods the API documents for this path; a literal path wins over a templated one
    (`/courses/trash` over `/courses/{course_id}`). None when the path is undocumented."""
    path = request.url.path
    candidates = [
        (template.count("{"), methods)
        for template, methods in request.app.openapi().get("paths", {}).items()
        if re.fullmatch(re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)), path)
    ]
    if not candidates:
        return None
    fewest = min(count for count, _ in candidates)
    return {method.upper() for count, found in candidates if count == fewest for method in found}


def _routed_methods(request: Request) -> set[str]:
    return {
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL
            for route in request.app.router.routes
        )
    }


def _allowed_methods(request: Request) -> str:
    """Every method of the path. Starlette lists only the first matching route's, which is
    wrong when one path has several routes (`GET /courses` and `POST /courses`)."""
    methods = _documented_methods(request)
    if methods is None:
        methods = _routed_methods(request)
    return ", ".join(sorted(methods & set(_METHODS)))


async def _http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    code = _HTTP_CODES.get(status, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else phrase
    headers = dict(exc.headers or {})
    if status == 400 and detail == _BODY_PARSE_ERROR:  # bytes that are not JSON text at all
        return problem_response(
            422,
            "validation_error",
            "Validation error",
            "The request body is not valid JSON.",
            errors=[error_entry(["body"], "Invalid JSON body", "json_invalid")],
        )
    if status == 405 and (allowed := _allowed_methods(request)):
        headers["Allow"] = allowed
    return problem_response(status, code, phrase, detail, headers=headers)


def _jsonable_loc(loc: Any) -> list[str | int]:
    return [part if isinstance(part, int) else str(part) for part in loc]


async def _validation_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        error_entry(_jsonable_loc(err.get("loc", ())), str(err.get("msg", "")), str(err.get("type", "")))
        for err in exc.errors()
    ]
    return problem_response(
        422,
        "validation_error",
        "Validation error",
        "The request is not valid; see `errors`.",
        errors=errors,
    )


def internal_error_response(request_id: str) -> JSONResponse:
    return problem_response(
        500,
        "internal_error",
        "Internal server error",
        "An unexpected error occurred. Quote the request_id when reporting it.",
        request_id=request_id,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Unexpected exceptions are caught by the request-context middleware, not here."""
    app.add_exception_handler(DomainError, _domain_error_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_error_handler)
