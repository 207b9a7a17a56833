"""Usage-header pacing for one account: slow down before 100%, pause when told to.

Facebook reports how much of its quota an app and an ad account have used in
``X-App-Usage``, ``X-Ad-Account-Usage`` and ``X-Business-Use-Case-Usage`` (JSON in a
header, percentages). Peers read them only on successful calls and so never saw the
warning before the block; we read them on every response, errors included. Above
``pace_above`` percent each request waits longer, in proportion to how close the account
is to 100%; at 100% or when ``estimated_time_to_regain_access`` is set, the account pauses.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

_json = msgspec.json.Decoder()


class UsageReading(msgspec.Struct, frozen=True):
    """What one response's headers said: the highest percentage and a regain time."""

    max_percent: float = 0.0
    regain_seconds: float = 0.0


def _num(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return 0.0


def read_usage_headers(headers: Mapping[str, str]) -> UsageReading | None:
    """Parse Facebook's usage headers; ``None`` when the response carried none."""
    found = False
    top = 0.0
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
    return UsageReading(max_percent=top, regain_seconds=regain)


class Pacer:
    """Per-account pacing state: current usage and a pause deadline (monotonic)."""

    def __init__(
        self,
        *,
        pace_above: float = 75.0,
        max_pace_delay: float = 30.0,
        min_pause: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pace_above = pace_above
        self.max_pace_delay = max_pace_delay
        self.min_pause = min_pause
        self.usage = 0.0
        self.paused_until = 0.0
        self._clock = clock

    def observe(self, reading: UsageReading | None) -> None:
        """Take in one response's usage; pause when at the limit or told to wait."""
        if reading is None:
            return
        self.usage = reading.max_percent
        if reading.regain_seconds > 0:
            self.pause(reading.regain_seconds)
        elif reading.max_percent >= 100:
            self.pause(self.min_pause)

    def pause(self, seconds: float) -> None:
        """Pause the account for at least ``seconds`` from now (never shortens a pause)."""
        seconds = max(seconds, self.min_pause)
        self.paused_until = max(self.paused_until, self._clock() + seconds)

    def delay(self) -> float:
        """Seconds the next request should wait: the pause, else the pacing slow-down."""
        now = self._clock()
        if self.paused_until > now:
            return self.paused_until - now
        if self.usage > self.pace_above:
            frac = min(1.0, (self.usage - self.pace_above) / max(1e-9, 100 - self.pace_above))
            return frac * self.max_pace_delay
        return 0.0
