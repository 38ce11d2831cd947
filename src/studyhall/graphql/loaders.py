"""Dataloaders: what the fields of many objects need, fetched in one statement per kind.

A page of courses asks each course for its instructors, modules, lessons and the caller's
flags; each loader collects the keys asked for in one turn of the event loop and calls one
batched service function for all of them, so a page costs the same number of statements
whatever its size (tests/graphql/test_batching.py counts them):

| loader | service | statements |
|---|---|---|
| `progress` | `catalog.service.caller_progress` (not for catalog cards) | 1 (none when anonymous) |
| `completions` | `catalog.service.completions_in_courses` | 1 (none when anonymous) |
| `outlines` | `catalog.service.course_outlines` | 2 (modules, lessons) |
| `courses` | `catalog.service.visible_courses` | 1 |
| `users` | `identity.service.users_by_ids` | 1 |
| `cards` | `identity.people.public_cards` (cached) | 1 on a miss, none on a hit |

Loaders live as long as the request (its `GraphQLContext`), so nothing cached in them
outlives it or reaches another caller.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row
from strawberry.dataloader import DataLoader

from studyhall.catalog import service as catalog
from studyhall.identity import service as identity
from studyhall.identity.models import User
from studyhall.identity.people import PublicCard, public_cards
from studyhall.learning.service import CourseProgress

if TYPE_CHECKING:
    from studyhall.graphql.context import GraphQLContext

CourseId = uuid.UUID


class Loaders:
    """Each loader is made on first use: most operations need one or two of them."""

    def __init__(self, context: GraphQLContext) -> None:
        self._context = context

    @cached_property
    def progress(self) -> DataLoader[CourseId, CourseProgress | None]:
        return DataLoader(self._progress)

    @cached_property
    def completions(self) -> DataLoader[CourseId, set[uuid.UUID] | None]:
        return DataLoader(self._completions)

    @cached_property
    def outlines(self) -> DataLoader[CourseId, catalog.CourseOutline]:
        return DataLoader(self._outlines)

    @cached_property
    def courses(self) -> DataLoader[CourseId, Row[Any] | None]:
        return DataLoader(self._courses)

    @cached_property
    def users(self) -> DataLoader[uuid.UUID, User | None]:
        return DataLoader(self._users)

    @cached_property
    def cards(self) -> DataLoader[uuid.UUID, PublicCard | None]:
        return DataLoader(self._cards)

    async def _progress(self, course_ids: list[CourseId]) -> Sequence[CourseProgress | None]:
        """The caller's progress in each course; None where they are not enrolled."""
        viewer = await self._context.viewer()
        found = await self._context.run(lambda session: catalog.caller_progress(session, viewer, course_ids))
        return [found.get(course_id) for course_id in course_ids]

    async def _completions(self, course_ids: list[CourseId]) -> Sequence[set[uuid.UUID] | None]:
        """The lessons the caller completed in each course; None where they are not enrolled."""
        viewer = await self._context.viewer()
        found = await self._context.run(
            lambda session: catalog.completions_in_courses(session, viewer, course_ids)
        )
        return [found.get(course_id) for course_id in course_ids]

    async def _outlines(self, course_ids: list[CourseId]) -> Sequence[catalog.CourseOutline]:
        found = await self._context.run(lambda session: catalog.course_outlines(session, course_ids))
        return [found[course_id] for course_id in course_ids]

    async def _courses(self, course_ids: list[CourseId]) -> Sequence[Row[Any] | None]:
        """Course cards the caller may see; None for the others."""
        viewer = await self._context.viewer()
        found = await self._context.run(lambda session: catalog.visible_courses(session, viewer, course_ids))
        return [found.get(course_id) for course_id in course_ids]

    async def _users(self, user_ids: list[uuid.UUID]) -> Sequence[User | None]:
        found = await self._context.run(lambda session: identity.users_by_ids(session, user_ids))
        by_id = {user.id: user for user in found}
        return [by_id.get(user_id) for user_id in user_ids]

    async def _cards(self, user_ids: list[uuid.UUID]) -> Sequence[PublicCard | None]:
        found = await self._context.run(lambda session: public_cards(session, user_ids))
        return [found.get(user_id) for user_id in user_ids]
