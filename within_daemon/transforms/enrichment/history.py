"""Historical performance: rolling 7- and 28-day ratios for an ad and its account.

For each target (ad, day) the features use only the days strictly BEFORE that day, so a
model trained on them never sees the day it predicts. Ratios are recomputed from summed
counts (clicks / impressions, ...), never averaged from daily ratios, and are ``None``
where the denominator is zero or there is no history.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

WINDOWS = (7, 28)
_SUMS = ("impressions", "clicks", "spend", "conversions", "revenue")


def _ratios(prefix: str, n: int, s: Sequence[float], days: int) -> dict[str, Any]:
    imp, clk, spend, conv, rev = s
    return {
        f"{prefix}_ctr_{n}d": clk / imp if imp else None,
        f"{prefix}_cvr_{n}d": conv / clk if clk else None,
        f"{prefix}_cpa_{n}d": spend / conv if conv else None,
        f"{prefix}_roas_{n}d": rev / spend if spend else None,
        f"{prefix}_days_{n}d": days,
    }


def columns() -> list[tuple[str, str]]:
    """The feature columns (name, SQL type) in a stable order."""
    out: list[tuple[str, str]] = []
    for prefix in ("ad", "acct"):
        for n in WINDOWS:
            out += [(f"{prefix}_ctr_{n}d", "REAL"), (f"{prefix}_cvr_{n}d", "REAL"),
                    (f"{prefix}_cpa_{n}d", "REAL"), (f"{prefix}_roas_{n}d", "REAL"),
                    (f"{prefix}_days_{n}d", "INTEGER")]
    return out


class _Series:
    """Daily sums of one entity, with prefix sums for O(log n) window queries."""

    def __init__(self, daily: Mapping[str, Sequence[float]]) -> None:
        self.days = sorted(daily)
        self.prefix: list[list[float]] = [[0.0] * len(_SUMS)]
        for d in self.days:
            last = self.prefix[-1]
            self.prefix.append([a + b for a, b in zip(last, daily[d], strict=True)])

    def window(self, day: str, n: int) -> tuple[list[float], int]:
        """Sums and number of data days in [day - n, day)."""
        start = (date.fromisoformat(day) - timedelta(days=n)).isoformat()
        lo = bisect_left(self.days, start)
        hi = bisect_left(self.days, day)
        a, b = self.prefix[lo], self.prefix[hi]
        return [y - x for x, y in zip(a, b, strict=True)], hi - lo


def rolling_performance(
    rows: Iterable[Mapping[str, Any]],
    targets: Iterable[tuple[str, str]],
) -> list[dict[str, Any]]:
    """Features for each target ``(ad_id, day)`` from ad-day ``rows`` of ONE account.

    ``rows`` must cover at least the 28 days before the earliest target (more is fine).
    """
    ad_daily: dict[str, dict[str, list[float]]] = defaultdict(dict)
    acct_daily: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(_SUMS))
    for r in rows:
        vals = [float(r.get(k) or 0) for k in _SUMS]
        ad_daily[str(r["ad_id"])][str(r["date"])] = vals
        acc = acct_daily[str(r["date"])]
        for i, v in enumerate(vals):
            acc[i] += v
    ads = {ad: _Series(d) for ad, d in ad_daily.items()}
    acct = _Series(acct_daily)
    empty = _Series({})
    out: list[dict[str, Any]] = []
    for ad_id, day in targets:
        feats: dict[str, Any] = {"ad_id": ad_id, "date": day}
        series = ads.get(ad_id, empty)
        for n in WINDOWS:
            s, k = series.window(day, n)
            feats.update(_ratios("ad", n, s, k))
            s, k = acct.window(day, n)
            feats.update(_ratios("acct", n, s, k))
        out.append(feats)
    return out
