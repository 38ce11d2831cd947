"""Certificates' outbox event handlers (`studyhall.subscribers` says which events each handles).

They keep no state between deliveries and may run in any API process or worker: everything
they need comes from the event and the session (`session_settings`, `storage_of`).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.certificates import service
from studyhall.core.db import session_settings
from studyhall.core.events import Event
from studyhall.core.storage import storage_of


def _completed_at(event: Event) -> datetime | None:
    value = event.payload.get("completed_at")
    return datetime.fromisoformat(str(value)) if value else None


async def issue_certificate(event: Event, session: AsyncSession) -> None:
    """On `course.completed`: the enrollment's one certificate and its PDF. A repeated
    delivery finds the certificate issued and only stores its PDF if that is missing (the
    delivery that issued it stored the file but a crash lost it, or the file went missing)."""
    issued = await service.issue_for_enrollment(
        session, uuid.UUID(str(event.payload["enrollment_id"])), _completed_at(event)
    )
    if issued is None:
        return
    storage, app_url = storage_of(session), session_settings(session).app_url
    if issued.newly_issued:
        # Overwrite: a file under this key may be left by an attempt that rolled back, with
        # that attempt's verification code.
        await service.store_pdf(storage, issued.certificate, app_url)
    else:
        await service.ensure_pdf(storage, issued.certificate, app_url)
