"""The context of one GraphQL request: its unit of work, its caller and its dataloaders.

- **One unit of work per request**, as REST has: the session opens on first use, read-only
  (no transaction, no write lock) for a query and as one transaction for a mutation
  (`graphql.schema` tells which before any resolver runs); it commits when the endpoint
  returns, before the response is sent. Each mutation field runs in a savepoint, so a
  mutation that fails leaves nothing behind while the ones before it in the same request
  keep their changes (GraphQL reports them as done).
- **One statement at a time.** GraphQL resolves sibling fields concurrently and an
  `AsyncSession` takes one statement at a time, so every database call goes through
  `GraphQLContext.run` (or `mutate`), which holds the request's lock.
- **The caller** comes from the bearer token, checked by identity exactly as for REST (one
  SELECT, the first time a resolver asks): an invalid, expired or revoked token is its REST
  error (`invalid_token`, `session_revoked`) wherever the caller matters; no token is an
  anonymous caller, and `SignInRequired` (`unauthenticated`) for private fields.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from functools import cached_property
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.fastapi import BaseContext

from studyhall.config import Settings
from studyhall.core.db import Database
from studyhall.core.errors import DomainError
from studyhall.core.ratelimit import RateLimiter
from studyhall.graphql.errors import SignInRequired
from studyhall.graphql.loaders import Loaders
from studyhall.identity.deps import BearerToken, user_from_access_token
from studyhall.identity.models import User

T = TypeVar("T")


class UnitOfWork:
    """The request's session, opened on first use in the mode the operation needs."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.read_only = True
        self.lock = asyncio.Lock()
        self._stack = AsyncExitStack()
        self._session: AsyncSession | None = None

    async def session(self) -> AsyncSession:
        if self._session is None:
            scope = self.database.read_only_scope() if self.read_only else self.database.session_scope()
            self._session = await self._stack.enter_async_context(scope)
        return self._session

    async def close(self, error: BaseException | None) -> None:
        if error is None:
            await self._stack.aclose()
        else:
            await self._stack.__aexit__(type(error), error, error.__traceback__)


async def _unit_of_work(request: Request) -> AsyncIterator[UnitOfWork]:
    """Committed when the endpoint returns, before the response goes out (scope="function"),
    like `core.deps.SessionDep`."""
    work = UnitOfWork(request.app.state.database)
    try:
        yield work
    except BaseException as exc:
        await work.close(exc)
        raise
    await work.close(None)


UnitOfWorkDep = Annotated[UnitOfWork, Depends(_unit_of_work, scope="function")]


class GraphQLContext(BaseContext):
    def __init__(self, request: Request, work: UnitOfWork, token: str | None) -> None:
        super().__init__()
        self.http = request
        self.work = work
        self.token = token
        self.request_id: str | None = getattr(request.state, "request_id", None)
        self._viewer: User | None = None
        self._viewer_error: DomainError | None = None
        self._viewer_known = False
        self._viewer_lock = asyncio.Lock()

    @property
    def settings(self) -> Settings:
        settings: Settings = self.http.app.state.settings
        return settings

    @property
    def rate_limiter(self) -> RateLimiter:
        limiter: RateLimiter = self.http.app.state.rate_limiter
        return limiter

    @cached_property
    def loaders(self) -> Loaders:
        return Loaders(self)

    async def run(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Runs `work` on the request's session, one at a time."""
        async with self.work.lock:
            return await work(await self.work.session())

    async def mutate(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Runs a mutation's `work` in a savepoint: all of it, or nothing if it raises."""
        async with self.work.lock:
            session = await self.work.session()
            async with session.begin_nested():
                return await work(session)

    async def viewer(self) -> User | None:
        """The signed-in caller, None when anonymous; the token's error when it is not valid."""
        async with self._viewer_lock:  # sibling fields ask at once; one SELECT answers them
            if not self._viewer_known:
                if self.token:
                    try:
                        self._viewer = await self.run(
                            lambda session: user_from_access_token(
                                session, self.http.app.state.tokens, str(self.token)
                            )
                        )
                    except DomainError as exc:
                        self._viewer_error = exc
                self._viewer_known = True
        if self._viewer_error is not None:
            raise self._viewer_error
        return self._viewer

    async def require_viewer(self) -> User:
        """The signed-in caller of a private field: `unauthenticated` without a token."""
        user = await self.viewer()
        if user is None:
            raise SignInRequired("Sign in: send `Authorization: Bearer <access_token>`")
        return user


async def graphql_context(request: Request, work: UnitOfWorkDep, token: BearerToken) -> GraphQLContext:
    return GraphQLContext(request, work, token)
