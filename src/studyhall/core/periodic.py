"""Periodic jobs: housekeeping that runs every so often in a background task.

Embedded mode runs them in the API process (next to the outbox dispatcher); broker mode in
`studyhall worker` processes. A job must be safe to run in several processes at once (claim
its rows with `FOR UPDATE SKIP LOCKED`, tolerate work already done), since every process of
that kind runs it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from studyhall.core.background import BackgroundLoop

logger = structlog.get_logger(__name__)


class PeriodicJob(BackgroundLoop):
    """Runs `run` every `interval` seconds (the first run one interval after `start`, so a
    starting process does not stampede), logging and surviving its failures."""

    def __init__(self, name: str, run: Callable[[], Awaitable[object]], *, interval: float) -> None:
        self.name = name
        self.run = run
        self.interval = interval

    async def _run_forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                result = await self.run()
                logger.info(f"{self.name}_done", result=str(result))
            except Exception as exc:
                logger.warning(f"{self.name}_failed", error=f"{type(exc).__name__}: {exc}")
