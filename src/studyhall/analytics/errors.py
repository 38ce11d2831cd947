"""Analytics' domain errors."""

from __future__ import annotations

from studyhall.core.errors import DomainError

# -- Activity events ------------------------------------------------------------------------


class IngestUnavailable(DomainError):
    """Broker mode: the broker did not confirm an activity batch, so nothing was accepted;
    sending the same batch again is safe (events are deduplicated by `event_id`)."""

    code = "ingest_unavailable"
    status = 503
    title = "Activity events cannot be taken in right now"
