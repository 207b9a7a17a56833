"""History and benchmark rows as tuples equal the dict functions' values, bit for bit.

``history_rows`` (one read for a block of chunks, prefix sums per chunk in local
variables, tuples in the columns' order) must give, for every chunk, what
``rolling_performance`` gave for that chunk's own rows and targets, as the history step
called it before; ``benchmark_rows`` (ranks looked up per distinct value) what
``benchmarks`` gives. Floats are compared by ``repr`` and type, so ``-0.0``, ``int`` and
``float`` differences would show.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest

from tests.transforms.enrichment.test_history_competitive_same import random_rows
from within_daemon.transforms.enrichment.competitive import benchmark_rows, benchmarks
from within_daemon.transforms.enrichment.history import fields, rolling_performance
from within_daemon.transforms.enrichment.history_rows import (
    SUM_FIELDS,
    Sums,
    add_day_sums,
    history_rows,
)

BENCH_COLUMNS = ("platform", "account_id", "ad_id", "date", "topic", "peer_group_size",
                 "ctr_percentile", "cpa_percentile", "roas_percentile")


def _tuples(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The rows as ``ad_sum_rows`` gives them (tuples in ``SUM_FIELDS`` order)."""
    return [tuple(r[c] for c in SUM_FIELDS) for r in rows]


def _exact(v: Any) -> tuple[str, str]:
    return (type(v).__name__, repr(v))


def _minus(day: str, n: int) -> str:
    return (date.fromisoformat(day) - timedelta(days=n)).isoformat()


def _former_chunk(rows: list[dict[str, Any]], chunk: list[str]) -> list[dict[str, Any]]:
    """What the history step computed for one chunk before (its own rows and targets)."""
    first, last = _minus(chunk[0], 28), chunk[-1]
    mine = [r for r in rows if first <= r["date"] <= last]
    days = set(chunk)
    return rolling_performance(mine, [(r["ad_id"], r["date"]) for r in mine
                                      if r["date"] in days])


def _as_dicts(rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    names = ("ad_id", "date", *(n for n, _ in fields()))
    return [dict(zip(names, r, strict=True)) for r in rows]


def _canon(rows: list[dict[str, Any]]) -> list[list[tuple[str, tuple[str, str]]]]:
    return sorted([sorted((k, _exact(v)) for k, v in r.items()) for r in rows])


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_history_rows_equal_rolling_performance_per_chunk(seed: int) -> None:
    rnd = random.Random(seed)
    rows = [r for r in random_rows(seed, ads=25, days=90) if r["account_id"] == "act_1"]
    rows.sort(key=lambda r: (r["date"], r["ad_id"]))  # ad_sums' order: date-major
    all_days = sorted({r["date"] for r in rows})
    # The run's days: from day 10 on, with holes, cut into chunks of up to 14.
    run_days = [d for d in all_days[10:] if rnd.random() < 0.85]
    run_days.append("2024-12-31")  # a day without rows
    chunks = [run_days[i:i + 14] for i in range(0, len(run_days), 14)]
    got = list(history_rows(_tuples(rows), chunks))
    assert len(got) == len(chunks)
    total = 0
    for chunk, mine in zip(chunks, got, strict=True):
        want = _former_chunk(rows, chunk)
        assert _canon(_as_dicts(mine)) == _canon(want)
        total += len(want)
    assert total > 1000
    # A block read wider than the chunks needs (history before the first one) changes nothing.
    later = chunks[2:]
    assert [_canon(_as_dicts(c)) for c in history_rows(_tuples(rows), later)] == \
        [_canon(_as_dicts(c)) for c in got[2:]]


def _bench_canon(rows: list[dict[str, Any]]) -> list[tuple[tuple[str, str], ...]]:
    return sorted(tuple(_exact(r[c]) for c in BENCH_COLUMNS) for r in rows)


@pytest.mark.parametrize("seed", [1, 2])
def test_history_rows_of_ad_slices_with_the_account_sums_are_the_whole_reads(seed: int) -> None:
    """Slices of ads (in order) with the account's day sums added over them all: same rows."""
    rows = [r for r in random_rows(seed, ads=25, days=60) if r["account_id"] == "act_1"]
    rows.sort(key=lambda r: (r["date"], r["ad_id"]))
    days = sorted({r["date"] for r in rows})
    chunks = [days[30:44], days[44:]]
    whole = [_as_dicts(c) for c in history_rows(_tuples(rows), chunks)]
    ads = sorted({r["ad_id"] for r in rows})
    slices = [set(ads[i:i + 4]) for i in range(0, len(ads), 4)]
    day_sums: dict[str, Sums] = {}
    for ad_slice in slices:
        add_day_sums(_tuples([r for r in rows if r["ad_id"] in ad_slice]), day_sums)
    parts: list[list[tuple[Any, ...]]] = [[], []]
    for ad_slice in slices:
        mine = _tuples([r for r in rows if r["ad_id"] in ad_slice])
        for part, got in zip(parts, history_rows(mine, chunks, day_sums), strict=True):
            part += got
    assert [_canon(_as_dicts(p)) for p in parts] == [_canon(w) for w in whole]
    assert sum(len(w) for w in whole) > 300
    # A slice's own day sums (the slice alone taken for the account) would not do.
    [alone, _] = history_rows(_tuples([r for r in rows if r["ad_id"] in slices[0]]), chunks)
    assert _canon(_as_dicts(alone)) != _canon([r for r in whole[0]
                                               if r["ad_id"] in slices[0]])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_benchmark_rows_equal_benchmarks(seed: int) -> None:
    rows = random_rows(seed, ads=40, days=15)
    rnd = random.Random(seed)
    for r in rows:
        if rnd.random() < 0.3:  # many ties: equal ratios in a group
            r.update(impressions=1000, clicks=20, spend=10.0, conversions=2, revenue=30.0)
    topics = {("facebook", f"act_{a}", f"ad{ad}"): rnd.choice(["apparel", "food", None])
              for a in range(2) for ad in range(40)}
    got = benchmark_rows(iter(_tuples(rows)), topics)
    want = benchmarks(rows, topics)
    assert len(got) == len(want)
    assert _bench_canon([dict(zip(BENCH_COLUMNS, r, strict=True)) for r in got]) == \
        _bench_canon(want)
    assert sum(1 for r in got if r[6] is not None) > 100


def test_benchmark_rows_with_nan_rank_as_benchmarks() -> None:
    rows = random_rows(5, ads=10, days=3)
    rows[0].update(spend=float("nan"))
    got = [dict(zip(BENCH_COLUMNS, r, strict=True)) for r in benchmark_rows(_tuples(rows), {})]
    assert _bench_canon(got) == _bench_canon(benchmarks(rows, {}))
