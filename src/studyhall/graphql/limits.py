"""What a GraphQL operation may ask for, checked after parsing and before anything runs.

| limit | setting | default | code |
|---|---|---|---|
| selection depth (strawberry's `QueryDepthLimiter`) | `GRAPHQL_MAX_DEPTH` | 10 | `query_too_deep` |
| estimated cost (below) | `GRAPHQL_MAX_COST` | 100,000 | `query_too_costly` |
| aliases (strawberry's `MaxAliasesLimiter`) | `GRAPHQL_MAX_ALIASES` | 30 | `too_many_aliases` |
| tokens (graphql-core's parser limit) | `GRAPHQL_MAX_TOKENS` | 5,000 | `validation_error` |
| introspection | `GRAPHQL_INTROSPECTION` | on, except in production | `introspection_disabled` |

**Cost.** Each selected field costs 1, plus the cost of its sub-selection times its
multiplier:

    cost(field) = 1 + multiplier(field) × Σ cost(subfields)
    multiplier  = the field's `limit` argument (literal, variable or default) for a page
                  field (`courses`, `myEnrollments`, `notifications`, `posts`);
                  LIST_ESTIMATE (10) for any other field returning a list of objects
                  (`instructors`, `modules`, `lessons`), except a page's own `items`
                  (counted by the page's `limit`);
                  1 otherwise.

The operation's cost is the sum over its root fields; fragments count where they are spread.
Introspection fields (`__schema`, `__type`) cost 1: `GRAPHQL_INTROSPECTION` governs them.
A catalog page of 100 courses with every field, instructors, modules with their lessons and
lessons costs about 94,000 (20 courses with their instructors: about 800); the default budget
allows one such page per request, not two.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import orjson
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions.max_aliases import create_validator as aliases_validator
from strawberry.extensions.query_depth_limiter import create_validator as depth_validator

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)
from studyhall.config import Settings
from studyhall.core.errors import DomainError
from studyhall.core.pagination import MAX_LIMIT
from studyhall.graphql.errors import IntrospectionDisabled, QueryTooCostly, QueryTooDeep, TooManyAliases

#: The multiplier of a list without a `limit` (a course's instructors, modules, lessons).
LIST_ESTIMATE = 10


@dataclass(frozen=True)
class Limits:
    max_depth: int
    max_cost: int
    max_aliases: int
    max_tokens: int
    introspection: bool

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            max_depth=settings.graphql_max_depth,
            max_cost=settings.graphql_max_cost,
            max_aliases=settings.graphql_max_aliases,
            max_tokens=settings.graphql_max_tokens,
            introspection=settings.graphql_introspection_enabled,
        )

    @cached_property
    def fixed_rules(self) -> tuple[type[ASTValidationRule], ...]:
        """The rules that do not depend on the request's variables."""
        rules = [
            coded(depth_validator(self.max_depth, None), QueryTooDeep),
            coded(aliases_validator(self.max_aliases), TooManyAliases),
        ]
        if not self.introspection:
            rules.append(coded(NoSchemaIntrospectionCustomRule, IntrospectionDisabled))
        return tuple(rules)


def coded(rule: type[ASTValidationRule], code_error: type[DomainError]) -> type[ASTValidationRule]:
    """`rule`, its errors carrying `code_error` (and so its code). Strawberry's limiters report
    while they are built, other rules while they visit: both paths are tagged."""

    def tagged(found: GraphQLError) -> GraphQLError:
        return GraphQLError(found.message, found.nodes, original_error=code_error(found.message))

    class Coded(rule):  # type: ignore[valid-type,misc]
        def __init__(self, context: ValidationContext) -> None:
            report = context.report_error
            context.report_error = lambda error: report(tagged(error))  # type: ignore[method-assign]
            try:
                super().__init__(context)
            finally:
                del context.report_error

        def report_error(self, error: GraphQLError) -> None:
            self.context.report_error(tagged(error))

    Coded.__name__ = f"Coded{rule.__name__}"
    return Coded


def cost_error(
    limits: Limits,
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any],
) -> GraphQLError | None:
    """`query_too_costly` when the operation's estimated cost with these variables is above
    the budget. Checked on every request, after the (cached) validation and before anything
    runs: the cost depends on the variables (a `limit` may be one)."""
    cost = operation_cost(schema, document, operation, variables)
    if cost <= limits.max_cost:
        return None
    message = f"The operation's estimated cost is {cost}, above the limit of {limits.max_cost}"
    return GraphQLError(message, operation, original_error=QueryTooCostly(message))


#: Costs of recent operations, by schema, document (kept alive with its cost, so its `id` is
#: not reused), operation and variables: documents are cached, and clients send the same few.
_costs: OrderedDict[tuple[int, int, int, bytes], tuple[DocumentNode, int]] = OrderedDict()
COSTS_KEPT = 256


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any],
) -> int:
    try:
        key = (id(schema), id(document), id(operation), orjson.dumps(variables, option=orjson.OPT_SORT_KEYS))
    except TypeError:  # variables JSON cannot hold: estimate without keeping it
        return CostEstimate(schema, document.definitions, variables).operation_cost(operation)
    found = _costs.get(key)
    if found is not None:
        _costs.move_to_end(key)
        return found[1]
    cost = CostEstimate(schema, document.definitions, variables).operation_cost(operation)
    _costs[key] = (document, cost)
    if len(_costs) > COSTS_KEPT:
        _costs.popitem(last=False)
    return cost


class CostEstimate:
    """The cost formula of the module's docstring over one document."""

    def __init__(self, schema: GraphQLSchema, definitions: Any, variables: Mapping[str, Any]) -> None:
        self.schema = schema
        self.variables = variables
        self.fragments = {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}
        self.operations = [d for d in definitions if isinstance(d, OperationDefinitionNode)]

    def operation_cost(self, operation: OperationDefinitionNode) -> int:
        root = self.schema.get_root_type(operation.operation)
        return self._selections(operation.selection_set, root, frozenset()) if root else 0

    def _selections(
        self, selections: SelectionSetNode, parent: GraphQLNamedType | None, seen: frozenset[str]
    ) -> int:
        total = 0
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                total += self._field(selection, parent, seen)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                on = self.schema.get_type(condition.name.value) if condition else parent
                total += self._selections(selection.selection_set, on, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in seen:
                    on = self.schema.get_type(fragment.type_condition.name.value)
                    total += self._selections(fragment.selection_set, on, seen | {name})
        return total

    def _field(self, node: FieldNode, parent: GraphQLNamedType | None, seen: frozenset[str]) -> int:
        definition = _field_definition(parent, node.name.value)
        if node.selection_set is None or definition is None or node.name.value.startswith("__"):
            return 1
        children = self._selections(node.selection_set, get_named_type(definition.type), seen)
        return 1 + self._multiplier(node, definition, parent) * children

    def _multiplier(self, node: FieldNode, definition: GraphQLField, parent: GraphQLNamedType | None) -> int:
        if "limit" in definition.args:
            return self._limit(node, definition)
        if not is_list_type(get_nullable_type(definition.type)):
            return 1
        is_page = _field_definition(parent, "limit") is not None and node.name.value == "items"
        return 1 if is_page else LIST_ESTIMATE

    def _limit(self, node: FieldNode, definition: GraphQLField) -> int:
        value: Any = definition.args["limit"].default_value
        for argument in node.arguments or ():
            if argument.name.value != "limit":
                continue
            if isinstance(argument.value, IntValueNode):
                value = int(argument.value.value)
            elif isinstance(argument.value, VariableNode):
                value = self.variables.get(argument.value.name.value, value)
        # An out-of-range limit is refused by the field itself; count the most it could be.
        return value if isinstance(value, int) and 1 <= value <= MAX_LIMIT else MAX_LIMIT


def _field_definition(parent: GraphQLNamedType | None, name: str) -> GraphQLField | None:
    if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        field: GraphQLField | None = parent.fields.get(name)
        return field
    return None
