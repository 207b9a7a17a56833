"""Blocking twins of coroutine methods: the seed's plain-script API on top of the async code.

The seed document calls ``pipeline.run(...)``, ``connector.get_ads(...)`` and reads the
result at once, in a script without an event loop; the daemon itself is async. Each such
method therefore comes in two spellings: the blocking one under the seed's name, and an
``a``-prefixed coroutine twin (``arun``, ``aget_ads``) for async code. The blocking one
runs its twin to completion in a fresh event loop (``anyio.run`` on asyncio, which aiohttp
and aiolimiter need) and returns the plain result.

Called from inside a running event loop, a blocking call would either fail deep inside
asyncio ("cannot be called from a running event loop") or, had it waited on that same
loop, deadlock it. It raises :class:`BlockingCallInEventLoopError` first, naming the
coroutine twin to ``await``. A plain worker thread (``anyio.to_thread.run_sync``, a
``ThreadPoolExecutor``) has no running loop, so the blocking spelling works there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

T = TypeVar("T")


class BlockingCallInEventLoopError(RuntimeError):
    """A blocking seed call was made inside a running event loop; ``await`` its twin."""


def loop_is_running() -> bool:
    """Whether this thread is inside a running asyncio event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def refuse_in_event_loop(call: str, twin: str) -> None:
    """Raise :class:`BlockingCallInEventLoopError` when a loop runs in this thread.

    ``call`` is the blocking call as the user wrote it (``pipeline.run``), ``twin`` the
    coroutine to await instead (``pipeline.arun``).
    """
    if loop_is_running():
        raise BlockingCallInEventLoopError(
            f"{call}(...) blocks until it is done, so it cannot run inside a running event "
            f"loop; in async code use `await {twin}(...)` (or call {call} from a worker "
            "thread)"
        )


def run_blocking(
    make: Callable[[], Awaitable[T]],
    *,
    call: str,
    twin: str,
    cleanup: Callable[[], Awaitable[None]] | None = None,
) -> T:
    """Run ``make()`` to completion in a fresh event loop and return its result.

    ``cleanup`` runs in the same loop afterwards, success or not: resources bound to the
    loop (an aiohttp session) must be closed before the loop goes away.
    """
    refuse_in_event_loop(call, twin)

    async def main() -> T:
        try:
            return await make()
        finally:
            if cleanup is not None:
                await cleanup()

    return anyio.run(main, backend="asyncio")


__all__ = ["BlockingCallInEventLoopError", "loop_is_running", "refuse_in_event_loop",
           "run_blocking"]
