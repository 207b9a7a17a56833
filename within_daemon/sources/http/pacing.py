"""Pacing for one account and for the app quota its platform shares: hints, then backoff.

Facebook reports how much of its quota an app and an ad account have used in
``X-App-Usage``, ``X-Ad-Account-Usage`` and ``X-Business-Use-Case-Usage`` (JSON in a
header, percentages). Peers read them only on successful calls and so never saw the
warning before the block; we read them on every response, errors included. Above
``pace_above`` percent each request waits longer, in proportion to how close the account
is to 100%; at 100% or when ``estimated_time_to_regain_access`` (minutes) or, at 100%,
``reset_time_duration`` (seconds) is set, the account pauses for exactly that long.

A throttle answer waits the platform's own hint when it gives one (Google ``retryDelay``,
``Retry-After``, the Facebook regain times): a one-second hint costs a second, not a
minute. Throttles in a row back off exponentially with full jitter (a uniform draw in
``[0, base x 2^(n-1)]``, capped at ``max_pause``), never below a hint. A throttle of the app
quota (Facebook code 4 or ``X-App-Usage``, TikTok 40100/40016, Google's developer scope)
pauses every account sharing the ``AppQuota``, so they slow down together instead of each
discovering the limit with a refused request of its own.
"""

from __future__ import annotations

import random
import time
import weakref
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

_json = msgspec.json.Decoder()


class UsageReading(msgspec.Struct, frozen=True):
    """What one response's headers said: the highest percentage and a regain time."""

    max_percent: float = 0.0
    regain_seconds: float = 0.0
    #: The app-wide share of that (``X-App-Usage``, ``app_id_util_pct``): every account of
    #: the app sees the same number.
    app_percent: float = 0.0


def _num(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return 0.0


def read_usage_headers(headers: Mapping[str, str]) -> UsageReading | None:
    """Parse Facebook's usage headers; ``None`` when the response carried none."""
    found = False
    top = app = 0.0
    regain = 0.0
    for name in ("X-App-Usage", "X-Ad-Account-Usage", "x-fb-ads-insights-throttle"):
        raw = headers.get(name)
        if not raw:
            continue
        try:
            obj = _json.decode(raw)
        except (msgspec.DecodeError, RecursionError):  # too deep: RecursionError
            continue
        if isinstance(obj, dict):
            found = True
            for key in ("call_count", "total_time", "total_cputime", "acc_id_util_pct",
                        "app_id_util_pct"):
                top = max(top, _num(obj.get(key)))
                if key == "app_id_util_pct" or name == "X-App-Usage":
                    app = max(app, _num(obj.get(key)))
            if _num(obj.get("acc_id_util_pct")) >= 100:
                # Seconds until the ad account's usage resets (ad-apis.md §0): the pause
                # length of an account that is at its limit.
                regain = max(regain, _num(obj.get("reset_time_duration")))
    raw = headers.get("X-Business-Use-Case-Usage")
    if raw:
        try:
            buc = _json.decode(raw)
        except (msgspec.DecodeError, RecursionError):  # too deep: RecursionError
            buc = None
        if isinstance(buc, dict):
            found = True
            for entries in buc.values():
                for ent in entries if isinstance(entries, list) else []:
                    if not isinstance(ent, dict):
                        continue
                    for key in ("call_count", "total_time", "total_cputime"):
                        top = max(top, _num(ent.get(key)))
                    # Facebook gives this in minutes.
                    regain = max(regain, _num(ent.get("estimated_time_to_regain_access")) * 60)
    if not found:
        return None
    return UsageReading(max_percent=top, regain_seconds=regain, app_percent=app)


def full_jitter(streak: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """The wait after the ``streak``-th throttle in a row without a hint (1-based).

    "Full jitter": a uniform draw in ``[0, min(cap, base * 2^(streak-1))]``, so accounts
    throttled together do not come back together.
    """
    top = min(cap, base * (2.0 ** max(0, min(streak - 1, 60))))
    return (rng or random).random() * top


def _pacing_delay(usage: float, pace_above: float, max_pace_delay: float) -> float:
    if usage > pace_above:
        frac = min(1.0, (usage - pace_above) / max(1e-9, 100 - pace_above))
        return frac * max_pace_delay
    return 0.0


class AppQuota:
    """The quota all accounts of one app share: its usage and a pause deadline."""

    def __init__(self, key: str, *, pace_above: float = 75.0,
                 max_pace_delay: float = 30.0) -> None:
        self.key = key
        self.pace_above = pace_above
        self.max_pace_delay = max_pace_delay
        self.usage = 0.0
        self.paused_until = 0.0
        #: How many times the app as a whole was throttled (for logs and tests).
        self.throttles = 0

    def observe(self, percent: float, now: float, min_pause: float) -> None:
        self.usage = percent
        if percent >= 100:
            self.pause(now + min_pause)

    def pause(self, until: float) -> None:
        self.paused_until = max(self.paused_until, until)

    def delay(self, now: float) -> float:
        if self.paused_until > now:
            return self.paused_until - now
        return _pacing_delay(self.usage, self.pace_above, self.max_pace_delay)


#: Quotas per clock (the real one in the daemon; each fake clock of a test has its own, so a
#: pause set on a fake time line never leaks into a test on another).
_APP_QUOTAS: weakref.WeakKeyDictionary[object, dict[str, AppQuota]] = (
    weakref.WeakKeyDictionary())


def app_quota(key: str, clock: object, *, pace_above: float = 75.0,
              max_pace_delay: float = 30.0) -> AppQuota:
    """The shared quota of ``key`` (platform and API host: one app per platform and daemon)."""
    quotas = _APP_QUOTAS.setdefault(clock, {})
    quota = quotas.get(key)
    if quota is None:
        quota = quotas[key] = AppQuota(key, pace_above=pace_above,
                                       max_pace_delay=max_pace_delay)
    return quota


class Pacer:
    """Per-account pacing state: usage, a pause deadline (clock time), the throttle streak."""

    def __init__(
        self,
        *,
        pace_above: float = 75.0,
        max_pace_delay: float = 30.0,
        min_pause: float = 60.0,
        max_pause: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
        app: AppQuota | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.pace_above = pace_above
        self.max_pace_delay = max_pace_delay
        #: Base of the backoff after a throttle without a hint, and the pause at 100% usage.
        self.min_pause = min_pause
        #: Longest backoff drawn for throttles without a hint (a hint may be longer).
        self.max_pause = max_pause
        self.usage = 0.0
        self._paused_until = 0.0
        #: Throttles in a row (reset by a successful answer).
        self.streak = 0
        self.app = app
        self._clock = clock
        self._rng = rng

    @property
    def paused_until(self) -> float:
        """The later of the account's own pause and its app's."""
        app = self.app.paused_until if self.app is not None else 0.0
        return max(self._paused_until, app)

    def observe(self, reading: UsageReading | None) -> None:
        """Take in one response's usage; pause when at the limit or told to wait."""
        if reading is None:
            return
        self.usage = reading.max_percent
        if self.app is not None and reading.app_percent:
            self.app.observe(reading.app_percent, self._clock(), self.min_pause)
        if reading.regain_seconds > 0:
            self.pause(reading.regain_seconds)
        elif reading.max_percent >= 100:
            self.pause(self.min_pause)

    def throttled(self, hint: float | None, *, app_wide: bool = False) -> float:
        """A throttle answer: pause for the hint (or the jittered backoff) and return it."""
        self.streak += 1
        backoff = full_jitter(self.streak, self.min_pause, self.max_pause, self._rng)
        if hint is None:
            wait = backoff
        elif self.streak == 1:
            wait = hint
        else:
            wait = max(hint, backoff)
        self.pause(wait)
        if app_wide and self.app is not None:
            self.app.throttles += 1
            self.app.pause(self._clock() + wait)
        return wait

    def succeeded(self) -> None:
        """An answer that was not a throttle ends the streak."""
        self.streak = 0

    def pause(self, seconds: float) -> None:
        """Pause the account for ``seconds`` from now (never shortens a pause)."""
        self._paused_until = max(self._paused_until, self._clock() + max(0.0, seconds))

    def delay(self) -> float:
        """Seconds the next request should wait: a pause, else the pacing slow-down."""
        now = self._clock()
        own = self._paused_until - now if self._paused_until > now else _pacing_delay(
            self.usage, self.pace_above, self.max_pace_delay)
        return max(own, self.app.delay(now) if self.app is not None else 0.0)
