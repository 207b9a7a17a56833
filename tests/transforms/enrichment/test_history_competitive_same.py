"""The faster rolling history and benchmarks give the former functions' values, bit for bit.

``old_rolling`` and ``old_benchmarks`` are the implementations before the speed-up (a date
parsed per window and target, each metric computed twice per row), kept here as oracles;
random accounts with gaps, zero denominators, float and integer counts and several topics
must give equal dicts (``==`` on floats: the same operations in the same order).
"""

from __future__ import annotations

import random
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

import pytest

from within_daemon.transforms.enrichment.competitive import METRICS, _value, percentile
from within_daemon.transforms.enrichment.competitive import benchmarks as new_benchmarks
from within_daemon.transforms.enrichment.history import (
    _SUMS,
    WINDOWS,
    _ratios,
    _Series,
    rolling_performance,
)


def old_window(series: _Series, day: str, n: int) -> tuple[list[float], int]:
    start = (date.fromisoformat(day) - timedelta(days=n)).isoformat()
    lo = bisect_left(series.days, start)
    hi = bisect_left(series.days, day)
    a, b = series.prefix[lo], series.prefix[hi]
    return [y - x for x, y in zip(a, b, strict=True)], hi - lo


def old_rolling(rows: Iterable[Mapping[str, Any]],
                targets: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
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
            feats.update(_ratios("ad", n, *old_window(series, day, n)))
            feats.update(_ratios("acct", n, *old_window(acct, day, n)))
        out.append(feats)
    return out


def old_benchmarks(rows: Iterable[Mapping[str, Any]],
                   topics: Mapping[tuple[str, str, str], str | None],
                   min_peers: int = 5) -> list[dict[str, Any]]:
    rows = list(rows)
    groups: dict[tuple[str, str, str], dict[str, list[float]]] = defaultdict(
        lambda: {m: [] for m in METRICS})
    keyed = []
    for r in rows:
        topic = topics.get((str(r["platform"]), str(r["account_id"]), str(r["ad_id"])))
        g = (str(r["platform"]), topic or "other", str(r["date"]))
        keyed.append((r, g))
        for m, (num, den, _) in METRICS.items():
            v = _value(r, num, den)
            if v is not None:
                groups[g][m].append(v)
    for per_metric in groups.values():
        for vals in per_metric.values():
            vals.sort()
    out = []
    for r, g in keyed:
        feats: dict[str, Any] = {
            "platform": r["platform"], "account_id": r["account_id"], "ad_id": r["ad_id"],
            "date": r["date"], "topic": g[1], "peer_group_size": len(groups[g]["ctr"]),
        }
        for m, (num, den, higher) in METRICS.items():
            v = _value(r, num, den)
            vals = groups[g][m]
            feats[f"{m}_percentile"] = (
                round(percentile(vals, v, higher), 6)
                if v is not None and len(vals) >= min_peers else None)
        out.append(feats)
    return out


def random_rows(seed: int, accounts: int = 2, ads: int = 30,
                days: int = 60) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    first = date(2024, 1, 1)
    out = []
    for a in range(accounts):
        for ad in range(ads):
            for d in range(days):
                if rnd.random() < 0.2:
                    continue
                imp = rnd.choice([0, rnd.randint(1, 5000)])
                clk = rnd.randint(0, imp // 10 + 1) if imp else 0
                out.append({
                    "platform": "facebook", "account_id": f"act_{a}", "ad_id": f"ad{ad}",
                    "date": (first + timedelta(days=d)).isoformat(), "impressions": imp,
                    "clicks": clk, "spend": rnd.choice([0.0, round(rnd.random() * 90, 2)]),
                    "conversions": rnd.choice([None, 0, rnd.random() * 4, rnd.randint(1, 5)]),
                    "revenue": rnd.choice([None, rnd.random() * 300])})
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rolling_same_as_before(seed: int) -> None:
    rows = [r for r in random_rows(seed) if r["account_id"] == "act_0"]
    rnd = random.Random(seed)
    targets = [(r["ad_id"], r["date"]) for r in rows if rnd.random() < 0.5]
    targets += [("ad_missing", "2024-02-10"), ("ad3", "2023-12-01")]
    assert rolling_performance(rows, targets) == old_rolling(rows, targets)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_benchmarks_same_as_before(seed: int) -> None:
    rows = random_rows(seed, ads=12, days=20)
    rnd = random.Random(seed)
    topics = {("facebook", f"act_{a}", f"ad{ad}"): rnd.choice(["apparel", "food", None])
              for a in range(2) for ad in range(12)}
    got = new_benchmarks(iter(rows), topics)
    assert got == old_benchmarks(rows, topics)
    assert any(f["ctr_percentile"] is not None for f in got)
