"""A cheaper execution of plain scalar fields.

graphql-core builds a resolve info, calls the field's resolver and walks `complete_value`
for every field of every object: most of a catalog page's time (about 500 fields) went
there. A plain field (an attribute with no resolver, no arguments, no field extension) of a
scalar or enum type (or a list of them) needs none of it: `PlainFieldsExecution` reads the attribute and
coerces it as graphql-core would. Anything else, and any value the short path cannot
complete (a null in a non-null field, a value the scalar refuses), takes graphql-core's
own path, which reports the error exactly as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from graphql import (
    GraphQLError,
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    Undefined,
    is_leaf_type,
)

#: Where a plain field keeps how to read it (`GraphQLField.extensions`).
PLAIN_FIELD = "studyhall-plain-field"


@dataclass(frozen=True, slots=True)
class PlainField:
    attribute: str
    leaf: GraphQLLeafType
    nullable: bool
    #: A list of non-null scalars (`tags: [String!]!`) rather than one scalar.
    is_list: bool = False

    def complete(self, source: Any) -> Any:
        """The field's value in the result, or Undefined for graphql-core's path."""
        value: Any = getattr(source, self.attribute, Undefined)
        if value is None:
            return None if self.nullable else Undefined
        if value is Undefined:
            return Undefined
        try:
            if self.is_list:
                return [self._coerced(item) for item in value]
            return self._coerced(value)
        except (TypeError, ValueError, GraphQLError):  # graphql-core's path reports it
            return Undefined

    def _coerced(self, value: Any) -> Any:
        coerced = self.leaf.coerce_output_value(value)
        if coerced is Undefined or coerced is None:
            raise TypeError(value)
        return coerced


def plain_field(field: GraphQLField) -> PlainField | None:
    """How to read `field` directly, or None when it needs graphql-core's path."""
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryField) or not definition.is_basic_field or field.args:
        return None
    field_type: Any = field.type
    nullable = not isinstance(field_type, GraphQLNonNull)
    inner = field_type if nullable else field_type.of_type
    is_list = isinstance(inner, GraphQLList) and isinstance(inner.of_type, GraphQLNonNull)
    leaf = inner.of_type.of_type if is_list else inner
    if not is_leaf_type(leaf):
        return None
    return PlainField(definition.python_name, leaf, nullable, is_list)


def mark_plain_fields(schema: GraphQLSchema) -> None:
    """Once per schema: tags every plain scalar field of the object types."""
    for named in schema.type_map.values():
        if isinstance(named, GraphQLObjectType) and not named.name.startswith("__"):
            for field in named.fields.values():
                found = plain_field(field)
                if found is not None:
                    field.extensions = {**(field.extensions or {}), PLAIN_FIELD: found}


class PlainFieldsExecution(StrawberryGraphQLCoreExecutionContext):
    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        node = field_details_list[0].node
        definition = parent_type.fields.get(node.name.value)
        plain = definition.extensions.get(PLAIN_FIELD) if definition is not None else None
        if plain is not None and not node.arguments and not self._resolve_hooks():
            completed = plain.complete(source)
            if completed is not Undefined:
                return completed
        return super().execute_field(parent_type, source, field_details_list, path, position_context)

    def _resolve_hooks(self) -> bool:
        """Whether an extension wraps every resolver (strawberry always passes a manager)."""
        return self.middleware_manager is not None and bool(self.middleware_manager.middlewares)
