"""A per-account circuit breaker on an injected clock, with exactly one half-open probe.

``fail_max`` transient failures in a row open the breaker; while it is open every call
fails fast with ``CircuitOpenError`` (which says when the next probe is due). Once
``reset_seconds`` have passed on the clock, one caller runs as the half-open probe and the
others keep failing fast: a success (or any answer that proves the platform is up, such as a
throttle or an auth error) closes it, a transient failure opens it for another
``reset_seconds``. Only transient failures (5xx, timeouts, cut or malformed bodies) count: a
throttle means the platform is healthy but we are over quota, and an auth or parameter error
is a definite answer. The connector waits on ``wait_for_probe`` instead of giving up, so an
open circuit pauses an account's run rather than ending it (see ``base.HttpSource``).

It used to wrap aiobreaker; aiobreaker reads the wall clock (``datetime.utcnow``) and cannot
be driven by a fake one, and the half-open guard was ours anyway.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio

from ...errors import CircuitOpenError, SourceError, ThrottledError
from .clock import Clock, current_clock

T = TypeVar("T")

STATE_CODES = {"closed": 0, "half_open": 1, "open": 2}


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
        clock: Clock | None = None,
    ) -> None:
        if fail_max < 1:
            raise ValueError("fail_max must be >= 1")
        self.platform = platform
        self.account_id = account_id
        self.fail_max = fail_max
        self.reset_seconds = reset_seconds
        self.clock = clock or current_clock()
        self.failures = 0
        #: Clock time the circuit last opened and when the next probe may run.
        self.opened_at: float | None = None
        self.probe_at = 0.0
        #: The failure that opened (or re-opened) the circuit, for logs and the run record.
        self.last_error: str | None = None
        self.opened_count = 0
        self._open = False
        self._probe_done: anyio.Event | None = None
        self._on_state = on_state

    @property
    def state(self) -> str:
        """``closed``, ``half_open`` (a probe is due or in flight) or ``open``."""
        if not self._open:
            return "closed"
        if self._probe_done is not None or self.clock.now() >= self.probe_at:
            return "half_open"
        return "open"

    def seconds_to_probe(self) -> float:
        """Seconds until the next probe may run (0 when closed or due)."""
        if not self._open:
            return 0.0
        return max(0.0, self.probe_at - self.clock.now())

    def _report(self) -> None:
        if self._on_state is not None:
            self._on_state(self.state)

    def trip(self, reason: str) -> None:
        """Open the circuit now (the caller ran out of retries before ``fail_max``)."""
        self._reopen(reason)
        self._report()

    def _reopen(self, reason: str) -> None:
        if not self._open:
            self.opened_at = self.clock.now()
            self.opened_count += 1
        self._open = True
        self.failures = max(self.failures, self.fail_max)
        self.probe_at = self.clock.now() + self.reset_seconds
        self.last_error = reason[:300]

    def _open_error(self, what: str) -> CircuitOpenError:
        err = CircuitOpenError(
            f"circuit {what} for {self.platform}/{self.account_id}; next probe in "
            f"{self.seconds_to_probe():.0f}s (last failure: {self.last_error})",
            platform=self.platform, account_id=self.account_id,
        )
        return err

    async def wait_for_probe(self) -> None:
        """Return when a call may go through: closed, probe due, or the running probe ended."""
        while self._open:
            done = self._probe_done
            if done is not None:
                await done.wait()
                continue
            wait = self.probe_at - self.clock.now()
            if wait <= 0:
                return
            await self.clock.sleep(wait)

    async def call(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``fn(*args)`` through the breaker; raise CircuitOpenError while open."""
        probe = False
        if self._open:
            if self._probe_done is not None:
                raise self._open_error("half-open: another probe is in flight")
            if self.clock.now() < self.probe_at:
                raise self._open_error("open")
            probe = True
            self._probe_done = anyio.Event()
            self._report()
        try:
            result = await fn(*args)
        except Exception as exc:
            if _counts(exc):
                self.failures += 1
                if probe or self.failures >= self.fail_max:
                    self._reopen(f"{type(exc).__name__}: {exc}")
            elif probe:
                self._close()  # the platform answered: it is up again
            self._report()
            raise
        finally:
            if probe:
                done, self._probe_done = self._probe_done, None
                if done is not None:
                    done.set()
        self._close()
        self._report()
        return result

    def _close(self) -> None:
        self._open = False
        self.failures = 0
        self.opened_at = None
