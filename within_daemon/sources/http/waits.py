"""How an account waits: platform pauses and pacing, throttles, and open circuits.

``AccountWaits`` is the part of ``HttpSource`` that decides how long a request waits and
when waiting ends the run, each on its own per-run budget:

- before every request: the account's (and its app's) pause or pacing delay, then an
  aiolimiter slot. A pause that would take the run past ``max_throttle_wait_seconds``
  parks the account (``AccountPausedError``);
- after a throttle: the platform's hint, or exponential backoff with full jitter
  (``pacing.Pacer``); an app-wide throttle pauses every account of the app;
- while the circuit is open: until the breaker's next probe. Past the run's outage budget
  (``max_outage_seconds``; a backfill's is unlimited unless set) the run ends with
  ``OutageBudgetSpent``, which says when the next probe is due.

Every wait is on the connector's ``Clock``; ``stopped`` and ``state()`` feed /status.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from aiolimiter import AsyncLimiter
from yarl import URL

from ...errors import AccountPausedError, CircuitOpenError, ThrottledError
from ...observability.metrics import Metrics
from ...platform_config import HttpKnobs
from .breaker import STATE_CODES, AccountBreaker
from .clock import Clock
from .pacing import Pacer, app_quota

log = logging.getLogger(__name__)


def _iso(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class OutageBudgetSpent(CircuitOpenError):
    """The account's circuit stayed open past the run's outage budget: its run ends."""

    def __init__(self, message: str, *, probe_at: float, **kw: Any) -> None:
        super().__init__(message, **kw)
        #: Unix time of the next probe the breaker would allow.
        self.probe_at = probe_at

    @property
    def error_class(self) -> str:
        return "outage_budget"



class AccountWaits:
    """The waiting half of a connector (``HttpSource`` builds the pacer and breaker)."""

    platform = "base"
    account_id: str
    rate_limit: float
    settings: HttpKnobs
    metrics: Metrics | None
    clock: Clock
    pacer: Pacer
    breaker: AccountBreaker
    throttle_waited: float
    outage_waited: float
    outage_budget: float | None
    stopped: dict[str, Any] | None
    requests_made: int
    _limiter: AsyncLimiter | None

    def begin_run(self) -> None:
        """A new run starts: its throttle-wait and outage budgets start from zero."""
        self.throttle_waited = 0.0
        self.outage_waited = 0.0
        self.stopped = None

    def use_outage_budget(self, *, backfill: bool) -> None:
        """Pick the run's outage budget: ``max_outage_seconds``, or the backfill one."""
        s = self.settings
        self.outage_budget = s.backfill_max_outage_seconds if backfill else s.max_outage_seconds

    def state(self) -> dict[str, Any]:
        """Breaker, pauses, usage and the next probe of this account, for /status."""
        now = self.clock.now()
        closed = self.breaker.state == "closed"
        probe_in = self.breaker.seconds_to_probe()
        return {
            "platform": self.platform, "account_id": self.account_id,
            "circuit": self.breaker.state,
            "paused_seconds": round(max(0.0, self.pacer.paused_until - now), 1),
            "usage_percent": self.pacer.usage, "requests": self.requests_made,
            "next_probe_in_seconds": None if closed else round(probe_in, 1),
            "next_probe_at": None if closed else _iso(time.time() + probe_in),
            "last_failure": None if closed else self.breaker.last_error,
            "outage_waited_seconds": round(self.outage_waited, 1),
            "stopped": self.stopped,
        }

    def _get_limiter(self) -> AsyncLimiter:
        # Created lazily inside the running loop: aiolimiter binds to the loop it first sees.
        if self._limiter is None:
            self._limiter = AsyncLimiter(1, 60.0 / self.rate_limit)
        return self._limiter

    def _on_breaker_state(self, state: str) -> None:
        if self.metrics is not None:
            self.metrics.circuit_state.labels(self.platform, self.account_id).set(
                STATE_CODES[state]
            )
            probe = 0.0 if state == "closed" else time.time() + self.breaker.seconds_to_probe()
            self.metrics.circuit_next_probe.labels(self.platform, self.account_id).set(probe)

    def _bind_app(self, url: str) -> None:
        # Accounts of one platform host share one app quota (one app per platform and
        # daemon); bound on the first request, when the host is known.
        if self.pacer.app is None:
            u = URL(url)
            self.pacer.app = app_quota(
                f"{self.platform}:{u.host}:{u.port}", self.clock,
                pace_above=self.settings.pace_above_percent,
                max_pace_delay=self.settings.max_pace_delay_seconds)

    def _throttled(self, exc: ThrottledError) -> None:
        """Pause for the platform's hint, or back off; app-wide throttles pause the app."""
        wait = self.pacer.throttled(exc.hint, app_wide=exc.app_wide)
        if self.metrics is not None:
            self.metrics.throttles.labels(
                self.platform, "app" if exc.app_wide else "account",
                "yes" if exc.hint is not None else "no").inc()
        log.warning("throttled (%s); waiting %.1fs (%s, throttle %d in a row)", exc, wait,
                    "platform hint" if exc.hint is not None else "backoff", self.pacer.streak)

    async def _ride_out(self) -> None:
        """Wait for the open circuit's probe, or end the run when the budget is spent."""
        br = self.breaker
        wait = br.seconds_to_probe()
        budget = self.outage_budget
        probe_unix = time.time() + wait
        if budget is not None and self.outage_waited + wait > budget:
            self.stopped = {"reason": "outage_budget", "next_probe_at": _iso(probe_unix),
                            "last_failure": br.last_error}
            if self.metrics is not None:
                self.metrics.account_stops.labels(self.platform, "outage_budget").inc()
            raise OutageBudgetSpent(
                f"outage budget spent: circuit open, {self.outage_waited:.0f}s of "
                f"{budget:.0f}s waited this run; next probe due {_iso(probe_unix)}; "
                f"last failure: {br.last_error}",
                probe_at=probe_unix, platform=self.platform, account_id=self.account_id)
        if wait > 0:
            log.warning("circuit open (%s); pausing %.0fs until the next probe at %s "
                        "(outage %.0fs of %s this run)", br.last_error, wait, _iso(probe_unix),
                        self.outage_waited, "unlimited" if budget is None else f"{budget:.0f}s")
        t0 = self.clock.now()
        await br.wait_for_probe()
        waited = self.clock.now() - t0
        self.outage_waited += waited
        if self.metrics is not None and waited > 0:
            self.metrics.outage_wait.labels(self.platform).inc(waited)

    async def _wait_turn(self) -> None:
        delay = self.pacer.delay()
        if delay > 0:
            paused = self.pacer.paused_until > self.clock.now()
            if paused and self.throttle_waited + delay > self.settings.max_throttle_wait_seconds:
                # Parked: the account sits out until the platform lets it back, and the
                # gauge says until when.
                until = time.time() + delay
                if self.metrics is not None:
                    self.metrics.account_paused_until.labels(self.platform, self.account_id).set(
                        until)
                    self.metrics.account_stops.labels(self.platform, "throttle_budget").inc()
                self.stopped = {"reason": "throttle_budget", "paused_until": _iso(until)}
                raise AccountPausedError(
                    f"account paused by the platform for {delay:.0f}s more; giving up this run "
                    f"after {self.throttle_waited:.0f}s of throttle waits",
                    until=self.pacer.paused_until,
                    platform=self.platform, account_id=self.account_id,
                )
            if self.metrics is not None:
                self.metrics.rate_limit_wait.labels(
                    self.platform, "pause" if paused else "pacing"
                ).inc(delay)
                if paused:
                    self.metrics.account_paused_until.labels(self.platform, self.account_id).set(
                        time.time() + delay
                    )
            if paused:
                self.throttle_waited += delay
                log.info("paused by platform limits; waiting %.1fs", delay)
            await self.clock.sleep(delay)
            if paused and self.metrics is not None:
                self.metrics.account_paused_until.labels(self.platform, self.account_id).set(0)
        limiter = self._get_limiter()
        t0 = time.monotonic()
        await limiter.acquire()
        waited = time.monotonic() - t0
        if waited > 0.001 and self.metrics is not None:
            self.metrics.rate_limit_wait.labels(self.platform, "limiter").inc(waited)
