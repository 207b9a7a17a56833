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


#: Column names per (prefix, window), built once: ctr, cvr, cpa, roas, days.
_NAMES: dict[tuple[str, int], tuple[str, str, str, str, str]] = {
    (prefix, n): (f"{prefix}_ctr_{n}d", f"{prefix}_cvr_{n}d", f"{prefix}_cpa_{n}d",
                  f"{prefix}_roas_{n}d", f"{prefix}_days_{n}d")
    for prefix in ("ad", "acct") for n in WINDOWS
}


def _ratios(prefix: str, n: int, s: Sequence[float], days: int) -> dict[str, Any]:
    imp, clk, spend, conv, rev = s
    ctr, cvr, cpa, roas, count = _NAMES[(prefix, n)]
    return {
        ctr: clk / imp if imp else None,
        cvr: conv / clk if clk else None,
        cpa: spend / conv if conv else None,
        roas: rev / spend if spend else None,
        count: days,
    }


def fields() -> tuple[tuple[str, type], ...]:
    """The feature fields ``(name, scalar type)`` in a stable order (columns: the loader)."""
    out: list[tuple[str, type]] = []
    for prefix in ("ad", "acct"):
        for n in WINDOWS:
            out += [(f"{prefix}_ctr_{n}d", float), (f"{prefix}_cvr_{n}d", float),
                    (f"{prefix}_cpa_{n}d", float), (f"{prefix}_roas_{n}d", float),
                    (f"{prefix}_days_{n}d", int)]
    return tuple(out)


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
        return self.between(start, day)

    def between(self, start: str, day: str) -> tuple[list[float], int]:
        """Sums and number of data days in [start, day)."""
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
    # Per target day, computed once: the windows' first days and the account's features
    # (the same for every ad of the account on that day).
    per_day: dict[str, tuple[str, str, dict[str, Any]]] = {}
    (c7, v7, p7, r7, n7), (c28, v28, p28, r28, n28) = _NAMES[("ad", 7)], _NAMES[("ad", 28)]
    if WINDOWS != (7, 28):
        raise RuntimeError("rolling_performance is written for the 7- and 28-day windows")
    out: list[dict[str, Any]] = []
    append = out.append
    for ad_id, day in targets:
        known = per_day.get(day)
        if known is None:
            d = date.fromisoformat(day)
            s7, s28 = ((d - timedelta(days=n)).isoformat() for n in WINDOWS)
            acct_feats = {**_ratios("acct", 7, *acct.between(s7, day)),
                          **_ratios("acct", 28, *acct.between(s28, day))}
            known = per_day[day] = (s7, s28, acct_feats)
        s7, s28, acct_feats = known
        series = ads.get(ad_id, empty)
        # _Series.between and _ratios inlined (the same subtractions and divisions, so
        # the same floats): this loop runs once per ad-day of a backfill.
        days, prefix = series.days, series.prefix
        hi = bisect_left(days, day)
        b = prefix[hi]
        lo7 = bisect_left(days, s7, 0, hi)
        lo28 = bisect_left(days, s28, 0, lo7)
        a = prefix[lo7]
        imp, clk, spend, conv, rev = (b[0] - a[0], b[1] - a[1], b[2] - a[2], b[3] - a[3],
                                      b[4] - a[4])
        a = prefix[lo28]
        imp28, clk28, spend28, conv28, rev28 = (b[0] - a[0], b[1] - a[1], b[2] - a[2],
                                                b[3] - a[3], b[4] - a[4])
        append({"ad_id": ad_id, "date": day,
                c7: clk / imp if imp else None, v7: conv / clk if clk else None,
                p7: spend / conv if conv else None, r7: rev / spend if spend else None,
                n7: hi - lo7,
                c28: clk28 / imp28 if imp28 else None,
                v28: conv28 / clk28 if clk28 else None,
                p28: spend28 / conv28 if conv28 else None,
                r28: rev28 / spend28 if spend28 else None, n28: hi - lo28,
                **acct_feats})
    return out
