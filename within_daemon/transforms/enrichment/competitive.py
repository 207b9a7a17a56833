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
from collections.abc import Collection, Iterable, Mapping, Sequence
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


class _Ranks(dict[float, float]):
    """Each distinct value's rounded :func:`percentile` in a group, from one sorted pass.

    The same counts (values below, ties) and the same expression as :func:`percentile`, so
    the same floats; a row then looks its value up instead of two bisections. A value the
    pass did not give (a group holding NaN has no order to walk) is ranked by
    :func:`percentile` itself.
    """

    def __init__(self, sorted_vals: list[float], higher_is_better: bool) -> None:
        super().__init__()
        self.vals, self.higher = sorted_vals, higher_is_better
        n = len(sorted_vals)
        if any(v != v for v in sorted_vals):
            return
        i = 0
        while i < n:
            v = sorted_vals[i]
            j = bisect_right(sorted_vals, v, i)
            below, ties = i, j - i
            worse = below if higher_is_better else n - below - ties
            self[v] = round((worse + 0.5 * ties) / n, 6)
            i = j

    def __missing__(self, v: float) -> float:
        return round(percentile(self.vals, v, self.higher), 6)


def benchmark_rows(
    rows: Iterable[Sequence[Any]],
    topics: Mapping[tuple[str, str, str], str | None],
    *,
    min_peers: int = 5,
) -> list[tuple[Any, ...]]:
    """:func:`benchmarks` as tuples in the table's column order, the same values.

    ``platform, account_id, ad_id, date, topic, peer_group_size``, then each metric's
    percentile (:data:`METRICS` order): what the loader writes, without a dict per row.
    ``rows`` are tuples in ``history_rows.SUM_FIELDS`` order (``ad_sum_rows``' rows).
    """
    if tuple(METRICS) != ("ctr", "cpa", "roas"):
        raise RuntimeError("benchmark_rows is written for ctr, cpa and roas")
    groups: dict[tuple[str, str, str], tuple[list[float], list[float], list[float]]] = {}
    keyed: list[tuple[Sequence[Any], tuple[str, str, str], float | None, float | None,
                      float | None]] = []
    append_row = keyed.append
    get_topic, get_group = topics.get, groups.get
    for r in rows:
        platform, account_id, ad_id, day, imp, clk, spend_v, conv, rev = r
        p = str(platform)
        topic = get_topic((p, str(account_id), str(ad_id)))
        g = (p, topic or "other", str(day))
        # _value for each metric: float(numerator or 0) / float(denominator or 0), None
        # when the denominator is 0.
        spend = float(spend_v or 0)
        d = float(imp or 0)
        ctr = float(clk or 0) / d if d else None
        d = float(conv or 0)
        cpa = spend / d if d else None
        roas = float(rev or 0) / spend if spend else None
        append_row((r, g, ctr, cpa, roas))
        group = get_group(g)
        if group is None:
            group = groups[g] = ([], [], [])
        if ctr is not None:
            group[0].append(ctr)
        if cpa is not None:
            group[1].append(cpa)
        if roas is not None:
            group[2].append(roas)
    ranked: dict[tuple[str, str, str], tuple[int, _Ranks | None, _Ranks | None,
                                             _Ranks | None]] = {}
    for g, (c, a, o) in groups.items():
        per: list[_Ranks | None] = []
        for vals, higher in ((c, True), (a, False), (o, True)):
            vals.sort()
            per.append(_Ranks(vals, higher) if len(vals) >= min_peers else None)
        ranked[g] = (len(c), per[0], per[1], per[2])
    out: list[tuple[Any, ...]] = []
    append = out.append
    for r, g, ctr, cpa, roas in keyed:
        size, rc, ra, ro = ranked[g]
        append((r[0], r[1], r[2], r[3], g[1], size,
                None if ctr is None or rc is None else rc[ctr],
                None if cpa is None or ra is None else ra[cpa],
                None if roas is None or ro is None else ro[roas]))
    return out


def benchmark_rows_on(rows: Iterable[Sequence[Any]], days: Collection[str],
                      topics: Mapping[tuple[str, str, str], str | None]) -> list[tuple[Any, ...]]:
    """:func:`benchmark_rows` of the ``rows`` whose date is in ``days``.

    Each day's percentiles are its own, so a read may hold more days than are scored.
    Sorted by key (platform, account, ad, date): the step writes several reads' rows in
    one transaction, in key order, and sorting sorted runs is cheap. A plain function of
    plain data, so a worker process can run it (``pipelines.analytics``).
    """
    out = benchmark_rows([r for r in rows if r[3] in days], topics)
    out.sort(key=benchmark_key)
    return out


def benchmark_key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A :func:`benchmark_rows` row's key: platform, account, ad, date."""
    return row[:4]
