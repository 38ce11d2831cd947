"""The Mux webhook: verify the delivery, apply each event once, never move a video backwards.

Mux (Settings → Webhooks) posts every event of the environment to `POST /webhooks/mux` and
retries until it gets a 2xx. A delivery is applied only when its `Mux-Signature` verifies
(`media.mux.verify_webhook_signature`); otherwise `400 webhook_signature_invalid` and nothing
changes. Events of the types below are recorded by id (`mux_webhook_events`) in the same
transaction as their change, so a redelivery is a no-op; what they change goes through the
status machine of `media.video`, so a late or out-of-order event changes nothing either.

| event | effect |
|---|---|
| `video.upload.asset_created` | `waiting_upload → processing`, with the asset id |
| `video.asset.ready` | `→ ready`, with the playback id, its policy and the duration |
| `video.asset.errored` | `→ errored`, with Mux's messages |
| `video.upload.cancelled`, `video.upload.errored` | `waiting_upload → errored` |

Any other type is acknowledged and ignored (Mux sends many). Events about uploads or assets
no lesson video waits for (an older upload of the lesson, an admin upload, another
application on the same Mux environment) are acknowledged, logged and ignored.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.core.clock import utcnow
from studyhall.core.db import dialect_insert, session_settings
from studyhall.media import video
from studyhall.media.errors import WebhookPayloadInvalid, WebhookSignatureInvalid
from studyhall.media.models import MuxWebhookEvent
from studyhall.media.mux import verify_webhook_signature

logger = structlog.get_logger(__name__)


class WebhookOutcome(StrEnum):
    APPLIED = "applied"
    IGNORED = "ignored"
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class MuxEvent:
    id: str
    type: str
    data: dict[str, Any]


def _text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def _number(data: dict[str, Any], key: str) -> float | None:
    value = data.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _playback(asset: dict[str, Any], wanted_policy: str | None) -> tuple[str | None, str | None]:
    """The asset's playback id (and its policy) of the policy the upload asked for, else the first."""
    ids = [
        entry for entry in asset.get("playback_ids") or [] if isinstance(entry, dict) and _text(entry, "id")
    ]
    chosen = next((entry for entry in ids if entry.get("policy") == wanted_policy), ids[0] if ids else None)
    if chosen is None:
        return None, None
    return _text(chosen, "id"), _text(chosen, "policy")


def _object(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _asset_error(asset: dict[str, Any]) -> str:
    errors = _object(asset, "errors")
    messages = [str(message) for message in errors.get("messages") or [] if message]
    return "; ".join(messages) or str(errors.get("type") or "Mux could not process the video")


async def _asset_created(session: AsyncSession, upload: dict[str, Any]) -> bool:
    upload_id, asset_id = _text(upload, "id"), _text(upload, "asset_id")
    if upload_id is None or asset_id is None:
        return False
    return await video.mark_processing(session, upload_id=upload_id, asset_id=asset_id) is not None


async def _asset_ready(session: AsyncSession, asset: dict[str, Any]) -> bool:
    asset_id = _text(asset, "id")
    if asset_id is None:
        return False
    wanted = "signed" if session_settings(session).mux_signing_key_id else "public"
    playback_id, policy = _playback(asset, wanted)
    changed = await video.mark_ready(
        session,
        upload_id=_text(asset, "upload_id"),
        asset_id=asset_id,
        playback_id=playback_id,
        playback_policy=policy,
        duration_seconds=_number(asset, "duration"),
    )
    return changed is not None


async def _asset_errored(session: AsyncSession, asset: dict[str, Any]) -> bool:
    asset_id = _text(asset, "id")
    if asset_id is None:
        return False
    changed = await video.mark_errored(
        session, upload_id=_text(asset, "upload_id"), asset_id=asset_id, error=_asset_error(asset)
    )
    return changed is not None


async def _upload_failed(session: AsyncSession, upload: dict[str, Any]) -> bool:
    upload_id = _text(upload, "id")
    if upload_id is None:
        return False
    reason = (
        _text(_object(upload, "error"), "message")
        or f"The upload was {_text(upload, 'status') or 'cancelled'}"
    )
    changed = await video.mark_errored(session, upload_id=upload_id, asset_id=None, error=reason)
    return changed is not None


_HANDLERS: dict[str, Callable[[AsyncSession, dict[str, Any]], Awaitable[bool]]] = {
    "video.upload.asset_created": _asset_created,
    "video.asset.ready": _asset_ready,
    "video.asset.errored": _asset_errored,
    "video.upload.cancelled": _upload_failed,
    "video.upload.errored": _upload_failed,
}


def _parse(body: bytes) -> MuxEvent:
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise WebhookPayloadInvalid("The body is not JSON") from exc
    if not isinstance(document, dict):
        raise WebhookPayloadInvalid("The body is not a Mux event")
    event_id, event_type, data = document.get("id"), document.get("type"), document.get("data")
    if not (isinstance(event_id, str) and event_id and len(event_id) <= 128):
        raise WebhookPayloadInvalid("The event has no `id`")
    if not (isinstance(event_type, str) and event_type and len(event_type) <= 64):
        raise WebhookPayloadInvalid("The event has no `type`")
    return MuxEvent(event_id, event_type, data if isinstance(data, dict) else {})


async def _first_delivery(session: AsyncSession, event: MuxEvent) -> bool:
    """Record the event; False when it was recorded before (or by a delivery running now,
    whose insert this one waits for)."""
    statement = (
        dialect_insert(session, MuxWebhookEvent)
        .values(id=event.id, type=event.type, received_at=utcnow())
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(MuxWebhookEvent.id)
    )
    return (await session.execute(statement)).first() is not None


async def receive_mux_webhook(
    session: AsyncSession, signature: str | None, body: bytes, *, now: datetime | None = None
) -> WebhookOutcome:
    settings = session_settings(session)
    if not settings.mux_webhook_secret:
        raise WebhookSignatureInvalid("No MUX_WEBHOOK_SECRET is configured; deliveries cannot be verified")
    verify_webhook_signature(
        settings.mux_webhook_secret,
        signature,
        body,
        now=now or utcnow(),
        tolerance=timedelta(seconds=settings.mux_webhook_tolerance_seconds),
    )
    event = _parse(body)
    handler = _HANDLERS.get(event.type)
    if handler is None:
        return WebhookOutcome.IGNORED
    if not await _first_delivery(session, event):
        logger.info("mux_webhook_duplicate", event_id=event.id, event_type=event.type)
        return WebhookOutcome.DUPLICATE
    if not await handler(session, event.data):
        logger.info("mux_webhook_ignored", event_id=event.id, event_type=event.type)
        return WebhookOutcome.IGNORED
    return WebhookOutcome.APPLIED
