"""A loop that runs in a background task of the process, started and stopped with it."""

from __future__ import annotations

import abc
import asyncio
import contextlib


class BackgroundLoop(abc.ABC):
    """`start()` runs `_run_forever` in a task named `name`; `stop()` cancels it and waits
    until it has ended. Starting a running loop, or stopping a stopped one, does nothing."""

    name: str
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run_forever(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @abc.abstractmethod
    async def _run_forever(self) -> None: ...
