"""``retry_with_backoff``: the seed's retry decorator, for plain and coroutine functions alike.

Decorating an ``async def`` gives an ``async def`` that sleeps with ``anyio.sleep``;
decorating a plain function (the seed's ``requests.get`` example) gives a plain function
that sleeps with ``time.sleep``. Delays grow as ``backoff_factor ** attempt`` seconds with
full jitter, so many accounts that failed together do not retry together. An error that
carries ``retry_after`` (a platform throttle) waits at least that long instead.

An error is retried when it is one of ``errors`` or was raised because of one: its
``__cause__``, or the ``__context__`` Python would print, is followed. HTTP libraries wrap
the socket's errors in their own classes (``requests.ConnectionError`` is not a builtin
``ConnectionError``; it is raised from one), and the seed's
``errors=(ConnectionError, TimeoutError)`` means those failures. An error raised
``from None`` is not followed. Errors outside ``errors`` propagate at once;
``CancelledError`` and ``KeyboardInterrupt`` are never caught (they are ``BaseException``).
"""

from __future__ import annotations

import functools
import inspect
import logging
import random
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec, Protocol, TypeVar, cast, overload

import anyio

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

#: Longest single wait, so a huge factor or attempt count cannot sleep for days.
MAX_DELAY_SECONDS = 900.0
#: Links of a cause chain followed before giving up (chains are short; cycles exist).
MAX_CHAIN = 16


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


def is_retriable(exc: BaseException, errors: tuple[type[BaseException], ...]) -> bool:
    """Whether ``exc`` is one of ``errors`` or was raised because of one."""
    cur: BaseException | None = exc
    for _ in range(MAX_CHAIN):
        if cur is None:
            return False
        if isinstance(cur, errors):
            return True
        if cur.__cause__ is not None:
            cur = cur.__cause__
        elif cur.__suppress_context__:
            return False
        else:
            cur = cur.__context__
    return False


class RetryDecorator(Protocol):
    """What ``retry_with_backoff(...)`` returns: keeps a function sync or async."""

    @overload
    def __call__(
        self, fn: Callable[P, Coroutine[Any, Any, T]]
    ) -> Callable[P, Coroutine[Any, Any, T]]: ...

    @overload
    def __call__(self, fn: Callable[P, T]) -> Callable[P, T]: ...


def _is_async(fn: Callable[..., Any]) -> bool:
    # A callable object with ``async def __call__`` is async too (iscoroutinefunction
    # only looks at functions, methods and partials).
    call = type(fn).__call__ if not inspect.isroutine(fn) else None
    return inspect.iscoroutinefunction(fn) or (
        call is not None and inspect.iscoroutinefunction(call))


def retry_with_backoff(
    max_retries: int = 3,
    backoff_factor: float = 2.0,
    errors: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError),
    *,
    base_delay: float = 1.0,
    sleep: Callable[[float], Awaitable[None] | None] | None = None,
    on_retry: Callable[[int, BaseException, float], None] | None = None,
) -> RetryDecorator:
    """Retry a function up to ``max_retries`` times on ``errors``; sync stays sync.

    ``sleep`` and ``on_retry`` are hooks for tests and metrics; ``sleep`` is awaited if it
    returns an awaitable, and must be a plain function for a plain decorated function. An
    exception with a numeric ``retry_after`` attribute waits at least that many seconds.
    """
    if max_retries < 0:
        raise ValueError("max_retries must be >= 0")

    def delay_for(attempt: int, exc: BaseException, name: str) -> float:
        delay = backoff_delay(attempt, backoff_factor, base=base_delay)
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(retry_after, int | float) and retry_after > delay:
            delay = float(retry_after)
        if on_retry is not None:
            on_retry(attempt, exc, delay)
        log.info("%s failed (%s: %s); retry %d/%d in %.1fs", name, type(exc).__name__, exc,
                 attempt + 1, max_retries, delay)
        return delay

    def decorate_async(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
        name = getattr(fn, "__qualname__", "call")

        @functools.wraps(fn)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            attempt = 0
            while True:
                try:
                    return await fn(*args, **kwargs)
                except Exception as exc:
                    if not is_retriable(exc, errors) or attempt >= max_retries:
                        raise
                    delay = delay_for(attempt, exc, name)
                waited = (sleep or anyio.sleep)(delay)
                if waited is not None:
                    await waited
                attempt += 1

        return wrapper

    def decorate_sync(fn: Callable[P, T]) -> Callable[P, T]:
        name = getattr(fn, "__qualname__", "call")
        if sleep is not None and _is_async(sleep):
            raise TypeError(f"{name} is a plain function: its retry sleep hook must be plain "
                            "too, not a coroutine function")

        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            attempt = 0
            while True:
                try:
                    result = fn(*args, **kwargs)
                except Exception as exc:
                    if not is_retriable(exc, errors) or attempt >= max_retries:
                        raise
                    delay = delay_for(attempt, exc, name)
                else:
                    if inspect.isawaitable(result):
                        # An async callable we could not recognise: retrying it here would
                        # only retry the creation of the awaitable, never its failures.
                        if inspect.iscoroutine(result):
                            result.close()
                        raise TypeError(f"{name} returned an awaitable: decorate an "
                                        "`async def` (or a callable with `async def __call__`)")
                    return result
                (sleep or time.sleep)(delay)
                attempt += 1

        return wrapper

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        return decorate_async(fn) if _is_async(fn) else decorate_sync(fn)

    return cast(RetryDecorator, decorate)
