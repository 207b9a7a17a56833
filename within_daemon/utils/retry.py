"""``retry_with_backoff``: the seed's retry decorator, for coroutine functions.

Delays grow as ``backoff_factor ** attempt`` seconds with full jitter, so many accounts
that failed together do not retry together. An error that carries ``retry_after`` (a
platform throttle) waits at least that long instead. Errors outside ``errors`` propagate at
once; ``CancelledError`` is never caught (it is a ``BaseException``).
"""

from __future__ import annotations

import functools
import logging
import random
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

import anyio

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

#: Longest single wait, so a huge factor or attempt count cannot sleep for days.
MAX_DELAY_SECONDS = 900.0


def backoff_delay(
    attempt: int,
    backoff_factor: float,
    *,
    base: float = 1.0,
    rng: random.Random | None = None,
    cap: float = MAX_DELAY_SECONDS,
) -> float:
    """Jittered exponential delay for ``attempt`` (0-based): [0.5, 1] x base x factor**attempt."""
    raw = min(cap, base * (backoff_factor ** attempt))
    r = (rng or random).random()
    # Half fixed, half random: keeps some growth guaranteed while still spreading retries.
    return raw * (0.5 + 0.5 * r)


def retry_with_backoff(
    max_retries: int = 3,
    backoff_factor: float = 2.0,
    errors: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError),
    *,
    base_delay: float = 1.0,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    on_retry: Callable[[int, BaseException, float], None] | None = None,
) -> Callable[[Callable[P, Awaitable[T]]], Callable[P, Awaitable[T]]]:
    """Retry an ``async def`` up to ``max_retries`` times on ``errors``.

    ``sleep`` and ``on_retry`` are hooks for tests and metrics. An exception with a
    numeric ``retry_after`` attribute waits at least that many seconds.
    """
    if max_retries < 0:
        raise ValueError("max_retries must be >= 0")

    def decorate(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
        @functools.wraps(fn)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            attempt = 0
            while True:
                try:
                    return await fn(*args, **kwargs)
                except errors as exc:
                    if attempt >= max_retries:
                        raise
                    delay = backoff_delay(attempt, backoff_factor, base=base_delay)
                    retry_after = getattr(exc, "retry_after", None)
                    if isinstance(retry_after, int | float) and retry_after > delay:
                        delay = float(retry_after)
                    if on_retry is not None:
                        on_retry(attempt, exc, delay)
                    log.info(
                        "%s failed (%s: %s); retry %d/%d in %.1fs",
                        getattr(fn, "__qualname__", "call"), type(exc).__name__, exc,
                        attempt + 1, max_retries, delay,
                    )
                    await (sleep or anyio.sleep)(delay)
                    attempt += 1

        return wrapper

    return decorate
