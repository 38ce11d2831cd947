"""A cheaper execution of plain fields.

graphql-core builds a path and a resolve info, calls the field's resolver and walks
`complete_value` for every field of every object: most of a catalog page's time (about 500
fields) went there. A plain field (an attribute with no resolver, no arguments, no field
extension) needs none of it when its type is a scalar or an enum (or a list of them), or an
object type (or a list of them) whose selection is plain throughout, like a page's `items`
and each course's `instructors { id fullName }`.

`PlainFieldsExecution.execute_fields` plans each selection set once per request (graphql-core
memoizes the selection set of a list's items, so 20 courses share one plan): its plain fields
are read straight from the attribute and coerced as graphql-core would (a `str` for `String`
as is, without a call), plain objects are read the same way with their own plan, and the
other fields go through graphql-core. An object whose plain value the short path cannot
complete (a null in a non-null field, a value the scalar refuses) is executed wholly by
graphql-core, which reports the error exactly as before.

**Kept values.** An object built once and shared by many requests (a cached catalog page's
courses) can carry a `graphql_memo` dict, with its class naming in `GRAPHQL_VARYING` the
attributes that differ between the per-request copies of it (the caller's progress). A shared
plan reads such an object's other fields once and keeps them there; every later request
copies them and reads only the varying ones, in place, so the order stays the selection's.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast

from graphql.execution.collect_fields import FieldDetailsList, FragmentDetails, GroupedFieldSet
from graphql.pyutils import AwaitableOrValue, Path
from graphql.type.scalars import GRAPHQL_MAX_INT, GRAPHQL_MIN_INT
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from graphql import (
    GraphQLBoolean,
    GraphQLError,
    GraphQLField,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
    OperationDefinitionNode,
    Undefined,
    is_leaf_type,
)

#: Where a plain field keeps how to read it (`GraphQLField.extensions`).
PLAIN_FIELD = "studyhall-plain-field"
#: Python types a built-in scalar outputs unchanged (graphql-core's `serialize_*` return them
#: as they are). Not `Int`: an `int` also has to fit its 32 bits.
UNCHANGED: dict[GraphQLLeafType, type] = {
    GraphQLString: str,
    GraphQLID: str,
    GraphQLBoolean: bool,
    GraphQLFloat: float,
}


class NotUnchanged:
    """The `unchanged` type of a field whose values always need completing: no value has it."""


@dataclass(frozen=True, slots=True)
class PlainField:
    """A plain field of a scalar or enum type, or a list of non-null ones."""

    attribute: str
    leaf: GraphQLLeafType
    nullable: bool
    #: A list of non-null scalars (`tags: [String!]!`) rather than one scalar.
    is_list: bool = False
    #: The type of the values that go into the result as they are (checked by the caller).
    unchanged: type = field(default=NotUnchanged, compare=False)
    #: The same for the items of a list.
    item_unchanged: type = field(default=NotUnchanged, compare=False)

    @classmethod
    def of(cls, attribute: str, leaf: GraphQLLeafType, *, nullable: bool, is_list: bool) -> PlainField:
        scalar_unchanged = UNCHANGED.get(leaf, NotUnchanged)
        if is_list:
            return cls(attribute, leaf, nullable, is_list, NotUnchanged, scalar_unchanged)
        return cls(attribute, leaf, nullable, is_list, scalar_unchanged)

    def complete(self, value: Any) -> Any:
        """The attribute's `value` in the result, or Undefined for graphql-core's path."""
        if value is None:
            return None if self.nullable else Undefined
        if value is Undefined:
            return Undefined
        try:
            if self.is_list:
                unchanged = self.item_unchanged
                if isinstance(value, list) and all(type(item) is unchanged for item in value):
                    return list(value)
                return [self._coerced(item) for item in value]
            return self._coerced(value)
        except (TypeError, ValueError, GraphQLError):  # graphql-core's path reports it
            return Undefined

    def _coerced(self, value: Any) -> Any:
        if type(value) is int and self.leaf is GraphQLInt and GRAPHQL_MIN_INT <= value <= GRAPHQL_MAX_INT:
            return value  # what `serialize_int` returns, without its checks
        coerced = self.leaf.coerce_output_value(value)
        if coerced is Undefined or coerced is None:
            raise TypeError(value)
        return coerced


@dataclass(frozen=True, slots=True)
class PlainObjectType:
    """A plain field of an object type, or a list of non-null ones: plain for a selection
    when that selection is (see `PlainObject`)."""

    attribute: str
    object_type: GraphQLObjectType
    nullable: bool
    is_list: bool


def plain_field(field: GraphQLField) -> PlainField | PlainObjectType | None:
    """How to read `field` directly, or None when it needs graphql-core's path."""
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryField) or not definition.is_basic_field or field.args:
        return None
    field_type: Any = field.type
    nullable = not isinstance(field_type, GraphQLNonNull)
    inner = field_type if nullable else field_type.of_type
    is_list = isinstance(inner, GraphQLList) and isinstance(inner.of_type, GraphQLNonNull)
    named = inner.of_type.of_type if is_list else inner
    if is_leaf_type(named):
        return PlainField.of(definition.python_name, named, nullable=nullable, is_list=is_list)
    if isinstance(named, GraphQLObjectType) and named.is_type_of is None:
        return PlainObjectType(definition.python_name, named, nullable, is_list)
    return None


def mark_plain_fields(schema: GraphQLSchema) -> None:
    """Once per schema: tags every plain field of the object types."""
    for named in schema.type_map.values():
        if isinstance(named, GraphQLObjectType) and not named.name.startswith("__"):
            for field_definition in named.fields.values():
                found = plain_field(field_definition)
                if found is not None:
                    field_definition.extensions = {**(field_definition.extensions or {}), PLAIN_FIELD: found}


#: A plain field's entry in a plan: response name, attribute, the type its values may have as
#: they are, and what completes the others.
PlainEntry = tuple[str, str, type, "PlainField | PlainObject | TypeName"]


#: The attribute of a shared object that keeps its plans' values (see the module's docstring).
MEMO = "graphql_memo"
#: The class attribute naming the attributes whose values a memo does not keep.
VARYING = "GRAPHQL_VARYING"


@dataclass(frozen=True, slots=True, eq=False)  # compared and hashed by identity
class SelectionPlan:
    """How to execute one selection set of one object type."""

    #: The selection set itself: kept alive so that its `id` (the plan's key) is not reused.
    grouped: GroupedFieldSet
    plain: tuple[PlainEntry, ...]
    #: The fields graphql-core executes.
    resolved: GroupedFieldSet
    #: Shared by the requests of one document: only such a plan keeps values in a memo (one
    #: planned per request would make the memo grow with every request).
    shared: bool = False

    @classmethod
    def of(
        cls,
        parent_type: GraphQLObjectType,
        grouped: GroupedFieldSet,
        object_plan: Callable[[GraphQLObjectType, FieldDetailsList], SelectionPlan | None],
        *,
        shared: bool,
    ) -> SelectionPlan:
        """`object_plan` gives the plan of an object field's selection, None when it is not
        plain throughout."""
        plain: list[PlainEntry] = []
        resolved: GroupedFieldSet = {}
        for name, details in grouped.items():
            entry = _plain_entry(parent_type, name, details, object_plan)
            if entry is None:
                resolved[name] = details
            else:
                plain.append(entry)
        return cls(grouped, tuple(plain), resolved, shared)

    def read(self, source: Any) -> dict[str, Any] | Any:
        """The plain fields of `source`, or Undefined when one needs graphql-core's path."""
        if self.shared:
            memo = getattr(source, MEMO, None)
            if memo is not None:
                return self._read_kept(source, memo)
        return _read_entries(source, self.plain)

    def _read_kept(self, source: Any, memo: Memo) -> Any:
        kept = memo.get(self)
        if kept is None:
            values = _read_entries(source, self.plain)
            if values is Undefined:
                return Undefined
            varying_attributes: frozenset[str] = getattr(type(source), VARYING, frozenset())
            varying = tuple(entry for entry in self.plain if entry[1] in varying_attributes)
            memo[self] = (dict(values), varying)
            return values
        values, varying = kept
        current = _read_entries(source, varying)
        if current is Undefined:
            return Undefined
        return values | current  # the kept keys keep their places

    def merged(self, plain_values: dict[str, Any], resolved_values: dict[str, Any]) -> dict[str, Any]:
        """Both halves, in the order of the selection (graphql-core omits unknown fields)."""
        return {
            name: plain_values[name] if name in plain_values else resolved_values[name]
            for name in self.grouped
            if name in plain_values or name in resolved_values
        }


#: A shared object's kept values: per plan, the values read once and the entries read again.
Memo = dict[SelectionPlan, tuple[dict[str, Any], tuple[PlainEntry, ...]]]


def _read_entries(source: Any, entries: tuple[PlainEntry, ...]) -> dict[str, Any] | Any:
    values: dict[str, Any] = {}
    for name, attribute, unchanged, plain in entries:  # the hot loop: kept flat
        value = getattr(source, attribute, Undefined)
        if type(value) is not unchanged:
            value = plain.complete(value)
            if value is Undefined:
                return Undefined
        values[name] = value
    return values


def _plain_entry(
    parent_type: GraphQLObjectType,
    name: str,
    details: FieldDetailsList,
    object_plan: Callable[[GraphQLObjectType, FieldDetailsList], SelectionPlan | None],
) -> PlainEntry | None:
    node = details[0].node
    if node.name.value == "__typename":
        # Clients such as Apollo ask for it in every selection set.
        return (name, "__class__", NotUnchanged, TypeName(parent_type.name))
    definition = parent_type.fields.get(node.name.value)
    found = (definition.extensions or {}).get(PLAIN_FIELD) if definition is not None else None
    if found is None or node.arguments:
        return None
    if isinstance(found, PlainField):
        return (name, found.attribute, found.unchanged, found)
    plan = object_plan(found.object_type, details)
    if plan is None:
        return None
    return (name, found.attribute, NotUnchanged, PlainObject(plan, found.nullable, found.is_list))


@dataclass(frozen=True, slots=True)
class PlainObject:
    """A plain object field (or list of them) with the plan of its selection, which has only
    plain fields."""

    plan: SelectionPlan
    nullable: bool
    is_list: bool

    def complete(self, value: Any) -> Any:
        if value is None:
            return None if self.nullable else Undefined
        if not self.is_list:
            return Undefined if value is Undefined else self.plan.read(value)
        if not isinstance(value, list | tuple):  # graphql-core's path says what it is
            return Undefined
        read = self.plan.read
        items = []
        for item in value:
            completed = Undefined if item is None else read(item)
            if completed is Undefined:
                return Undefined
            items.append(completed)
        return items


@dataclass(frozen=True, slots=True)
class TypeName:
    """`__typename` of an object type: its name, whatever the value."""

    name: str

    def complete(self, value: Any) -> str:
        return self.name


class PlainFieldsExecution(StrawberryGraphQLCoreExecutionContext):
    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        plan = self._plan(parent_type, grouped_field_set)
        execute_all = super().execute_fields
        if not plan.plain:
            return execute_all(parent_type, source_value, path, grouped_field_set, position_context)
        plain_values = plan.read(source_value)
        if plain_values is Undefined:  # graphql-core reports what is wrong with it
            return execute_all(parent_type, source_value, path, grouped_field_set, position_context)
        if not plan.resolved:
            return cast("dict[str, Any]", plain_values)
        resolved = execute_all(parent_type, source_value, path, plan.resolved, position_context)
        if self.is_awaitable(resolved):
            return self._merged_later(plan, plain_values, resolved)
        return plan.merged(plain_values, cast("dict[str, Any]", resolved))

    @staticmethod
    async def _merged_later(
        plan: SelectionPlan, plain_values: dict[str, Any], resolved: Awaitable[dict[str, Any]]
    ) -> dict[str, Any]:
        return plan.merged(plain_values, await resolved)

    def _plan(self, parent_type: GraphQLObjectType, grouped: GroupedFieldSet) -> SelectionPlan:
        plans: dict[tuple[GraphQLObjectType, int], SelectionPlan] = self.__dict__.setdefault("_plans", {})
        key = (parent_type, id(grouped))
        plan = plans.get(key)
        if plan is None:
            shared = self._shared_plans()
            if shared is None:
                plan = self._new_plan(parent_type, grouped, shared=False)
            else:
                nodes = (parent_type, *(id(details.node) for group in grouped.values() for details in group))
                plan = shared.get(nodes)
                if plan is None:
                    plan = shared[nodes] = self._new_plan(parent_type, grouped, shared=True)
            plans[key] = plan
        return plan

    def _new_plan(
        self, parent_type: GraphQLObjectType, grouped: GroupedFieldSet, *, shared: bool
    ) -> SelectionPlan:
        if self._resolve_hooks():  # every resolver must run through the extension
            return SelectionPlan(grouped, (), grouped)
        return SelectionPlan.of(parent_type, grouped, self._object_plan, shared=shared)

    def _shared_plans(self) -> SharedPlans | None:
        if "_shared" not in self.__dict__:
            self.__dict__["_shared"] = (
                None if self._resolve_hooks() else shared_plans(self.operation, self.fragments)
            )
        return cast("SharedPlans | None", self.__dict__["_shared"])

    def _object_plan(self, object_type: GraphQLObjectType, details: FieldDetailsList) -> SelectionPlan | None:
        """The plan of an object field's selection when it is plain throughout (the same
        selection graphql-core would collect and memoize for it)."""
        collected = self.collect_subfields(object_type, details)
        if collected.new_defer_usages or collected.forbidden_directive_instances:
            return None
        plan = self._plan(object_type, collected.grouped_field_set)
        return None if plan.resolved else plan

    def _resolve_hooks(self) -> bool:
        """Whether an extension wraps every resolver (strawberry always passes a manager)."""
        return self.middleware_manager is not None and bool(self.middleware_manager.middlewares)


# -- plans shared by the requests of one operation ------------------------------------------

#: The plans of one operation, by parent type and the ids of the field nodes of the selection.
SharedPlans = dict[tuple[Any, ...], SelectionPlan]
#: By `id` of the operation's node, while the node lives (parsed documents are cached, so
#: every request of a document executes the same nodes); None for operations whose selections
#: depend on variables.
_shared: dict[int, SharedPlans | None] = {}


def shared_plans(
    operation: OperationDefinitionNode, fragments: dict[str, FragmentDetails]
) -> SharedPlans | None:
    """The plans every request of `operation` may share: what a selection set collects depends
    only on its nodes, unless a directive (`@skip(if: $x)`, `@include`, `@defer`) or a
    fragment's arguments decide."""
    key = id(operation)
    if key not in _shared:
        varies = any(fragment.variable_signatures for fragment in fragments.values())
        _shared[key] = None if varies or _has_directives(operation, fragments) else {}
        weakref.finalize(operation, _shared.pop, key, None)
    return _shared[key]


def _has_directives(operation: OperationDefinitionNode, fragments: dict[str, FragmentDetails]) -> bool:
    nodes: list[Any] = [operation, *(fragment.definition for fragment in fragments.values())]
    while nodes:
        node = nodes.pop()
        if getattr(node, "directives", None):
            return True
        selection_set = getattr(node, "selection_set", None)
        if selection_set is not None:
            nodes.extend(selection_set.selections)
    return False
