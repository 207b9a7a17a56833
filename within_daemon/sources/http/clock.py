"""The clock the request path waits on: real time by default, a fake one in tests.

Breakers, pacers and outage waits ask a ``Clock`` for ``now()`` (monotonic seconds) and
``await clock.sleep(seconds)``, never ``time`` or ``anyio`` directly, so a test can ride out
a two-minute outage or an hour-long throttle in milliseconds. A connector takes the clock
given to its constructor, else the one in ``clock_var`` when it was built (tests set it
around a whole engine; the daemon never does), else the real one.
"""

from __future__ import annotations

import contextvars
import time
from typing import Protocol

import anyio


class Clock(Protocol):
    """Monotonic seconds and a sleep on the same time line."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class RealClock:
    """``time.monotonic`` and ``anyio.sleep``."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(max(0.0, seconds))


REAL_CLOCK = RealClock()

#: The clock connectors built in this context use when none is passed to them.
clock_var: contextvars.ContextVar[Clock] = contextvars.ContextVar(
    "within_clock", default=REAL_CLOCK)


def current_clock() -> Clock:
    """The clock of this context (the real one unless a test set another)."""
    return clock_var.get()
