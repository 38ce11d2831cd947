"""Probe handlers for the delivery tests, and the real worker and relay running them.

`probe.ping` has two handlers. `record_probe` leaves its effect as a `probe.handled` outbox
row written in its transaction (so counting those rows counts committed effects), first
touching a marker file (`started-<event id>-<pid>-<attempt>`) in the payload's `dir`;
payload `sleep` makes it slow, and it raises while the file named by `fail_while` exists.
`echo_probe` always succeeds, leaving a `probe.echoed` row.

`python -m tests.event_probe worker` runs `studyhall worker` (`run_worker`) with these
subscribers added to the real table; its settings come from the environment.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections import Counter
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from studyhall.config import Settings
from studyhall.core.events import Event, HandlerRegistry, OutboxEvent, emit
from studyhall.subscribers import handler_registry
from studyhall.workers import run_worker

PING = "probe.ping"
HANDLED = "probe.handled"
ECHOED = "probe.echoed"


async def record_probe(event: Event, session: AsyncSession) -> None:
    marker_dir = Path(event.payload["dir"])
    (marker_dir / f"started-{event.id}-{os.getpid()}-{event.attempt}").touch()
    fail_while = event.payload.get("fail_while")
    if fail_while and Path(fail_while).exists():
        raise RuntimeError("probe fault")
    if delay := event.payload.get("sleep"):
        await asyncio.sleep(float(delay))
    emit(session, HANDLED, {"of": str(event.id)})


async def echo_probe(event: Event, session: AsyncSession) -> None:
    emit(session, ECHOED, {"of": str(event.id)})


def probe_registry() -> HandlerRegistry:
    """The real subscribers plus the probes."""
    registry = handler_registry()
    registry.on(PING)(record_probe)
    registry.on(PING)(echo_probe)
    return registry


async def effects(sessionmaker: async_sessionmaker[AsyncSession], kind: str = HANDLED) -> Counter[str]:
    """How many committed effects of `kind` each ping has, by ping id."""
    async with sessionmaker() as session:
        payloads = await session.scalars(select(OutboxEvent.payload).where(OutboxEvent.event_type == kind))
        return Counter(str(payload["of"]) for payload in payloads.all())


def started(marker_dir: Path) -> list[str]:
    return sorted(path.name for path in marker_dir.glob("started-*"))


if __name__ == "__main__":
    if sys.argv[1:] != ["worker"]:
        sys.exit("usage: python -m tests.event_probe worker")
    # The handlers under their module's name (handler names key the processed rows), not `__main__`.
    from tests.event_probe import probe_registry as registry

    settings = Settings()
    asyncio.run(run_worker(settings, prefetch=settings.broker_prefetch, handlers=registry()))
