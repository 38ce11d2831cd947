"""The schema: the root types, and how every operation runs.

`StudyHallSchema.execute` takes the place of strawberry's, whose per-request machinery (an
execution context, five extension objects and their hooks) cost about as much as reading a
catalog page's twenty courses. In order, for one operation:

1. **Parse and validate**, cached per document text (`DOCUMENTS_CACHED` documents): the
   parser's token limit and the limits' rules (`graphql.limits`) apply, as do graphql-core's
   and strawberry's own rules. A document that fails answers its errors (`validation_error`,
   or the limit's code), after the operation type is checked as strawberry does.
2. **The operation type:** one the transport does not allow (a mutation over GET) is an HTTP
   400, as strawberry's view answers it. A query gets a read-only unit of work, a mutation a
   transaction (`graphql.context`), before any resolver runs.
3. **The cost** of the operation with its variables, over budget: `query_too_costly`, and
   nothing runs.
4. **Execution** by graphql-core with `PlainFieldsExecution`.
5. **Errors** get their codes in one place (`graphql.errors.coded_errors`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import strawberry
from strawberry.exceptions import MissingQueryError
from strawberry.execution import optimized_is_awaitable
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.schema.schema import validate_document
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.utils.await_maybe import await_maybe
from strawberry.utils.operation import get_operation_type

from graphql import DocumentNode, GraphQLError, execute, get_operation_ast, parse, specified_rules
from studyhall.graphql.context import GraphQLContext
from studyhall.graphql.errors import coded_errors
from studyhall.graphql.execution import PlainFieldsExecution, mark_plain_fields
from studyhall.graphql.limits import Limits, cost_error
from studyhall.graphql.mutations import Mutation
from studyhall.graphql.queries import Query

#: Distinct documents whose parse and validation are kept (a front end sends a few dozen).
DOCUMENTS_CACHED = 256
#: What an operation may be when the transport does not say (strawberry's default).
ANY_OPERATION = frozenset(OperationType)


@dataclass(frozen=True, slots=True)
class PreparedDocument:
    """A document text parsed and validated: its node (None when it does not parse) and the
    errors found."""

    document: DocumentNode | None
    errors: tuple[GraphQLError, ...]


class StudyHallSchema(strawberry.Schema):
    def __init__(self, limits: Limits, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.limits = limits
        self.prepared = lru_cache(maxsize=DOCUMENTS_CACHED)(self._prepare)

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """One operation, as the module's docstring lists; raises strawberry's own errors
        for what its view answers with an HTTP 400 (no query, no such operation, a type the
        transport does not allow)."""
        if not query:
            raise MissingQueryError
        prepared = self.prepared(query)
        request_id = getattr(context_value, "request_id", None)
        document = prepared.document
        if document is None:
            return coded_result(None, prepared.errors, request_id)
        operation_type = self._operation_type(document, operation_name, allowed_operation_types)
        if prepared.errors:
            return coded_result(None, prepared.errors, request_id)
        if isinstance(context_value, GraphQLContext):
            context_value.work.read_only = operation_type is OperationType.QUERY
        operation = get_operation_ast(document, operation_name)
        if operation is not None:
            over_budget = cost_error(self.limits, self._schema, document, operation, variable_values or {})
            if over_budget is not None:
                return coded_result(None, (over_budget,), request_id)
        try:
            result = await await_maybe(
                execute(
                    self._schema,
                    document,
                    root_value=root_value,
                    context_value=context_value,
                    variable_values=variable_values,
                    operation_name=operation_name,
                    is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
                    executor_class=self.execution_context_class,
                    operation_extensions=operation_extensions,
                )
            )
        except Exception as exc:
            return coded_result(None, (GraphQLError(str(exc), original_error=exc),), request_id)
        return coded_result(result.data, result.errors or (), request_id)

    def _prepare(self, query: str) -> PreparedDocument:
        try:
            document = parse(query, max_tokens=self.limits.max_tokens)
        except GraphQLError as error:
            return PreparedDocument(None, (error,))
        except Exception as exc:
            return PreparedDocument(None, (GraphQLError(str(exc), original_error=exc),))
        rules = (*specified_rules, *self.limits.fixed_rules)
        return PreparedDocument(document, tuple(validate_document(self._schema, document, rules)))

    @staticmethod
    def _operation_type(
        document: DocumentNode, operation_name: str | None, allowed: Iterable[OperationType] | None
    ) -> OperationType:
        try:
            operation_type = get_operation_type(document, operation_name)
        except RuntimeError as error:
            raise CannotGetOperationTypeError(operation_name) from error
        if operation_type not in (ANY_OPERATION if allowed is None else allowed):
            raise InvalidOperationTypeError(operation_type)
        return operation_type

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Nothing to log here: `coded_errors` logs the unexpected errors, with the request id;
        the expected ones (a `DomainError`, an invalid document) are answers, not crashes."""


def coded_result(
    data: dict[str, Any] | None, errors: Iterable[GraphQLError], request_id: str | None
) -> ExecutionResult:
    coded = list(coded_errors(errors, request_id))
    return ExecutionResult(data=data, errors=coded or None)


@cache
def build_schema(limits: Limits) -> StudyHallSchema:
    """One schema per set of limits (settings rarely differ within a process)."""
    schema = StudyHallSchema(
        limits, query=Query, mutation=Mutation, execution_context_class=PlainFieldsExecution
    )
    mark_plain_fields(schema._schema)
    return schema


def schema_sdl() -> str:
    """The schema in SDL, as `studyhall graphql-schema` prints it and docs/schema.graphql has it."""
    limits = Limits(max_depth=10, max_cost=1, max_aliases=1, max_tokens=1, introspection=True)
    return build_schema(limits).as_str() + "\n"
