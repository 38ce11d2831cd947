"""`/graphql`: POST (and GET) runs operations, GET from a browser serves GraphiQL.

GraphiQL is strawberry's page, which loads GraphiQL's scripts and styles from a CDN (no
maintained package ships them for FastAPI); offline, the page stays blank while the endpoint
itself keeps working (docs/graphql.md)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.routing import APIWebSocketRoute
from strawberry.fastapi import GraphQLRouter

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

    # orjson, as the REST responses: a page of courses is a few hundred values.
    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)  # its JSONDecodeError is json's: a bad body stays a 400

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)


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
