"""Domain errors and their rendering as RFC 9457 problem documents."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
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
    """No such route or resource, or one the caller may not know exists."""

    code = "not_found"
    status = 404
    title = "Not found"


class PermissionDenied(DomainError):
    """Authenticated, but not allowed to do this."""

    code = "forbidden"
    status = 403
    title = "Forbidden"


class Conflict(DomainError):
    """The request conflicts with the current state of the resource."""

    code = "conflict"
    status = 409
    title = "Conflict"


class InvalidInput(DomainError):
    """A semantic input error the schema cannot express (unknown ids in a list, ...)."""

    code = "validation_error"
    status = 422
    title = "Validation error"


class Unauthenticated(DomainError):
    """Missing, invalid or expired credentials (`WWW-Authenticate: Bearer`)."""

    code = "not_authenticated"
    status = 401
    title = "Not authenticated"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.headers["WWW-Authenticate"] = "Bearer"


class RateLimited(DomainError):
    """Too many requests; retry after `Retry-After` seconds."""

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


class StorageSignatureInvalid(DomainError):
    """A signed storage URL whose signature does not match the request: a changed key,
    expiry, parameter or signature, or another method than the one it was signed for."""

    code = "storage_signature_invalid"
    status = 403
    title = "Invalid signature"


class StorageUrlExpired(DomainError):
    """A signed storage URL used after its `expires` time; ask the API for a new one."""

    code = "storage_url_expired"
    status = 403
    title = "URL expired"


class StorageSizeMismatch(DomainError):
    """An upload whose body is longer or shorter than the size its URL was signed for;
    nothing was stored."""

    code = "storage_size_mismatch"
    status = 400
    title = "Wrong upload size"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail)
        # A body refused half-way is never read to its end, so the connection cannot be reused.
        self.headers["Connection"] = "close"


class StorageContentTypeMismatch(DomainError):
    """An upload whose `Content-Type` is not the one its URL was signed for (send exactly the
    `headers` the upload answer gave); nothing was stored."""

    code = "storage_content_type_mismatch"
    status = 415
    title = "Wrong content type"


def error_entry(loc: list[str | int], msg: str, type: str) -> dict[str, Any]:
    """One entry of a problem's `errors`: the shape of every validation error, whether
    the schema or a service found it."""
    return {"loc": loc, "msg": msg, "type": type}


#: Where the error catalog is served. Problem `type`s are references relative to the API's
#: origin (RFC 9457 allows it): they resolve against whichever host the client called.
ERROR_DOCS_PATH = "/docs/errors"


def problem_type(code: str) -> str:
    return f"{ERROR_DOCS_PATH}#{code}"


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


@dataclass(frozen=True)
class ErrorCode:
    """One entry of the error catalog served at `/docs/errors`."""

    code: str
    status: int
    title: str
    meaning: str


def _http_error(status: int, code: str, meaning: str) -> ErrorCode:
    return ErrorCode(code, status, HTTPStatus(status).phrase, meaning)


#: Codes of the errors the HTTP layer answers itself, by status (no `DomainError` behind them).
_HTTP_CODES = {
    error.status: error
    for error in (
        _http_error(400, "bad_request", "The request could not be understood."),
        _http_error(401, "not_authenticated", "Missing, invalid or expired credentials."),
        _http_error(403, "forbidden", "Authenticated, but not allowed to do this."),
        _http_error(404, "not_found", "No such route or resource."),
        _http_error(
            405, "method_not_allowed", "The path exists, not with this method; `Allow` lists those it takes."
        ),
        _http_error(406, "not_acceptable", "None of the media types in `Accept` can be served."),
        _http_error(
            413,
            "payload_too_large",
            "The request body is larger than `MAX_REQUEST_BODY_BYTES` (1 MiB by default); "
            "refused as soon as the declared or received size passes it.",
        ),
        _http_error(415, "unsupported_media_type", "The request body's `Content-Type` is not accepted here."),
        _http_error(
            416,
            "range_not_satisfiable",
            "The `Range` asked for starts past the end of the object; "
            "`Content-Range: bytes */<size>` gives its size.",
        ),
        _http_error(429, "rate_limited", "Too many requests; retry after `Retry-After` seconds."),
    )
}
#: Any other HTTP-level status (none is expected).
_OTHER_HTTP_ERROR = "http_error"

VALIDATION_ERROR = ErrorCode(
    "validation_error",
    422,
    "Validation error",
    "The request body, path, query or headers are invalid; `errors` lists each problem as "
    "`{loc, msg, type}`. Strings with characters the database cannot store (NUL, unpaired "
    "surrogates) are refused here too.",
)
INTERNAL_ERROR = ErrorCode(
    "internal_error",
    500,
    "Internal server error",
    "An unexpected failure. The body carries only a `request_id`, which the server log "
    "records with the details; quote it when reporting the problem.",
)


class PayloadTooLarge(StarletteHTTPException):
    """The request body passed the size limit. Raised from the body stream, wherever it is
    read; as an `HTTPException` it passes through FastAPI's body parsing untouched."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            413,
            detail=f"The request body exceeds the limit of {limit} bytes.",
            # The rest of the body is never read, so the connection cannot be reused.
            headers={"Connection": "close"},
        )


def _domain_errors(cls: type[DomainError]) -> Iterator[type[DomainError]]:
    for subclass in cls.__subclasses__():
        yield subclass
        yield from _domain_errors(subclass)


def error_catalog() -> list[ErrorCode]:
    """Every error code the application can answer, with its status, title and meaning:
    the HTTP-level codes and every `DomainError` subclass defined in StudyHall's packages
    (import them first). A class's own docstring is its meaning."""
    errors = [*_HTTP_CODES.values(), VALIDATION_ERROR, INTERNAL_ERROR]
    for cls in _domain_errors(DomainError):
        if cls.__module__.startswith("studyhall."):  # not a test's or a library's subclass
            meaning = " ".join((cls.__dict__.get("__doc__") or "").split())
            errors.append(ErrorCode(cls.code, cls.status, cls.title, meaning))
    unique = {(error.code, error.status): error for error in reversed(errors)}
    return sorted(unique.values(), key=lambda error: (error.code, error.status))


async def _domain_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return problem_response(exc.status, exc.code, exc.title, exc.detail, headers=exc.headers, **exc.extra)


_BODY_PARSE_ERROR = "There was an error parsing the body"


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def documented_paths(app: FastAPI, path: str) -> list[tuple[str, dict[str, str]]]:
    """The documented path templates `path` matches, with their parameters' values, most
    literal first (`/courses/trash` before `/courses/{course_id}`)."""
    matches = []
    for template in app.openapi().get("paths", {}):
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        if found := re.fullmatch(pattern, path):
            matches.append((template, found.groupdict()))
    return sorted(matches, key=lambda match: len(match[1]))


def _documented_methods(request: Request) -> set[str] | None:
    """Methods the API documents for this path; a literal path wins over a templated one.
    None when the path is undocumented."""
    matches = documented_paths(request.app, request.url.path)
    if not matches:
        return None
    paths = request.app.openapi()["paths"]
    fewest = len(matches[0][1])
    return {
        method.upper() for template, params in matches if len(params) == fewest for method in paths[template]
    }


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


def http_error_response(exc: StarletteHTTPException) -> JSONResponse:
    status = exc.status_code
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    known = _HTTP_CODES.get(status)
    code = known.code if known else _OTHER_HTTP_ERROR
    detail = exc.detail if isinstance(exc.detail, str) else phrase
    return problem_response(status, code, phrase, detail, headers=dict(exc.headers or {}))


async def _http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == _BODY_PARSE_ERROR:  # bytes that are not JSON text
        return validation_error_response(
            [error_entry(["body"], "Invalid JSON body", "json_invalid")],
            "The request body is not valid JSON.",
        )
    response = http_error_response(exc)
    if exc.status_code == 405 and (allowed := _allowed_methods(request)):
        response.headers["Allow"] = allowed
    return response


def _jsonable_loc(loc: Any) -> list[str | int]:
    return [part if isinstance(part, int) else str(part) for part in loc]


def validation_error_response(
    errors: list[dict[str, Any]], detail: str = "The request is not valid; see `errors`."
) -> JSONResponse:
    """`422 validation_error` with `errors: [{loc, msg, type}]`."""
    return problem_response(
        VALIDATION_ERROR.status, VALIDATION_ERROR.code, VALIDATION_ERROR.title, detail, errors=errors
    )


async def _validation_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return validation_error_response(
        [
            error_entry(_jsonable_loc(err.get("loc", ())), str(err.get("msg", "")), str(err.get("type", "")))
            for err in exc.errors()
        ]
    )


def internal_error_response(request_id: str) -> JSONResponse:
    return problem_response(
        INTERNAL_ERROR.status,
        INTERNAL_ERROR.code,
        INTERNAL_ERROR.title,
        "An unexpected error occurred. Quote the request_id when reporting it.",
        request_id=request_id,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Unexpected exceptions are caught by the request-context middleware, not here."""
    app.add_exception_handler(DomainError, _domain_error_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_error_handler)
