"""The schema: the root types and the extensions every operation goes through."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from functools import cache, lru_cache, partial
from typing import Any

import strawberry
from strawberry.extensions import SchemaExtension, ValidationCache
from strawberry.types import ExecutionContext

from graphql import GraphQLError, parse
from studyhall.graphql.context import OperationMode
from studyhall.graphql.errors import ErrorCodes
from studyhall.graphql.execution import PlainFieldsExecution, mark_plain_fields
from studyhall.graphql.limits import Limits, OperationLimits
from studyhall.graphql.mutations import Mutation
from studyhall.graphql.queries import Query

#: Distinct documents whose parse and validation are kept (a front end sends a few dozen).
DOCUMENTS_CACHED = 256


_parsed = lru_cache(maxsize=DOCUMENTS_CACHED)(parse)


class ParsedDocuments(SchemaExtension):
    """graphql-core's parse, cached per document text and parser options. A document that does
    not parse is left to strawberry's own parse, which reports it like any invalid document
    (strawberry's `ParserCache` would let the syntax error escape the error codes)."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query:
            with suppress(GraphQLError):
                context.graphql_document = _parsed(context.query, **context.parse_options)
        yield


class StudyHallSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Nothing to log here: `ErrorCodes` logs the unexpected errors, with the request id;
        the expected ones (a `DomainError`, an invalid document) are answers, not crashes."""


@cache
def build_schema(limits: Limits) -> StudyHallSchema:
    """One schema per set of limits (settings rarely differ within a process)."""
    extensions: list[Any] = [
        ParsedDocuments,
        partial(ValidationCache, maxsize=DOCUMENTS_CACHED),
        OperationMode,
        partial(OperationLimits, limits),
        ErrorCodes,
    ]
    schema = StudyHallSchema(
        query=Query, mutation=Mutation, extensions=extensions, execution_context_class=PlainFieldsExecution
    )
    mark_plain_fields(schema._schema)
    return schema


def schema_sdl() -> str:
    """The schema in SDL, as `studyhall graphql-schema` prints it and docs/schema.graphql has it."""
    limits = Limits(max_depth=10, max_cost=1, max_aliases=1, max_tokens=1, introspection=True)
    return build_schema(limits).as_str() + "\n"
