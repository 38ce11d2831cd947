"""JSON as bytes, fast: orjson, and the standard library for what orjson refuses.

orjson writes UUIDs and datetimes (ISO 8601) itself and is several times faster than `json`
on the activity batches. Subclasses of them (asyncpg returns its own UUID class) become text
through `default`. orjson refuses integers beyond 64 bits, which a client may put in free-form
`data`: those documents go through `json`, in the same forms.
"""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

import orjson


def dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value, default=_as_text)
    except orjson.JSONEncodeError:
        return json.dumps(value, default=_as_text, separators=(",", ":"), allow_nan=False).encode()


def dumps_tagged(document: dict[str, Any], tag: str) -> bytes:
    """`dumps` of a document for `loads_tagged`: when orjson refuses it (an integer beyond 64
    bits, which orjson would also read back as a float), the standard library writes it with
    `tag: true` added, telling the reader to read it exactly."""
    try:
        return orjson.dumps(document, default=_as_text)
    except orjson.JSONEncodeError:
        return dumps({**document, tag: True})


def loads_tagged(body: bytes, tag: str) -> Any:
    """A document written by `dumps_tagged`: orjson's speed for most, the standard library's
    exact integers for the tagged."""
    document = orjson.loads(body)
    if isinstance(document, dict) and document.get(tag) is True:
        return json.loads(body)
    return document


def _as_text(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"not JSON: {type(value).__name__}")
