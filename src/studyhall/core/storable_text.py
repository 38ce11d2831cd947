"""Text the database cannot store never gets in: one check for every path, query string,
header and body, before routing and validation.

PostgreSQL's `text` (and `jsonb`) cannot hold NUL, and no UTF-8 column can hold an unpaired
UTF-16 surrogate: such a string fails at the driver with a 500 wherever it is used, in a
lookup as much as in a write. So a request carrying one anywhere is `422 validation_error`
with the usual `errors: [{loc, msg, type}]`, `loc` naming where it was (`["path",
"course_id"]`, `["query", "q"]`, `["header", "user-agent"]`, `["body", "answers", 0]`).

The check costs next to nothing on ordinary requests: each part is first scanned for the few
byte patterns that can carry such a character, and only a suspect part is decoded to find
the exact location. JSON and form bodies are read here (within the body size limit, which
wraps this middleware) and replayed to the application.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from starlette.datastructures import Headers, QueryParams, UploadFile
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from studyhall.core.errors import documented_paths, validation_error_response

#: Characters no text column can store: NUL (PostgreSQL) and unpaired surrogates (not UTF-8).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
#: Byte patterns that can carry one. JSON carries them only as escapes (`\u0000`,
#: `\ud800`-`\udfff`, paired surrogates too, which decode fine) or, in UTF-16/32 text, next to
#: NUL bytes; forms and query strings as `%00` or a raw NUL (their decoders never produce
#: surrogates).
_SUSPECT = {
    "json": re.compile(rb"\x00|\\u(?:0000|[dD][89a-fA-F])"),
    "form": re.compile(rb"\x00|%00"),
}

#: What every suspect body contains, found by a byte search (memchr) much faster than the
#: patterns' scan: a batch of 500 events (100 KB) takes a few microseconds instead of 0.3 ms.
_MARKERS = {"json": (b"\x00", b"\\u"), "form": (b"\x00", b"%00")}

Loc = list[str | int]


def _issue(loc: Loc) -> dict[str, Any]:
    return {
        "loc": loc,
        "msg": "Text must not contain NUL characters or unpaired surrogates",
        "type": "string_unstorable_character",
    }


def _printable(name: str) -> str:
    """A name for `loc` that can itself be encoded in the response."""
    return UNSTORABLE.sub("\ufffd", name)


def _path_issues(scope: Scope) -> list[Loc]:
    if not UNSTORABLE.search(scope["path"]):
        return []
    app = scope.get("app")
    matches = documented_paths(app, scope["path"]) if isinstance(app, FastAPI) else []
    for _template, params in matches:
        names = [name for name, value in params.items() if UNSTORABLE.search(value)]
        if names:
            return [["path", name] for name in names]
    return [["path"]]


def _query_issues(scope: Scope) -> list[Loc]:
    query: bytes = scope.get("query_string", b"")
    if not _SUSPECT["form"].search(query):
        return []
    return [
        ["query", _printable(key)]
        for key, value in QueryParams(query).multi_items()
        if UNSTORABLE.search(key) or UNSTORABLE.search(value)
    ]


def _header_issues(scope: Scope) -> list[Loc]:
    # Decoded as latin-1, header bytes cannot make a surrogate; NUL is forbidden by RFC 9110.
    return [
        ["header", _printable(name.decode("latin-1"))]
        for name, value in scope["headers"]
        if b"\x00" in name or b"\x00" in value
    ]


def _json_issues(document: Any) -> Iterator[Loc]:
    """Locations of unstorable strings (values or keys), in document order. Iterative: a
    deeply nested document must not exhaust the stack."""
    pending: list[tuple[Loc, Any]] = [(["body"], document)]
    while pending:
        loc, value = pending.pop()
        if isinstance(value, str):
            if UNSTORABLE.search(value):
                yield loc
        elif isinstance(value, dict):
            children: list[tuple[Loc, Any]] = []
            for key, item in value.items():
                if UNSTORABLE.search(key):
                    yield [*loc, _printable(key)]
                else:
                    children.append(([*loc, key], item))
            pending.extend(reversed(children))
        elif isinstance(value, list):
            pending.extend(([*loc, index], item) for index, item in reversed(list(enumerate(value))))


async def _form_issues(scope: Scope, body: bytes) -> list[Loc]:
    try:
        form = await Request(scope, _replay(body, None)).form()
    except Exception:  # a form that does not parse is the route's to reject
        return []
    issues: list[Loc] = []
    for key, value in form.multi_items():
        text = (value.filename or "") if isinstance(value, UploadFile) else value
        if UNSTORABLE.search(key) or UNSTORABLE.search(text):
            issues.append(["body", _printable(key)])
    await form.close()
    return issues


def _body_kind(scope: Scope) -> str | None:
    """`json` or `form` for the bodies the application parses into text, else None."""
    media_type = Headers(scope=scope).get("content-type", "").split(";")[0].strip().lower()
    if media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        return "json"
    if media_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return "form"
    return None


async def _body_issues(scope: Scope, body: bytes, kind: str) -> list[Loc]:
    if not any(marker in body for marker in _MARKERS[kind]):  # a byte search: most bodies stop here
        return []
    if not _SUSPECT[kind].search(body):
        return []
    if kind == "form":
        return await _form_issues(scope, body)
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # not JSON: the route answers json_invalid
        return []
    return list(_json_issues(document))


async def _read_body(receive: Receive) -> tuple[bytes, Message | None]:
    """The whole body, and the disconnect message if the client left before sending it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), message
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), None


def _replay(body: bytes, then: Receive | None, disconnect: Message | None = None) -> Receive:
    """A `receive` that hands out the body already read, then defers to `then`."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        if disconnect is not None or then is None:
            return disconnect or {"type": "http.disconnect"}
        return await then()

    return receive


class StorableTextMiddleware:
    """`422 validation_error` for a request carrying text the database cannot store."""

    def __init__(self, app: ASGIApp, opaque_body_paths: tuple[str, ...] = ()) -> None:
        self.app = app
        #: Path prefixes whose bodies are bytes to store, never parsed into text: not read here.
        self.opaque_body_paths = opaque_body_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        issues = [*_path_issues(scope), *_query_issues(scope), *_header_issues(scope)]
        opaque = scope["path"].startswith(self.opaque_body_paths)
        kind = None if issues or opaque else _body_kind(scope)
        if kind is not None:
            body, disconnect = await _read_body(receive)
            issues = await _body_issues(scope, body, kind)
            receive = _replay(body, receive, disconnect)
        if issues:
            await validation_error_response([_issue(loc) for loc in issues])(scope, receive, send)
            return
        await self.app(scope, receive, send)
