"""The short path for plain fields answers exactly what graphql-core's own path answers."""

from __future__ import annotations

from typing import Any

import strawberry

from studyhall.graphql.execution import PLAIN_FIELD, PlainFieldsExecution, mark_plain_fields


@strawberry.type
class Card:
    title: str
    subtitle: str | None
    tags: list[str]
    price_cents: int


@strawberry.type
class Root:
    @strawberry.field
    def cards(self) -> list[Card | None]:
        return [
            Card(title="Rust", subtitle=None, tags=["systems"], price_cents=1900),
            Card(title=None, subtitle="broken", tags=["a", None], price_cents="many"),  # type: ignore[arg-type]
        ]


DOCUMENT = "{ cards { title subtitle tags priceCents } }"


def run(execution: type[PlainFieldsExecution] | None) -> dict[str, Any]:
    schema = strawberry.Schema(query=Root, execution_context_class=execution)
    if execution is not None:
        mark_plain_fields(schema._schema)
    result = schema.execute_sync(DOCUMENT)
    return {
        "data": result.data,
        "errors": sorted((e.message, tuple(e.path or ())) for e in result.errors or []),
    }


def test_plain_fields_answer_as_graphql_core_does_errors_included() -> None:
    short, plain = run(PlainFieldsExecution), run(None)
    assert short == plain
    assert short["data"] == {
        "cards": [{"title": "Rust", "subtitle": None, "tags": ["systems"], "priceCents": 1900}, None]
    }
    assert len(short["errors"]) == 1  # the second card's first error nulls it


def test_only_plain_scalar_fields_take_the_short_path() -> None:
    schema = strawberry.Schema(query=Root, execution_context_class=PlainFieldsExecution)
    mark_plain_fields(schema._schema)
    card = schema._schema.type_map["Card"].fields  # type: ignore[union-attr]
    assert all(PLAIN_FIELD in field.extensions for field in card.values())
    assert PLAIN_FIELD not in schema._schema.type_map["Root"].fields["cards"].extensions  # type: ignore[union-attr]
