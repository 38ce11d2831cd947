"""A cheaper execution of plain scalar fields.

graphql-core builds a resolve info, calls the field's resolver and walks `complete_value`
for every field of every object: most of a catalog page's time (about 500 fields) went
there. A plain field (an attribute with no resolver, no arguments, no field extension) of a
scalar or enum type needs none of it: `PlainFieldsExecution` reads the attribute and
coerces it as graphql-core would. Anything else, and any value the short path cannot
complete (a null in a non-null field, a value the scalar refuses), takes graphql-core's
own path, which reports the error exactly as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    Undefined,
    is_leaf_type,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path

#: Where a plain field keeps how to read it (`GraphQLField.extensions`).
PLAIN_FIELD = "studyhall-plain-field"


@dataclass(frozen=True, slots=True)
class PlainField:
    attribute: str
    leaf: GraphQLLeafType
    nullable: bool


def plain_field(field: GraphQLField) -> PlainField | None:
    """How to read `field` directly, or None when it needs graphql-core's path."""
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryField) or not definition.is_basic_field or field.args:
        return None
    nullable = not isinstance(field.type, GraphQLNonNull)
    leaf = field.type if nullable else field.type.of_type  # type: ignore[union-attr]
    if not is_leaf_type(leaf):
        return None
    return PlainField(definition.python_name, leaf, nullable)


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
        if plain is not None and not node.arguments and not self.middleware_manager:
            value = getattr(source, plain.attribute, Undefined)
            if value is None and plain.nullable:
                return None
            if value is not None and value is not Undefined:
                try:
                    coerced = plain.leaf.coerce_output_value(value)
                except Exception:  # noqa: BLE001, S110 (graphql-core's path reports it)
                    coerced = Undefined
                if coerced is not Undefined and coerced is not None:
                    return coerced
        return super().execute_field(parent_type, source, field_details_list, path, position_context)
