"""Arguments checked as REST checks the same query parameters and bodies, with the same
`422 validation_error` entries (`extensions.errors`): ids, pages, catalog filters, and
inputs validated by the REST request schemas themselves (`PostInput` by `PostCreate`)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from studyhall.catalog.models import CourseLevel
from studyhall.catalog.schemas import CatalogSort
from studyhall.core.errors import InvalidInput, error_entry
from studyhall.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, PageParams

ModelT = TypeVar("ModelT", bound=BaseModel)


def validated(model: type[ModelT], where: str, values: dict[str, Any]) -> ModelT:
    """`values` validated by `model`; `validation_error` with each problem under `where`
    (`args` for field arguments, `input` for an input object)."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        errors = [
            error_entry(
                [where, *(part if isinstance(part, int) else str(part) for part in entry["loc"])],
                entry["msg"],
                entry["type"],
            )
            for entry in exc.errors()
        ]
        raise InvalidInput("The arguments are not valid; see `extensions.errors`.", errors=errors) from None


class _Arguments(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PageArguments(_Arguments):
    """`limit` and `offset` within REST's bounds (`core.pagination.page_params`)."""

    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT
    offset: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0


def page_params(limit: int | None, offset: int | None) -> PageParams:
    """A page's arguments; `null` stands for the default."""
    values = {"limit": limit, "offset": offset}
    page = validated(PageArguments, "args", {k: v for k, v in values.items() if v is not None})
    return PageParams(limit=page.limit, offset=page.offset)


class CatalogArguments(_Arguments):
    """The catalog's filters with the bounds of `GET /courses`."""

    q: Annotated[str, Field(max_length=200)] | None = None
    category: Annotated[str, Field(max_length=100)] | None = None
    level: CourseLevel | None = None
    tag: Annotated[str, Field(max_length=50)] | None = None
    skill: Annotated[str, Field(max_length=50)] | None = None
    instructor_id: uuid.UUID | None = None
    free: bool | None = None
    sort: CatalogSort = CatalogSort.NEWEST


class _Id(_Arguments):
    value: uuid.UUID


def parse_id(value: str, argument: str) -> uuid.UUID:
    """An `ID` argument as a UUID; `validation_error` otherwise, as a malformed path id is."""
    try:
        return _Id.model_validate({"value": value}).value
    except ValidationError as exc:
        [entry] = exc.errors()
        raise InvalidInput(
            f"`{argument}` is not a valid id",
            errors=[error_entry(["args", argument], entry["msg"], entry["type"])],
        ) from None
