"""A bounded wait for a condition that no event announces, polled on the event loop.

``until(pred)`` re-checks ``pred`` (a function, sync or async) every ``every`` seconds and
fails the test after ``timeout``. It is for state another task or process changes (a run's
bookkeeping, an emulator's request counters, rows a child process writes) where the code
under test offers nothing to await; where it does, await that instead.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

import anyio


async def until(pred: Callable[[], bool | Awaitable[bool]], *, timeout: float = 30.0,
                every: float = 0.01, what: str = "the condition") -> None:
    """Return once ``pred()`` is true; raise ``AssertionError`` naming ``what`` on timeout."""
    try:
        with anyio.fail_after(timeout):
            while True:
                got = pred()
                if inspect.isawaitable(got):
                    got = await got
                if got:
                    return
                await anyio.sleep(every)  # a poll: there is no event to wait on
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout:g}s waiting for {what}") from None
