"""A per-account circuit breaker: aiobreaker behind one small interface of ours.

aiobreaker lets every concurrent caller through once the open timeout has passed; we add
the guard that allows exactly one half-open probe and fails the others fast. Only
transient failures (5xx, timeouts, malformed bodies) count: a throttle means the platform
is healthy but we are over quota, and an auth or parameter error is a definite answer, so
those are passed through without touching the failure count. Swapping the library means
changing this file only.
"""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from aiobreaker import CircuitBreaker, CircuitBreakerError, CircuitBreakerState

from ..errors import CircuitOpenError, SourceError, ThrottledError

T = TypeVar("T")

STATE_CODES = {"closed": 0, "half_open": 1, "open": 2}


class _Passed:
    """A non-counting error carried through the breaker as a value."""

    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _counts(exc: BaseException) -> bool:
    """Whether an error says the platform is unhealthy (and so trips the breaker)."""
    if isinstance(exc, ThrottledError):
        return False
    if isinstance(exc, SourceError):
        return bool(exc.retriable)
    return True


class AccountBreaker:
    """Circuit breaker for one (platform, account) with at most one half-open probe."""

    def __init__(
        self,
        platform: str,
        account_id: str,
        *,
        fail_max: int = 5,
        reset_seconds: float = 60.0,
        on_state: Callable[[str], None] | None = None,
    ) -> None:
        self.platform = platform
        self.account_id = account_id
        self._cb = CircuitBreaker(
            fail_max=fail_max,
            timeout_duration=timedelta(seconds=reset_seconds),
            name=f"{platform}:{account_id}",
        )
        self._probing = False
        self._on_state = on_state

    @property
    def state(self) -> str:
        """``closed``, ``half_open`` or ``open``."""
        st = self._cb.current_state
        if st == CircuitBreakerState.OPEN:
            return "open"
        if st == CircuitBreakerState.HALF_OPEN:
            return "half_open"
        return "closed"

    def _report(self) -> None:
        if self._on_state is not None:
            self._on_state(self.state)

    def _restore_count(self, count: int) -> None:
        if self.state != "closed":
            return
        storage = self._cb._state_storage
        while self._cb.fail_counter < count:
            storage.increment_counter()

    async def call(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``fn(*args)`` through the breaker; raise CircuitOpenError while open."""
        if self._probing:
            raise CircuitOpenError(
                "circuit half-open: another probe is in flight",
                platform=self.platform, account_id=self.account_id,
            )
        probe = self.state != "closed"
        if probe:
            self._probing = True

        async def guarded() -> T | _Passed:
            try:
                return await fn(*args)
            except Exception as exc:  # noqa: BLE001 - classified, then re-raised below
                if _counts(exc):
                    raise
                return _Passed(exc)

        failures_before = self._cb.fail_counter
        try:
            with warnings.catch_warnings():
                # aiobreaker uses datetime.utcnow(), deprecated on newer Pythons.
                warnings.simplefilter("ignore", DeprecationWarning)
                result = await self._cb.call_async(guarded)
        except CircuitBreakerError as exc:
            self._report()
            if exc.__cause__ is not None:
                # The call that tripped the breaker: surface the real failure.
                raise exc.__cause__ from None
            raise CircuitOpenError(
                f"circuit open for {self.platform}/{self.account_id}",
                platform=self.platform, account_id=self.account_id,
            ) from None
        finally:
            if probe:
                self._probing = False
        if isinstance(result, _Passed):
            # aiobreaker saw a "success" and reset its count; a neutral answer (throttle,
            # auth, bad parameter) must leave the count of transient failures as it was.
            self._restore_count(failures_before)
            self._report()
            raise result.exc
        self._report()
        return result  # type: ignore[no-any-return]
