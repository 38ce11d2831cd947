"""`/graphql`: POST (and GET) runs operations, GET from a browser serves GraphiQL.

GraphiQL is strawberry's page, which loads GraphiQL's scripts and styles from a CDN (no
maintained package ships them for FastAPI); offline, the page stays blank while the endpoint
itself keeps working (docs/graphql.md)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from fastapi.routing import APIWebSocketRoute
from strawberry.exceptions import MissingQueryError
from strawberry.fastapi import GraphQLRouter
from strawberry.http import process_result
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET

from studyhall.config import Settings
from studyhall.core.routing import DomainRouter
from studyhall.graphql.context import GraphQLContext, graphql_context
from studyhall.graphql.limits import Limits
from studyhall.graphql.schema import build_schema

GRAPHQL_PATH = "/graphql"


class StudyHallGraphQLRouter(DomainRouter, GraphQLRouter[GraphQLContext, None]):
    """Strawberry's router, ruled out cheaply for other paths like every domain router, and
    without the subscription socket (the schema has no subscriptions)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.routes[:] = [route for route in self.routes if not isinstance(route, APIWebSocketRoute)]

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        """A POST of one operation as plain JSON goes straight to the schema; strawberry's view
        answers everything else (GET, the explorer, batches, streaming, other bodies) and
        every request it refuses, with its own statuses and messages."""
        operation = await _plain_json_operation(request) if context is not UNSET else None
        if operation is None:
            return await super().run(request, context, root_value)
        query, variables, operation_name = operation
        try:
            result = await self.schema.execute(
                query,
                variable_values=variables,
                context_value=context,
                root_value=None if root_value is UNSET else root_value,
                operation_name=operation_name,
                allowed_operation_types=POST_OPERATIONS,
            )
        except (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError):
            return await super().run(request, context, root_value)  # raised before anything ran
        return self.create_response(process_result(result), await self.get_sub_response(request))

    # orjson, as the REST responses: a page of courses is a few hundred values.
    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)  # its JSONDecodeError is json's: a bad body stays a 400

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)


#: What a POST may run (the schema has no subscriptions).
POST_OPERATIONS = frozenset({OperationType.QUERY, OperationType.MUTATION})
#: `Accept` types of a client that wants a stream of answers (strawberry's view serves them).
STREAM_TYPES = ("multipart/mixed", "text/event-stream")


async def _plain_json_operation(request: Request) -> tuple[str, dict[str, Any] | None, str | None] | None:
    """(query, variables, operationName) of a POST whose body is one well-formed operation in
    JSON; None for anything strawberry's view should answer (the body stays readable: Starlette
    keeps it)."""
    accept = request.headers.get("accept", "")
    if request.method != "POST" or any(stream in accept for stream in STREAM_TYPES):
        return None
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return None
    try:
        data = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not data.keys() <= {"query", "variables", "operationName"}:
        return None
    query, variables, name = data.get("query"), data.get("variables"), data.get("operationName")
    if not isinstance(query, str) or not isinstance(variables, dict | None):
        return None
    if not isinstance(name, str | None):
        return None
    return query, variables, name


def graphql_router(settings: Settings) -> StudyHallGraphQLRouter:
    return StudyHallGraphQLRouter(
        build_schema(Limits.of(settings)),
        path=GRAPHQL_PATH,
        context_getter=graphql_context,
        graphql_ide="graphiql",
        subscription_protocols=(),
        tags=["graphql"],
        # GraphQL describes itself (docs/schema.graphql, introspection), not in OpenAPI terms.
        include_in_schema=False,
    )
