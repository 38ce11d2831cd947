"""Talking to Mux (https://docs.mux.com): direct uploads through its API, the webhook
signature, and signed playback tokens. No database here; `media.video` decides what Mux's
answers mean for lessons.

- Direct uploads: `POST {MUX_API_URL}/video/v1/uploads` with HTTP basic auth (token id and
  secret) answers `{"data": {"id", "url", "timeout", ...}}`; the client PUTs the file to `url`.
- Webhooks carry `Mux-Signature: t=<unix time>,v1=<hex>`, where v1 is HMAC-SHA256 of
  `"{t}.{raw body}"` under the webhook's signing secret (several v1 values may be present
  while a secret is rotated).
- Signed playback: an RS256 JWT with `kid` = the signing key id and the claims
  `sub` = playback id, `aud` = `v` (video), `exp`; appended to the playback URL as `?token=`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import RSAKey

from studyhall.media.errors import VideoProviderError, VideoProviderUnavailable, WebhookSignatureInvalid

PLAYBACK_BASE_URL = "https://stream.mux.com"
#: The `aud` claim of a token for video playback (Mux also has `t` thumbnails, `g` GIFs, ...).
PLAYBACK_AUDIENCE = "v"


@dataclass(frozen=True, slots=True)
class MuxUpload:
    id: str
    url: str
    #: Seconds Mux waits for the file before it cancels the upload.
    timeout: int | None


@dataclass(frozen=True)
class MuxClient:
    api_url: str
    token_id: str
    token_secret: str = field(repr=False)
    timeout: float = 10.0

    async def create_upload(
        self, *, cors_origin: str, playback_policy: str, passthrough: str | None
    ) -> MuxUpload:
        """A direct upload whose asset gets `playback_policy` and carries `passthrough` (our
        lesson id) back in its webhooks."""
        settings: dict[str, Any] = {"playback_policy": [playback_policy]}
        if passthrough is not None:
            settings["passthrough"] = passthrough
        data = await self._post(
            "/video/v1/uploads", {"cors_origin": cors_origin, "new_asset_settings": settings}
        )
        try:
            return MuxUpload(
                id=str(data["id"]), url=str(data["url"]), timeout=_int_or_none(data.get("timeout"))
            )
        except (KeyError, TypeError) as exc:
            raise VideoProviderError("Mux answered the upload request without an upload id and URL") from exc

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(
                base_url=self.api_url, auth=(self.token_id, self.token_secret), timeout=self.timeout
            ) as client:
                response = await client.post(path, json=body)
        except httpx.TimeoutException as exc:
            raise VideoProviderUnavailable("Mux did not answer in time; try again") from exc
        except httpx.TransportError as exc:
            raise VideoProviderUnavailable("Mux could not be reached; try again") from exc
        if response.status_code >= 400:
            # Mux's error messages may echo the request; the status is all the caller needs.
            raise VideoProviderError(f"Mux refused the request (HTTP {response.status_code})")
        try:
            data = response.json()["data"]
        except (ValueError, KeyError, TypeError) as exc:
            raise VideoProviderError("Mux answered with something other than its JSON envelope") from exc
        if not isinstance(data, dict):
            raise VideoProviderError("Mux answered with something other than its JSON envelope")
        return data


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) else None


# -- webhook signatures ----------------------------------------------------------------------


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    """The v1 signature Mux sends for `body` at `timestamp`: hex HMAC-SHA256 of `t.body`."""
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def _parse_signature_header(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value.lower())
    if timestamp is None or not signatures:
        raise WebhookSignatureInvalid("Mux-Signature needs a timestamp `t` and at least one `v1`")
    return timestamp, signatures


def verify_webhook_signature(
    secret: str, header: str | None, body: bytes, *, now: datetime, tolerance: timedelta
) -> None:
    """Accept the delivery when one of the header's v1 values is the HMAC of `t.body` and `t`
    lies within `tolerance` of `now`; `WebhookSignatureInvalid` otherwise. Comparisons take
    constant time, so a forger learns nothing from how long a refusal takes."""
    if not header:
        raise WebhookSignatureInvalid("The Mux-Signature header is missing")
    timestamp, signatures = _parse_signature_header(header)
    expected = webhook_signature(secret, timestamp, body)
    matched = False
    for signature in signatures:  # no early exit: every candidate is compared
        matched |= hmac.compare_digest(signature.encode(), expected.encode())
    if not matched:
        raise WebhookSignatureInvalid("The Mux-Signature does not match the body")
    if abs(now.timestamp() - timestamp) > tolerance.total_seconds():
        raise WebhookSignatureInvalid("The Mux-Signature timestamp is outside the tolerance")


# -- signed playback -------------------------------------------------------------------------


@dataclass(frozen=True)
class SigningKey:
    """A Mux URL signing key: its id and the RSA private key."""

    key_id: str
    private_key: RSAKey = field(repr=False)

    @classmethod
    def from_settings(cls, key_id: str, private_key_base64: str) -> SigningKey:
        """Mux hands the private key out as base64 of its PEM; a raw PEM is accepted too."""
        text = private_key_base64.strip()
        pem = text.encode() if text.startswith("-----BEGIN") else base64.b64decode(text, validate=False)
        try:
            key = RSAKey.import_key(pem)
        except ValueError as exc:
            raise ValueError("MUX_SIGNING_KEY_PRIVATE is not an RSA private key (base64 PEM)") from exc
        if not key.is_private:
            raise ValueError("MUX_SIGNING_KEY_PRIVATE is a public key; Mux's private key is needed")
        return cls(key_id, key)

    def playback_token(self, playback_id: str, expires_at: datetime) -> str:
        header = {"alg": "RS256", "typ": "JWT", "kid": self.key_id}
        claims = {"sub": playback_id, "aud": PLAYBACK_AUDIENCE, "exp": int(expires_at.timestamp())}
        return jwt.encode(header, claims, self.private_key, algorithms=["RS256"])


def playback_url(playback_id: str, token: str | None = None) -> str:
    url = f"{PLAYBACK_BASE_URL}/{playback_id}.m3u8"
    return f"{url}?token={token}" if token else url
