"""`DomainRouter`: the `APIRouter` every domain uses, with a cheap first look at the path.

FastAPI matches a request by asking each included router, in order, to try each of its
routes, and then asks the chosen router again to pick the route: a request for the last
router's last route tries every route of the application twice, at a few microseconds of
Python each. With a hundred routes that was the largest single cost of a cheap request
(`/health/live`, `/auth/me`), ahead of the database.

A `DomainRouter` first checks that the request path contains the leading literal segment of at
least one of its routes (`/courses/{id}` needs a `courses` segment, `/auth/me` an `auth`
segment), a set lookup; a router that cannot match says so without trying its routes. Paths
that could match are left to FastAPI, so matching, its order and its errors (404, 405) are
unchanged. A router with a route whose path starts with a parameter, or that includes other
routers, always defers to FastAPI.

Its routes also read JSON bodies with pydantic-core's parser (`FastJSONRoute`), the standard
library's only for what that one refuses, so every body means what it meant before.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute, APIWebSocketRoute
from pydantic_core import from_json
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

#: Routers are included under a prefix of at most two segments (`/api/v1`), so a route's
#: leading segment is among the first three of the request path ("" before the first "/"
#: counts as one): only those are looked at, so `/api/v1/auth/me` is not taken for `/me/...`.
SEGMENTS_LOOKED_AT = 4


def leading_segment(path: str) -> str | None:
    """The first segment of a route path when it is literal (`/courses/{id}` → `courses`)."""
    first = path.lstrip("/").split("/", 1)[0]
    return first if first and "{" not in first else None


def _leading_segments(routes: list[BaseRoute]) -> frozenset[str] | None:
    segments = set()
    for route in routes:
        if not isinstance(route, APIRoute | APIWebSocketRoute):
            return None
        segment = leading_segment(route.path)
        if segment is None:
            return None
        segments.add(segment)
    return frozenset(segments)


def _first_segments(path: str) -> list[str]:
    return path.split("/", SEGMENTS_LOOKED_AT)[:SEGMENTS_LOOKED_AT]


class FastJSONRequest(Request):
    async def json(self) -> Any:
        """The body as JSON: pydantic-core's parser reads a batch of 500 activity events in
        about half of `json.loads`'s time with the same values (integers of any size, `NaN`);
        what it refuses (lone surrogates, nesting over 200 levels) `json` decides, and words
        the error as before. Only keys are cached: values rarely repeat, and caching them
        cost a fifth of the parse. (orjson is faster still but reads integers beyond 64 bits
        as floats.)"""
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json = from_json(body, cache_strings="keys")
            except ValueError:
                self._json = json.loads(body)
        return self._json


class FastJSONRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def with_fast_json(request: Request) -> Response:
            return await handler(FastJSONRequest(request.scope, request.receive))

        return with_fast_json


class DomainRouter(APIRouter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("route_class", FastJSONRoute)
        super().__init__(*args, **kwargs)
        self._segments: frozenset[str] | None = None
        self._segments_for = -1

    def leading_segments(self) -> frozenset[str] | None:
        """The leading literal segments of this router's routes; None when some route has
        none (or is not a plain route), so the router cannot rule any path out."""
        if self._segments_for != len(self.routes):
            self._segments = _leading_segments(self.routes)
            self._segments_for = len(self.routes)
        return self._segments

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        segments = self.leading_segments()
        if segments is not None and segments.isdisjoint(_first_segments(scope["path"])):
            return Match.NONE, {}
        return super().matches(scope)
