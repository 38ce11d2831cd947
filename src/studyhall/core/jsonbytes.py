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


def _as_text(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"not JSON: {type(value).__name__}")
