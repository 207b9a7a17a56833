"""Competitive benchmarks: where an ad's CTR, CPA and ROAS rank among comparable ads.

"Comparable" means the same platform and topic on the same day, across every account in
the database. The percentile is the share of the peer group with a strictly worse value
plus half of the ties (so the median ad sits at 0.5); for CPA lower is better. An ad
whose metric is undefined (no impressions, no conversions, no spend) gets ``None``, and so
does a group with fewer than ``min_peers`` defined values.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

#: metric name -> (numerator field, denominator field, higher is better)
METRICS: dict[str, tuple[str, str, bool]] = {
    "ctr": ("clicks", "impressions", True),
    "cpa": ("spend", "conversions", False),
    "roas": ("revenue", "spend", True),
}


def fields() -> tuple[tuple[str, type], ...]:
    """The benchmark fields ``(name, scalar type)`` (columns: the loader)."""
    return (("peer_group_size", int), *((f"{m}_percentile", float) for m in METRICS))


def _value(r: Mapping[str, Any], num: str, den: str) -> float | None:
    d = float(r.get(den) or 0)
    return float(r.get(num) or 0) / d if d else None


def percentile(sorted_vals: list[float], v: float, higher_is_better: bool) -> float:
    """Share of values worse than ``v`` plus half the ties, 0..1."""
    n = len(sorted_vals)
    below = bisect_left(sorted_vals, v)
    ties = bisect_right(sorted_vals, v) - below
    worse = below if higher_is_better else n - below - ties
    return (worse + 0.5 * ties) / n


def benchmarks(
    rows: Iterable[Mapping[str, Any]],
    topics: Mapping[tuple[str, str, str], str | None],
    *,
    min_peers: int = 5,
) -> list[dict[str, Any]]:
    """Percentiles for each ad-day row; ``topics`` maps (platform, account_id, ad_id) → topic.

    ``rows`` are the ad-day rows of the days to score, from ALL accounts (the peers).
    """
    groups: dict[tuple[str, str, str], dict[str, list[float]]] = defaultdict(
        lambda: {m: [] for m in METRICS})
    metrics = tuple(METRICS.items())
    # Each row's metric values are computed once: they feed its group and its own ranks.
    keyed: list[tuple[Mapping[str, Any], tuple[str, str, str], list[float | None]]] = []
    for r in rows:
        topic = topics.get((str(r["platform"]), str(r["account_id"]), str(r["ad_id"])))
        g = (str(r["platform"]), topic or "other", str(r["date"]))
        values = [_value(r, num, den) for _, (num, den, _) in metrics]
        keyed.append((r, g, values))
        group = groups[g]
        for (m, _), v in zip(metrics, values, strict=True):
            if v is not None:
                group[m].append(v)
    for per_metric in groups.values():
        for vals in per_metric.values():
            vals.sort()
    names = [(f"{m}_percentile", higher) for m, (_, _, higher) in metrics]
    out: list[dict[str, Any]] = []
    for r, g, values in keyed:
        group = groups[g]
        feats: dict[str, Any] = {
            "platform": r["platform"], "account_id": r["account_id"], "ad_id": r["ad_id"],
            "date": r["date"], "topic": g[1], "peer_group_size": len(group["ctr"]),
        }
        for (name, higher), (m, _), v in zip(names, metrics, values, strict=True):
            vals = group[m]
            feats[name] = (
                round(percentile(vals, v, higher), 6)
                if v is not None and len(vals) >= min_peers else None
            )
        out.append(feats)
    return out
