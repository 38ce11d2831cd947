"""GraphQL's errors, and the one place that gives every GraphQL error its `extensions.code`.

Resolvers raise the services' `DomainError`s as REST routes do; `coded_errors` (called by
`graphql.schema` for every result) turns each error into `{message, locations, path,
extensions: {code, ...}}` after the operation ran, so no resolver formats an error itself:

- a `DomainError`: its `code` and `status` (and its `errors` for a validation error);
- a pydantic `ValidationError` (an input the request schemas refuse): `validation_error`
  with `errors: [{loc, msg, type}]`, as REST answers;
- a document that does not parse or validate against the schema: `validation_error`;
  the limits (`graphql.limits`) raise their own codes;
- anything else: `internal_error` with the `request_id`, the message masked and the
  traceback logged, as the REST middleware does for a 500.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import structlog
from pydantic import ValidationError

from graphql import GraphQLError
from studyhall.core.errors import (
    INTERNAL_ERROR,
    VALIDATION_ERROR,
    DomainError,
    InvalidInput,
    PermissionDenied,
    Unauthenticated,
    error_entry,
)

logger = structlog.get_logger(__name__)


class SignInRequired(Unauthenticated):
    """A GraphQL field that only a signed-in caller may read or run, asked without a bearer
    token (REST answers the same request `401 not_authenticated`)."""

    code = "unauthenticated"
    title = "Sign in required"


class QueryTooDeep(InvalidInput):
    """A GraphQL operation nests selections deeper than `GRAPHQL_MAX_DEPTH` (10); refused
    before it runs."""

    code = "query_too_deep"
    title = "Query too deep"


class QueryTooCostly(InvalidInput):
    """A GraphQL operation's estimated cost (docs/graphql.md) is above `GRAPHQL_MAX_COST`;
    refused before it runs. Ask for smaller pages or fewer nested lists."""

    code = "query_too_costly"
    title = "Query too costly"


class TooManyAliases(InvalidInput):
    """A GraphQL document uses more aliases than `GRAPHQL_MAX_ALIASES`."""

    code = "too_many_aliases"
    title = "Too many aliases"


class IntrospectionDisabled(PermissionDenied):
    """GraphQL introspection (`__schema`, `__type`) is turned off here
    (`GRAPHQL_INTROSPECTION=false`); the schema is published as docs/schema.graphql."""

    code = "introspection_disabled"
    title = "Introspection disabled"


def error_extensions(error: GraphQLError, request_id: str | None) -> dict[str, Any]:
    """The `extensions` of one error: `code` and what goes with it."""
    original = error.original_error
    if isinstance(original, DomainError):
        extensions: dict[str, Any] = {"code": original.code, "status": original.status}
        if "errors" in original.extra:
            extensions["errors"] = original.extra["errors"]
        return extensions
    if isinstance(original, ValidationError):
        return {
            "code": VALIDATION_ERROR.code,
            "status": VALIDATION_ERROR.status,
            "errors": validation_entries(original),
        }
    if original is None:  # the document: syntax, unknown fields, wrong argument types
        return {"code": VALIDATION_ERROR.code, "status": VALIDATION_ERROR.status}
    return {"code": INTERNAL_ERROR.code, "status": INTERNAL_ERROR.status, "request_id": request_id}


def validation_entries(error: ValidationError) -> list[dict[str, Any]]:
    return [
        error_entry(
            ["input", *(part if isinstance(part, int) else str(part) for part in entry["loc"])],
            entry["msg"],
            entry["type"],
        )
        for entry in error.errors()
    ]


def coded_error(error: GraphQLError, request_id: str | None) -> GraphQLError:
    """The error as the client gets it: a DomainError's detail as the message, an
    unexpected error's masked (and logged with its traceback)."""
    extensions = {**(error.extensions or {}), **error_extensions(error, request_id)}
    original = error.original_error
    message = error.message
    if isinstance(original, DomainError):
        message = original.detail
    elif isinstance(original, ValidationError):
        message = "The input is not valid; see `extensions.errors`."
    elif original is not None:
        logger.error(
            "graphql_unexpected_error",
            request_id=request_id,
            path=error.path,
            exc_info=(type(original), original, original.__traceback__),
        )
        message = "An unexpected error occurred. Quote the request_id when reporting it."
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )


def coded_errors(errors: Iterable[GraphQLError], request_id: str | None) -> Iterator[GraphQLError]:
    for error in errors:
        yield coded_error(error, request_id)
