"""The error catalog that problem documents' `type` URIs point to (`/docs/errors#<code>`).

Generated from the error definitions themselves (`core.errors.error_catalog`), so it lists a
new error the moment its class exists.
"""

from __future__ import annotations

import re
from functools import cache

from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape
from pydantic import BaseModel, Field

from studyhall.core.errors import ERROR_DOCS_PATH, error_catalog
from studyhall.core.routing import DomainRouter

router = DomainRouter(tags=["service"])


class ErrorCodeRead(BaseModel):
    code: str = Field(examples=["course_not_found"])
    status: int = Field(examples=[404])
    title: str = Field(examples=["Course not found"])
    meaning: str = Field(description="What it means and what to do; may be empty")


class ErrorCatalogRead(BaseModel):
    errors: list[ErrorCodeRead]


def _inline_code(text: str) -> Markup:
    """Escapes the text and shows its `backticked` parts as code."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text))))  # noqa: S704 (escaped above)


@cache
def _templates() -> Environment:
    environment = Environment(
        loader=PackageLoader("studyhall", "templates/docs"), autoescape=select_autoescape(["html"])
    )
    environment.filters["inline_code"] = _inline_code
    return environment


@router.get(
    ERROR_DOCS_PATH,
    response_class=HTMLResponse,
    summary="Every error code with its status, title and meaning (HTML)",
)
async def error_codes_page() -> HTMLResponse:
    html = _templates().get_template("errors.html").render(errors=error_catalog())
    return HTMLResponse(html)


@router.get(
    ERROR_DOCS_PATH + ".json",
    response_model=ErrorCatalogRead,
    summary="Every error code with its status, title and meaning (JSON)",
)
async def error_codes() -> ErrorCatalogRead:
    return ErrorCatalogRead(
        errors=[ErrorCodeRead.model_validate(error, from_attributes=True) for error in error_catalog()]
    )
