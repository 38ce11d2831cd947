"""Signed URLs of the local storage: StudyHall serves `PUT`/`GET /storage/{key}` itself, to
whoever holds a URL it signed.

A URL carries what it grants in its query, and an HMAC-SHA256 over all of it:

    PUT {PUBLIC_URL}/storage/{key}?expires=<unix s>&content_type=<type>&size=<bytes>&signature=<hex>
    GET {PUBLIC_URL}/storage/{key}?expires=<unix s>&filename=<name>&content_type=<type>&signature=<hex>

The signed message is the JSON array `[method, key, expires, <the method's fields in the order
above>]`, so no field can bleed into another. The HMAC key is derived from `SECRET_KEY` for
this purpose alone. A `GET` URL also answers `HEAD`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from studyhall.core.clock import utcnow
from studyhall.core.errors import StorageSignatureInvalid, StorageUrlExpired
from studyhall.core.security import derive_key

#: Where the routes are mounted (no API prefix: the URLs stand for objects, not API resources).
STORAGE_PATH = "/storage"
#: The fields each method's URL signs, in the order they are signed.
_FIELDS = {"PUT": ("content_type", "size"), "GET": ("filename", "content_type")}
_EXPIRES = re.compile(r"[0-9]{1,12}")


class UrlSigner:
    """Signs and verifies the local storage's URLs, under `base_url` (`PUBLIC_URL`)."""

    def __init__(self, secret_key: str, base_url: str) -> None:
        self._key = derive_key(secret_key, b"studyhall storage url signing")
        self.base_url = base_url.rstrip("/")

    def signature(self, method: str, key: str, expires: int, fields: Mapping[str, str]) -> str:
        """The signature of a request; takes any key, so callers check theirs first."""
        values = [fields[name] for name in _FIELDS[method]]
        message = json.dumps([method, key, expires, *values], separators=(",", ":"), ensure_ascii=False)
        return hmac.new(self._key, message.encode(), hashlib.sha256).hexdigest()

    def url(self, method: str, key: str, expires_at: datetime, fields: Mapping[str, str]) -> str:
        expires = int(expires_at.timestamp())
        signature = self.signature(method, key, expires, fields)
        query = urlencode(
            {"expires": expires, **{name: fields[name] for name in _FIELDS[method]}, "signature": signature}
        )
        return f"{self.base_url}{STORAGE_PATH}/{quote(key)}?{query}"

    def verify(self, method: str, key: str, query: Mapping[str, str]) -> dict[str, str]:
        """The fields a URL signed for `method` on `key` grants (`size` as text);
        `StorageSignatureInvalid` for anything changed or missing, `StorageUrlExpired` for a
        genuine URL past its time."""
        fields = {name: query.get(name) for name in _FIELDS[method]}
        expires_text, signature = query.get("expires", ""), query.get("signature", "")
        if not _EXPIRES.fullmatch(expires_text) or any(value is None for value in fields.values()):
            raise StorageSignatureInvalid("The URL lacks its signed parameters.")
        present = {name: value for name, value in fields.items() if value is not None}
        expected = self.signature(method, key, int(expires_text), present)
        if not hmac.compare_digest(expected.encode(), signature.encode(errors="replace")):
            raise StorageSignatureInvalid(
                "The signature does not match this request: the URL was changed, or it was signed "
                "for another method."
            )
        if int(expires_text) <= utcnow().timestamp():
            expired_at = datetime.fromtimestamp(int(expires_text), UTC).isoformat()
            raise StorageUrlExpired(f"The URL expired at {expired_at}.")
        return present
