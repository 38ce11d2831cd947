"""`PUT`, `GET` and `HEAD /storage/{key}`: the local storage's signed URLs, served by StudyHall.

Who may call: whoever holds a URL the API signed (see core/signed_urls.py); there is no other
credential. With S3 storage the API signs no such URL and these routes answer 404.

Uploads stream to a temporary file beside the target and are renamed into place once the body
has exactly the signed size, so memory stays flat and a key holds a whole object or nothing.
`MAX_REQUEST_BODY_BYTES` does not apply here (see `UNLIMITED_BODY_PATHS`): the signed size does.
Downloads stream from the file with `Range` support (Starlette's `FileResponse`).
"""

from __future__ import annotations

from http import HTTPStatus

from fastapi import Request, Response
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import FileResponse
from starlette.types import Message, Receive, Scope, Send

from studyhall.core.body_limit import declared_length
from studyhall.core.errors import (
    NotFound,
    StorageContentTypeMismatch,
    StorageSizeMismatch,
    http_error_response,
)
from studyhall.core.openapi import error_responses
from studyhall.core.routing import DomainRouter
from studyhall.core.signed_urls import STORAGE_PATH
from studyhall.core.storage import InvalidStorageKey, LocalStorage, content_disposition

router = DomainRouter(tags=["storage"])
#: Paths whose bodies the global size limit leaves alone (the signed size limits them).
UNLIMITED_BODY_PATHS = (f"{STORAGE_PATH}/",)

_SIGNED_QUERY = (
    "Signed query parameters: `expires` (Unix seconds), `signature`, and the fields the URL "
    "was signed with; use the URL exactly as the API gave it."
)
_ERRORS = {
    "status_403": "`storage_signature_invalid` (changed URL, other method) or `storage_url_expired`",
    "status_404": "No object under this key (`not_found`), or the storage is not local",
}


def _local_storage(request: Request) -> LocalStorage:
    storage = request.app.state.storage
    if not isinstance(storage, LocalStorage):
        raise NotFound("No such object.")
    return storage


def _checked(storage: LocalStorage, method: str, key: str, request: Request) -> dict[str, str]:
    grant = storage.signer.verify(method, key, request.query_params)
    try:
        storage.path_of(key)  # a signed key is a plain one; this never trusts that it is
    except InvalidStorageKey as exc:
        raise NotFound("No such object.") from exc
    return grant


@router.put(
    STORAGE_PATH + "/{key:path}",
    status_code=204,
    summary="Upload an object through a signed URL",
    description=(
        "The body is stored under `key` when it has exactly the signed size and the request's "
        "`Content-Type` is the signed one; a body longer than that is refused as soon as it "
        "passes the size. " + _SIGNED_QUERY
    ),
    responses=error_responses(
        400,
        403,
        404,
        415,
        status_400="The body's size is not the signed size (`storage_size_mismatch`); nothing is stored",
        status_415="`Content-Type` differs from the signed one (`storage_content_type_mismatch`)",
        **_ERRORS,
    ),
)
async def upload(key: str, request: Request) -> Response:
    storage = _local_storage(request)
    grant = _checked(storage, "PUT", key, request)
    if request.headers.get("content-type") != grant["content_type"]:
        raise StorageContentTypeMismatch(f"Send `Content-Type: {grant['content_type']}`, as signed.")
    size = int(grant["size"])
    declared = declared_length(request.scope)
    if declared is not None and declared != size:
        raise StorageSizeMismatch(f"Content-Length is {declared}, not the signed {size} bytes.")
    await storage.write_stream(key, request.stream(), size=size)
    return Response(status_code=204)


_DOWNLOAD = {
    "summary": "Download an object through a signed URL",
    "description": (
        "Streams the object as the signed `content_type`, as an attachment named by the signed "
        "`filename`. Honours a single `Range` (`206` with `Content-Range`; `416` when it starts "
        "past the end) and sends `ETag`, `Last-Modified` and `Accept-Ranges`. " + _SIGNED_QUERY
    ),
    "response_class": Response,
    "responses": {
        200: {"content": {"application/octet-stream": {}}, "description": "The object's bytes"},
        206: {"content": {"application/octet-stream": {}}, "description": "The requested range"},
        **error_responses(
            400, 403, 404, 416, status_400="A malformed `Range` header (`bad_request`)", **_ERRORS
        ),
    },
}


@router.get(STORAGE_PATH + "/{key:path}", **_DOWNLOAD)  # type: ignore[arg-type]
async def download(key: str, request: Request) -> Response:
    return await _stored_file(key, request)


@router.head(STORAGE_PATH + "/{key:path}", **_DOWNLOAD)  # type: ignore[arg-type]
async def download_headers(key: str, request: Request) -> Response:
    """The same as `GET`, headers only; a `GET` URL signs both."""
    return await _stored_file(key, request)


async def _stored_file(key: str, request: Request) -> Response:
    storage = _local_storage(request)
    grant = _checked(storage, "GET", key, request)
    found = await storage.stat(key)
    if found is None:
        raise NotFound("No such object.")
    response = StoredFileResponse(
        storage.path_of(key),
        stat_result=found,
        headers={
            "Content-Disposition": content_disposition(grant["filename"]),
            # Served from the API's origin: a browser must neither sniff nor run it.
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
            "Cache-Control": "private",
        },
    )
    response.headers["Content-Type"] = grant["content_type"]  # as signed, no charset added
    return response


class StoredFileResponse(FileResponse):
    """`FileResponse`, whose refusals of a `Range` (plain text) become problem documents."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        replaced = False

        async def send_refusals_as_problems(message: Message) -> None:
            nonlocal replaced
            if message["type"] == "http.response.start" and message["status"] in _RANGE_REFUSALS:
                replaced = True
                problem = _range_problem(message)
                await send(
                    {
                        "type": "http.response.start",
                        "status": problem.status_code,
                        "headers": problem.raw_headers,
                    }
                )
                await send({"type": "http.response.body", "body": problem.body})
            elif not replaced:
                await send(message)

        await super().__call__(scope, receive, send_refusals_as_problems)


_RANGE_REFUSALS = {
    HTTPStatus.BAD_REQUEST: "The Range header is malformed.",
    HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE: "The requested range starts past the end of the object.",
}


def _range_problem(start: Message) -> Response:
    content_range = Headers(raw=start["headers"]).get("content-range")
    status = HTTPStatus(start["status"])
    headers = {"Content-Range": content_range} if content_range else None
    return http_error_response(
        StarletteHTTPException(status, detail=_RANGE_REFUSALS[status], headers=headers)
    )
