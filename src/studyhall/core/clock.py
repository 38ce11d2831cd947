"""The application's one clock: every reading of "now" is `utcnow()` from here.

Services, column defaults (`created_at`, ...), token expiry and the outbox all call it, so a
test that moves time with `use_clock` moves it for all of them at once (an attempt's deadline,
a late submission, an outbox back-off). Nothing but tests replaces it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_time() -> datetime:
    return datetime.now(UTC)


class _Installed:
    clock: Clock = system_time


def utcnow() -> datetime:
    """Now, timezone-aware UTC, from the installed clock (the system's, outside tests)."""
    return _Installed.clock()


@contextmanager
def use_clock(clock: Clock) -> Iterator[Clock]:
    """Read the time from `clock` until the block ends, everywhere in the process."""
    previous, _Installed.clock = _Installed.clock, clock
    try:
        yield clock
    finally:
        _Installed.clock = previous
