"""A wide account's history read a slice of ads at a time stores what one read stored, bit for bit.

When one chunk's read is larger than ``HISTORY_READ_ROWS``, ``_history`` reads the
account's ads in ``ad_id`` ranges (``pipelines.history_slices``): first every slice for the
account's sums per day, then every slice again for its ads' rows. The stored ``ad_history``
must equal the single read's, column for column (floats by type and ``repr``), on SQLite,
on PostgreSQL, and on PostgreSQL with the ad ids in an ICU collation (where "B0" sorts
after "a0" and "a_1" before "a-2": bounds compared in that order would slice otherwise);
and no read of the sliced path may hold more than the budget, unless it is one ad's.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.loaders.test_analytics_pg import use_collation
from within_daemon.loaders import DatabaseLoader, analytics_sums
from within_daemon.pipelines import analytics, history_slices
from within_daemon.pipelines.history_slices import ad_slices
from within_daemon.schema import AD_FIELDS
from within_daemon.transforms.enrichment.workers import EnrichWorkers

DAYS = [(date(2024, 1, 1) + timedelta(days=i)).isoformat() for i in range(70)]
#: Code-point order differs from a locale's: case, "-" and "_", accents.
ADS = ["B0", "a-2", "a_1", "a0", "a1", "ab", "é", "f", "ad3", "ad10", "Z"]


@pytest.fixture(params=["sqlite", "postgresql", "postgresql-icu"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DatabaseLoader]:
    url = (f"sqlite:///{tmp_path}/within.db" if request.param == "sqlite"
           else str(request.getfixturevalue("pg_url")))
    async with DatabaseLoader.from_url(url) as loader:
        if request.param == "postgresql-icu":
            await use_collation(loader, "und-x-icu")
        await _seed(loader)
        yield loader


async def _seed(db: DatabaseLoader) -> None:
    rnd = random.Random(5)
    recs = []
    for acct in ("act_1", "act_2"):
        for ad in ADS:
            for i, d in enumerate(DAYS):
                # Gaps everywhere but "a_1" (more rows than the small budgets: a slice
                # alone); "f" starts late, "Z" stops early.
                if ad != "a_1" and (rnd.random() < 0.25 or (ad == "f" and i < 35)
                                    or (ad == "Z" and i > 30)):
                    continue
                r: dict[str, Any] = dict.fromkeys(AD_FIELDS)
                # Magnitudes far apart: sums in another order would round otherwise.
                r.update(platform="facebook", account_id=acct, ad_id=ad, date=d,
                         currency="USD", impressions=rnd.randint(0, 10**rnd.randint(1, 6)),
                         clicks=rnd.randint(0, 40),
                         spend=rnd.random() * 10**rnd.randint(-3, 4),
                         conversions=rnd.randint(0, 4) + rnd.random() * rnd.randint(0, 1),
                         revenue=rnd.random() * 10**rnd.randint(-2, 5))
                recs.append(r)
    await db.write_batch(run_id="r", task="t", kind="ad", records=recs,
                         fetched_at="2024-04-01T00:00:00Z")


TOUCHED = [analytics.AccountDays("facebook", "act_1", None, DAYS[20:], DAYS, DAYS[-1]),
           analytics.AccountDays("facebook", "act_2", None, DAYS[:30] + DAYS[45:], DAYS,
                                 DAYS[-1])]


async def _stored(db: DatabaseLoader) -> list[list[tuple[str, str, str]]]:
    rows = await db.fetch_dicts("SELECT * FROM ad_history ORDER BY account_id, ad_id, date")
    return [[(k, type(v).__name__, repr(v)) for k, v in r.items() if k != "computed_at"]
            for r in rows]


async def _history(db: DatabaseLoader, monkeypatch: pytest.MonkeyPatch, budget: int,
                   workers: EnrichWorkers | None = None) -> int:
    monkeypatch.setattr(analytics, "HISTORY_READ_ROWS", budget)
    await db.execute_in_transaction([("DELETE FROM ad_history", [()])])
    return await analytics._history(db, TOUCHED, workers)


async def test_slices_store_what_one_read_stored(db: DatabaseLoader,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    n = await _history(db, monkeypatch, 10**9)
    want = await _stored(db)
    assert n == len(want) > 600
    assert any(v != "None" for r in want for k, _, v in r if k == "acct_roas_28d")
    for budget in (1, 25, 70, 200):
        assert await _history(db, monkeypatch, budget) == n, budget
        got = await _stored(db)
        assert got == want, budget
    # A slice's days as a range (a sparse run's long one) rather than named one by one.
    monkeypatch.setattr(analytics_sums, "MAX_DAYS_LISTED", 3)
    assert await _history(db, monkeypatch, 25) == n
    assert await _stored(db) == want


async def test_a_worker_process_stores_what_this_process_stored(
        db: DatabaseLoader, monkeypatch: pytest.MonkeyPatch) -> None:
    # Computed in a real worker process while the database reads and writes the blocks
    # (or slices) around it (runtime.overlap): the same rows, bit for bit.
    n = await _history(db, monkeypatch, 10**9)
    want = await _stored(db)
    workers = EnrichWorkers(1)
    for budget in (10**9, 25, 1):
        assert await _history(db, monkeypatch, budget, workers) == n, budget
        assert await _stored(db) == want, budget
    assert workers.computed > 2 * len(TOUCHED)  # the slices were computed there


async def test_a_sliced_read_holds_at_most_the_budget(db: DatabaseLoader,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    budget = 25
    reads: list[tuple[int, int]] = []
    real = history_slices.ad_slice_rows

    async def recorded(*args: Any, **kw: Any) -> list[Sequence[Any]]:
        rows = await real(*args, **kw)
        reads.append((len(rows), len({r[2] for r in rows})))  # rows, ads
        return rows

    async def whole(*args: Any, **kw: Any) -> list[Sequence[Any]]:
        raise AssertionError("a chunk over the budget was read whole")

    monkeypatch.setattr(history_slices, "ad_slice_rows", recorded)
    monkeypatch.setattr(analytics, "ad_sum_rows", whole)
    assert await _history(db, monkeypatch, budget) > 600
    assert len(reads) > 20
    assert all(rows <= budget or ads == 1 for rows, ads in reads), reads
    assert any(ads == 1 and rows > budget for rows, ads in reads)  # "a_1" alone
    assert any(ads > 1 for _, ads in reads)


async def test_chunks_within_the_budget_are_read_as_before(
        db: DatabaseLoader, monkeypatch: pytest.MonkeyPatch) -> None:
    async def counts(*args: Any, **kw: Any) -> Any:
        raise AssertionError("an account within the budget was sliced")

    monkeypatch.setattr(history_slices, "ad_row_counts", counts)
    assert await _history(db, monkeypatch, 10**9) > 600


def test_ad_slices_are_greedy_and_cover_every_ad() -> None:
    counts = [("A", 3), ("B", 4), ("C", 30), ("D", 1), ("E", 2), ("F", 9)]
    assert ad_slices(counts, 10) == [(None, "C"), ("C", "D"), ("D", "F"), ("F", None)]
    assert ad_slices(counts, 100) == [(None, None)]
    assert ad_slices([], 10) == []
