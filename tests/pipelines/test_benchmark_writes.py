"""The benchmark step stores what ``benchmarks`` computes, however its writes are grouped.

``pipelines.analytics._benchmarks`` gathers several chunks' rows before one transaction
writes them (in key order), and reads every account's rows of a chunk through the date
index on SQLite. The stored rows must be ``benchmarks``' values over the same rows, for a
write budget of one row (a transaction per chunk) and of all rows, on both backends.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.pipelines.test_history_blocks import DAYS, _seed
from within_daemon.loaders import DatabaseLoader
from within_daemon.loaders import analytics as store
from within_daemon.pipelines import analytics
from within_daemon.transforms.enrichment.competitive import benchmarks
from within_daemon.transforms.enrichment.workers import EnrichWorkers

COLUMNS = ("platform", "account_id", "ad_id", "date", "topic", "peer_group_size",
           "ctr_percentile", "cpa_percentile", "roas_percentile")


def _exact(rows: list[dict[str, Any]]) -> list[tuple[tuple[str, str], ...]]:
    return sorted(tuple((type(r[c]).__name__, repr(r[c])) for c in COLUMNS) for r in rows)


@pytest.mark.parametrize("workers", [0, 1], ids=["here", "worker"])
async def test_benchmarks_stored_as_computed(db_url: str, monkeypatch: pytest.MonkeyPatch,
                                             workers: int) -> None:
    # With a worker, each chunk is computed in a real worker process while the database
    # reads the next and writes the one before (runtime.overlap).
    pool = EnrichWorkers(workers)
    async with DatabaseLoader.from_url(db_url) as db:
        await _seed(db)
        rows = await store.ad_rows(db, platform="facebook", account_id=None,
                                   first=DAYS[0], last=DAYS[-1])
        days = DAYS[5:40] + DAYS[44:]  # the run's days, with a hole
        wanted = set(days)
        want = benchmarks([r for r in rows if r["date"] in wanted], {}, min_peers=5)
        assert sum(1 for r in want if r["ctr_percentile"] is not None) > 100
        for budget in (1, 10**9):
            monkeypatch.setattr(analytics, "BENCHMARK_WRITE_ROWS", budget)
            # Reads of one day each (a budget of one row), or of 14 days.
            monkeypatch.setattr(analytics, "BENCHMARK_READ_ROWS", budget)
            await db.execute_in_transaction([("DELETE FROM ad_benchmarks", [()])])
            assert await analytics._benchmarks(db, "facebook", days, pool) == len(want)
            got = await db.fetch_dicts("SELECT * FROM ad_benchmarks")
            assert _exact(got) == _exact(want)
        # A budget of one row: a chunk per day, each computed in the worker.
        assert pool.computed > len(days) if workers else pool.computed == 0


async def test_benchmark_reads_are_cut_by_rows(db_url: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    async with DatabaseLoader.from_url(db_url) as db:
        await _seed(db)
        days = DAYS[5:40] + DAYS[44:]
        per_day = {str(r["d"]): int(r["n"]) for r in await db.fetch_dicts(
            "SELECT date AS d, COUNT(*) AS n FROM ad_data GROUP BY date")}
        monkeypatch.setattr(analytics, "BENCHMARK_READ_ROWS", 10**9)
        # Without a row budget, as before: 14 of the run's days a chunk.
        assert await analytics._benchmark_chunks(db, "facebook", days) == analytics._chunks(days)
        budget = 3 * max(per_day.values())
        monkeypatch.setattr(analytics, "BENCHMARK_READ_ROWS", budget)
        chunks = await analytics._benchmark_chunks(db, "facebook", days)
        assert [d for c in chunks for d in c] == days
        for c in chunks:
            # What the chunk's read holds: every day from its first to its last.
            held = sum(n for d, n in per_day.items() if c[0] <= d <= c[-1])
            assert held <= budget or len(c) == 1
        assert len(chunks) > len(analytics._chunks(days))  # the budget cut them smaller
