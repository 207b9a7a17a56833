"""The narrow reads and tuple writes of the history step store what the wide ones stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from within_daemon.loaders import DatabaseLoader
from within_daemon.loaders import analytics as store
from within_daemon.loaders.analytics import BENCHMARK_TABLE_COLUMNS, HISTORY_TABLE_COLUMNS
from within_daemon.loaders.analytics_sums import (
    SUM_COLUMNS,
    ad_sum_rows,
    upsert_benchmark_tuples,
    upsert_history_tuples,
)
from within_daemon.schema import AD_FIELDS
from within_daemon.transforms.enrichment.competitive import benchmark_rows, benchmarks
from within_daemon.transforms.enrichment.history import rolling_performance
from within_daemon.transforms.enrichment.history_rows import history_rows

DAYS = [f"2024-03-{d:02d}" for d in range(1, 16)]


def _row(acct: str, ad: str, day: str, n: int) -> dict[str, Any]:
    r: dict[str, Any] = dict.fromkeys(AD_FIELDS)
    r.update(platform="facebook", account_id=acct, ad_id=ad, date=day, currency="USD",
             impressions=100 * n, clicks=n % 9, spend=n / 3, conversions=n % 4 or None,
             revenue=n * 1.7)
    return r


async def ad_sums(db: DatabaseLoader, **kw: Any) -> list[dict[str, Any]]:
    """The narrow read keyed by column, as the dict-taking enrichment functions read it."""
    return [dict(zip(SUM_COLUMNS, r, strict=True)) for r in await ad_sum_rows(db, **kw)]


async def upsert_history_rows(db: DatabaseLoader, platform: str, account_id: str,
                              rows: list[dict[str, Any]]) -> None:
    """Dict history rows through the tuple writer the step uses."""
    await upsert_history_tuples(db, platform, account_id,
                                [tuple(r[c] for c in HISTORY_TABLE_COLUMNS[2:-1]) for r in rows])


async def upsert_benchmark_rows(db: DatabaseLoader, rows: list[dict[str, Any]]) -> None:
    """Dict benchmark rows through the tuple writer the step uses."""
    await upsert_benchmark_tuples(db, [tuple(r[c] for c in BENCHMARK_TABLE_COLUMNS[:-1])
                                       for r in rows])


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[DatabaseLoader]:
    async with DatabaseLoader.from_url(db_url) as loader:
        rows = [_row(acct, ad, day, i * 7 + j)
                for i, day in enumerate(DAYS) for j, (acct, ad) in enumerate(
                    [(a, d) for a in ("act_2", "act_1") for d in ("ad-1", "ad_b", "Zeta")])]
        await loader.write_batch(run_id="r", task="t", kind="ad",
                                 fetched_at="2024-03-20T00:00:00Z", records=rows)
        yield loader


@pytest.mark.parametrize("account", ["act_1", None])
async def test_ad_sums_are_ad_rows_narrowed(db: DatabaseLoader, account: str | None) -> None:
    wide = await store.ad_rows(db, platform="facebook", account_id=account, first=DAYS[2],
                               last=DAYS[9])
    narrow = await ad_sums(db, platform="facebook", account_id=account, first=DAYS[2],
                           last=DAYS[9])
    assert narrow == [{c: r[c] for c in SUM_COLUMNS} for r in wide]
    assert len(narrow) == 8 * (6 if account is None else 3)
    tuples = await ad_sum_rows(db, platform="facebook", account_id=account, first=DAYS[2],
                               last=DAYS[9])
    assert all(type(r) is tuple for r in tuples)
    assert tuples == [tuple(r[c] for c in SUM_COLUMNS) for r in wide]


async def test_history_rows_stored_as_upsert_history_stores_them(db: DatabaseLoader) -> None:
    rows = await ad_sums(db, platform="facebook", account_id="act_1", first=DAYS[0],
                         last=DAYS[-1])
    feats = rolling_performance(rows, [(r["ad_id"], r["date"]) for r in rows])
    stored = []
    for write in (store.upsert_history, upsert_history_rows):
        await db.execute_in_transaction([("DELETE FROM ad_history", [()])])
        await write(db, "facebook", "act_1", feats)
        got = await db.fetch_dicts("SELECT * FROM ad_history ORDER BY ad_id, date")
        stored.append([{k: v for k, v in r.items() if k != "computed_at"} for r in got])
    assert stored[0] == stored[1] and len(stored[0]) == len(feats)


async def test_benchmark_rows_stored_as_upsert_benchmarks_stores_them(db: DatabaseLoader) -> None:
    rows = await ad_sums(db, platform="facebook", account_id=None, first=DAYS[0],
                         last=DAYS[-1])
    out = benchmarks(rows, {("facebook", "act_1", "ad_b"): "apparel"}, min_peers=2)
    stored = []
    for write in (store.upsert_benchmarks, upsert_benchmark_rows):
        await db.execute_in_transaction([("DELETE FROM ad_benchmarks", [()])])
        await write(db, out)
        got = await db.fetch_dicts("SELECT * FROM ad_benchmarks ORDER BY account_id, ad_id, date")
        stored.append([{k: v for k, v in r.items() if k != "computed_at"} for r in got])
    assert stored[0] == stored[1] and len(stored[0]) == len(out)
    assert any(r["ctr_percentile"] is not None for r in stored[0])


async def test_history_tuples_stored_as_upsert_history_stores_the_dicts(
        db: DatabaseLoader) -> None:
    rows = await ad_sums(db, platform="facebook", account_id="act_1", first=DAYS[0],
                         last=DAYS[-1])
    # One chunk over every day: its range (28 days back) holds all the rows.
    feats = rolling_performance(rows, [(r["ad_id"], r["date"]) for r in rows])
    [tuples] = history_rows(await ad_sum_rows(db, platform="facebook", account_id="act_1",
                                              first=DAYS[0], last=DAYS[-1]), [DAYS])
    stored = []
    for write, data in ((store.upsert_history, feats), (upsert_history_tuples, tuples)):
        await db.execute_in_transaction([("DELETE FROM ad_history", [()])])
        await write(db, "facebook", "act_1", data)
        got = await db.fetch_dicts("SELECT * FROM ad_history ORDER BY ad_id, date")
        stored.append([{k: (type(v), v) for k, v in r.items() if k != "computed_at"}
                       for r in got])
    assert stored[0] == stored[1] and len(stored[0]) == len(feats)


async def test_benchmark_tuples_stored_as_upsert_benchmarks_stores_the_dicts(
        db: DatabaseLoader) -> None:
    rows = await ad_sums(db, platform="facebook", account_id=None, first=DAYS[0],
                         last=DAYS[-1])
    tuples = await ad_sum_rows(db, platform="facebook", account_id=None, first=DAYS[0],
                               last=DAYS[-1])
    topics = {("facebook", "act_1", "ad_b"): "apparel"}
    stored = []
    for write, data in ((store.upsert_benchmarks, benchmarks(rows, topics, min_peers=2)),
                        (upsert_benchmark_tuples,
                         benchmark_rows(tuples, topics, min_peers=2))):
        await db.execute_in_transaction([("DELETE FROM ad_benchmarks", [()])])
        await write(db, data)
        got = await db.fetch_dicts("SELECT * FROM ad_benchmarks ORDER BY account_id, ad_id, date")
        stored.append([{k: (type(v), v) for k, v in r.items() if k != "computed_at"}
                       for r in got])
    assert stored[0] == stored[1] and len(stored[0]) == len(rows)
    assert any(r["ctr_percentile"][1] is not None for r in stored[0])
