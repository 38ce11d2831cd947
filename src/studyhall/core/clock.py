"""The application's clock: one place to read "now", replaceable in tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from studyhall.core.db import utcnow

Clock = Callable[[], datetime]


def get_clock(request: Request) -> Clock:
    clock: Clock = getattr(request.app.state, "clock", utcnow)
    return clock


ClockDep = Annotated[Clock, Depends(get_clock)]
