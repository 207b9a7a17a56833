"""A fake clock for the request path: sleeps advance it at once, events fire on the way.

``FakeClock.sleep(60)`` returns after one event-loop checkpoint with ``now()`` 60 s later,
so a test rides out a two-minute outage or an hour-long throttle in milliseconds. Callbacks
scheduled with ``at`` (bring a server back up, clear a fault) run, in time order, inside
the sleep that crosses their time, before the sleeper wakes: the order of events is the
one real time would give. ``use_clock`` makes connectors built inside the block use it.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

import anyio

from within_daemon.sources.http.clock import clock_var


class FakeClock:
    """Monotonic seconds that move only when somebody sleeps (or the test advances them)."""

    def __init__(self, start: float = 10_000.0) -> None:
        self._now = start
        self.start = start
        #: Every sleep asked for, in order (what the code under test chose to wait).
        self.sleeps: list[float] = []
        self._events: list[tuple[float, int, Callable[[], Awaitable[None]]]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    @property
    def elapsed(self) -> float:
        """Fake seconds since the clock was made."""
        return self._now - self.start

    def at(self, offset: float, fn: Callable[[], Awaitable[None]]) -> None:
        """Run ``fn`` when the clock passes ``start + offset``."""
        heapq.heappush(self._events, (self.start + offset, next(self._seq), fn))

    async def advance(self, seconds: float) -> None:
        target = self._now + max(0.0, seconds)
        while self._events and self._events[0][0] <= target:
            when, _, fn = heapq.heappop(self._events)
            self._now = max(self._now, when)
            await fn()
        self._now = max(self._now, target)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await self.advance(seconds)
        await anyio.sleep(0)


@contextmanager
def use_clock(clock: FakeClock) -> Iterator[FakeClock]:
    """Connectors (and so breakers and pacers) built in this block run on ``clock``."""
    token = clock_var.set(clock)
    try:
        yield clock
    finally:
        clock_var.reset(token)
