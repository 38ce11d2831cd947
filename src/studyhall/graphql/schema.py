"""The schema: the root types and the extensions every operation goes through."""

from __future__ import annotations

from functools import cache, partial
from typing import Any

import strawberry
from strawberry.extensions import ValidationCache
from strawberry.types import ExecutionContext

from graphql import GraphQLError
from studyhall.graphql.context import OperationMode
from studyhall.graphql.errors import ErrorCodes
from studyhall.graphql.execution import PlainFieldsExecution, mark_plain_fields
from studyhall.graphql.limits import Limits, OperationLimits
from studyhall.graphql.mutations import Mutation
from studyhall.graphql.queries import Query

#: Distinct documents whose validation is kept (a front end sends a few dozen).
DOCUMENTS_CACHED = 256


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
