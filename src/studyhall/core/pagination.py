"""The `limit`/`offset` page envelope shared by every list endpoint."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
#: The largest page any list allows (`page_params(maximum=...)`); most stop at `MAX_LIMIT`.
LARGEST_LIMIT = 500


class PageParams(BaseModel):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=LARGEST_LIMIT)
    offset: int = Field(0, ge=0)


def page_params(
    *, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT
) -> Callable[..., Awaitable[PageParams]]:
    """The `limit`/`offset` query dependency of a list; out-of-range values are `422`."""
    assert 1 <= default <= maximum <= LARGEST_LIMIT

    # Bounds as defaults, not in `Annotated`: string annotations cannot see this closure.
    # `async`: FastAPI would run a plain function in a worker thread.
    async def dependency(
        limit: int = Query(default, ge=1, le=maximum, description=f"Page size (1-{maximum})"),
        offset: int = Query(0, ge=0, le=2**31 - 1, description="Items to skip"),
    ) -> PageParams:
        return PageParams(limit=limit, offset=offset)

    return dependency


PageParamsDep = Annotated[PageParams, Depends(page_params())]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(ge=0)
    limit: int
    offset: int

    @classmethod
    def of(cls, items: Sequence[Any], total: int, params: PageParams) -> Page[T]:
        return cls(items=list(items), total=total, limit=params.limit, offset=params.offset)


async def count_rows(session: AsyncSession, statement: Select[Any]) -> int:
    """Total rows of a select, ignoring its ordering and paging."""
    counted = statement.order_by(None).limit(None).offset(None).subquery()
    return int(await session.scalar(select(func.count()).select_from(counted)) or 0)


async def fetch_page(
    session: AsyncSession, statement: Select[Any], params: PageParams
) -> tuple[list[Any], int]:
    """Rows of one page and the total: exactly two queries whatever the page size."""
    total = await count_rows(session, statement)
    rows = (await session.scalars(statement.limit(params.limit).offset(params.offset))).all()
    return list(rows), total
