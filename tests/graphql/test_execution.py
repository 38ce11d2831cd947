"""The short path for plain fields (scalars, and objects plain throughout) answers exactly
what graphql-core's own path answers, errors included."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import strawberry

from studyhall.graphql.execution import (
    PLAIN_FIELD,
    PlainFieldsExecution,
    PlainObjectType,
    mark_plain_fields,
    shared_plans,
)
from studyhall.graphql.limits import Limits
from studyhall.graphql.schema import StudyHallSchema


@strawberry.type
class Card:
    title: str
    subtitle: str | None
    tags: list[str]
    price_cents: int


@strawberry.type
class Shelf:
    name: str
    cards: list[Card]
    featured: Card | None

    @strawberry.field
    def label(self) -> str:
        return self.name.upper()


GOOD = Card(title="Rust", subtitle=None, tags=["systems"], price_cents=1900)
BROKEN = Card(title=None, subtitle="broken", tags=["a", None], price_cents="many")  # type: ignore[arg-type]
TOO_BIG = Card(title="Big", subtitle=None, tags=[], price_cents=2**31)


@strawberry.type
class Root:
    @strawberry.field
    def cards(self) -> list[Card | None]:
        return [GOOD, BROKEN]

    @strawberry.field
    def shelves(self) -> list[Shelf | None]:
        return [
            Shelf(name="good", cards=[GOOD, GOOD], featured=GOOD),
            Shelf(name="broken inside", cards=[GOOD, BROKEN], featured=None),
            Shelf(name="too big", cards=[], featured=TOO_BIG),
            Shelf(name="null item", cards=[GOOD, None], featured=None),  # type: ignore[list-item]
        ]


DOCUMENT = "{ cards { title subtitle tags priceCents } }"
SHELVES = (
    "{ shelves { __typename name cards { __typename title priceCents } featured { title priceCents } } }"
)


def run(execution: type[PlainFieldsExecution] | None, document: str = DOCUMENT) -> dict[str, Any]:
    schema = strawberry.Schema(query=Root, execution_context_class=execution)
    if execution is not None:
        mark_plain_fields(schema._schema)
    result = schema.execute_sync(document)
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


def test_plain_objects_answer_as_graphql_core_does_errors_included() -> None:
    short, plain = run(PlainFieldsExecution, SHELVES), run(None, SHELVES)
    assert short == plain
    card = {"__typename": "Card", "title": "Rust", "priceCents": 1900}
    assert short["data"] == {
        "shelves": [
            {
                "__typename": "Shelf",
                "name": "good",
                "cards": [card, card],
                "featured": {"title": "Rust", "priceCents": 1900},
            },
            None,  # a broken card in a non-null list nulls its shelf
            {"__typename": "Shelf", "name": "too big", "cards": [], "featured": None},
            None,  # so does a null card
        ]
    }
    assert sorted(path for _, path in short["errors"]) == [
        ("shelves", 1, "cards", 1, "title"),
        ("shelves", 2, "featured", "priceCents"),
        ("shelves", 3, "cards", 1),
    ]


def test_an_object_with_a_resolved_field_takes_graphql_cores_path_and_answers_alike() -> None:
    document = "{ shelves { label cards { title } } }"
    assert run(PlainFieldsExecution, document) == run(None, document)


def test_object_fields_without_resolvers_are_marked_plain() -> None:
    schema = strawberry.Schema(query=Root, execution_context_class=PlainFieldsExecution)
    mark_plain_fields(schema._schema)
    shelf = schema._schema.type_map["Shelf"].fields  # type: ignore[union-attr]
    assert isinstance(shelf["cards"].extensions[PLAIN_FIELD], PlainObjectType)
    assert isinstance(shelf["featured"].extensions[PLAIN_FIELD], PlainObjectType)
    assert PLAIN_FIELD not in shelf["label"].extensions


LIMITS = Limits(max_depth=10, max_cost=100_000, max_aliases=30, max_tokens=5_000, introspection=True)


def cached_documents_schema(execution: type[PlainFieldsExecution] | None) -> StudyHallSchema:
    """As the application's: documents parsed once per text."""
    schema = StudyHallSchema(LIMITS, query=Root, execution_context_class=execution)
    if execution is not None:
        mark_plain_fields(schema._schema)
    return schema


def operation_of(schema: StudyHallSchema, text: str) -> Any:
    document = schema.prepared(text).document
    assert document is not None
    return document.definitions[0]


async def test_requests_of_one_parsed_document_share_its_plans() -> None:
    schema = cached_documents_schema(PlainFieldsExecution)
    first = await schema.execute(SHELVES)
    plans = shared_plans(operation_of(schema, SHELVES), {})
    assert plans, "the first request planned nothing to share"
    planned = dict(plans)
    second = await schema.execute(SHELVES)
    assert second.data == first.data
    assert second.data is not None
    assert plans == planned  # nothing planned again
    assert all(plans[key] is plan for key, plan in planned.items())


async def test_selections_that_variables_decide_are_planned_per_request() -> None:
    """`@include(if: $x)` makes the selection depend on the request: plans are not shared,
    and each request answers what its variables select, as graphql-core does."""
    text = "query($x: Boolean!) { shelves { name cards { title priceCents @include(if: $x) } } }"
    for execution in (PlainFieldsExecution, None):
        schema = cached_documents_schema(execution)
        answers = [(await schema.execute(text, variable_values={"x": x})).data for x in (True, False, True)]
        assert answers[0] == answers[2] != answers[1]
        assert answers[1]["shelves"][0]["cards"][0] == {"title": "Rust"}  # type: ignore[index]
        assert answers[0]["shelves"][0]["cards"][0] == {"title": "Rust", "priceCents": 1900}  # type: ignore[index]
    assert shared_plans(operation_of(cached_documents_schema(PlainFieldsExecution), text), {}) is None


@strawberry.type
class Book:
    title: str
    price_cents: int
    on_loan: bool
    graphql_memo: strawberry.Private[dict[Any, Any] | None] = None
    GRAPHQL_VARYING: ClassVar[frozenset[str]] = frozenset({"on_loan"})


SHARED_BOOK = Book(title="Rust", price_cents=1900, on_loan=False, graphql_memo={})
LOANS: list[bool] = []


@strawberry.type
class Library:
    @strawberry.field
    def books(self) -> list[Book]:
        """The shared book, copied with this request's `on_loan`, twice."""
        return [dataclasses.replace(SHARED_BOOK, on_loan=LOANS[-1]) for _ in range(2)]


BOOKS = "{ books { onLoan title __typename priceCents } }"


async def test_a_shared_objects_values_are_read_once_and_the_varying_ones_every_time() -> None:
    schema = StudyHallSchema(LIMITS, query=Library, execution_context_class=PlainFieldsExecution)
    mark_plain_fields(schema._schema)
    answers = []
    for on_loan in (True, False):
        LOANS.append(on_loan)
        answers.append((await schema.execute(BOOKS)).data)
        SHARED_BOOK.title = "changed behind the memo's back"  # kept values are not read again
    book = {"onLoan": True, "title": "Rust", "__typename": "Book", "priceCents": 1900}
    assert answers[0] == {"books": [book, book]}
    assert answers[1] == {"books": [book | {"onLoan": False}] * 2}
    assert list(answers[1]["books"][0]) == ["onLoan", "title", "__typename", "priceCents"]  # type: ignore[index]
    assert len(SHARED_BOOK.graphql_memo or {}) == 1  # one plan, shared by both requests
