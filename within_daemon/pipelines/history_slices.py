"""Rolling history of a wide account, a slice of its ads at a time: bounded memory, same floats.

A 14-day chunk of history reads its days and the 28 before, for every ad of the account:
with 23,000 ads that is up to 966,000 rows at once. When one chunk's read is larger than
the history step's row budget, the account's ads are cut into contiguous ranges of
``ad_id`` (code-point order, as the rows are read; an ad is never split) of at most the
budget's rows each, and read twice:

1. each slice in ad order, its rows added into the account's sums per day and dropped:
   within a day the slices come in ad order, which is the order of one read, so the sums
   are the same additions (``history_rows.add_day_sums``);
2. each slice again: its ads' history rows, with those account sums, written and dropped.

An ad's prefix sums are its own, so its rows are the ones the single read gives, bit for
bit (``tests/pipelines/test_history_slices.py``). Memory holds about one slice of rows
and the account's sums of 42 days. The price is a second read of the chunk's rows (and,
on PostgreSQL, an ``ANALYZE`` of ``ad_data`` first).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..loaders import DatabaseLoader
from ..loaders.analytics_sums import ad_row_counts, ad_slice_rows, upsert_history_tuples
from ..runtime.overlap import overlapped
from ..transforms.enrichment.history_rows import (
    HistoryRow,
    Sums,
    add_day_sums,
    history_in_key_order,
)
from ..transforms.enrichment.workers import EnrichWorkers
from ..utils.runs import greedy_runs

#: A slice of an account's ads: ``ad_from <= ad_id < ad_below``, ``None`` where open.
AdSlice = tuple[str | None, str | None]


def ad_slices(counts: Sequence[tuple[str, int]], budget: int) -> list[AdSlice]:
    """Contiguous ranges of ``counts``' ads (in their order) of at most ``budget`` rows.

    Greedy: a slice takes the next ad while it stays within the budget; an ad larger than
    the budget is a slice alone. The first slice is open below and the last open above,
    so every ad of the account falls in exactly one slice.
    """
    starts = [run[0] for run in greedy_runs(counts, budget)]
    lows: list[str | None] = [None, *starts[1:]]
    highs: list[str | None] = [*starts[1:], None]
    return list(zip(lows, highs, strict=True)) if starts else []


async def sliced_history(db: DatabaseLoader, platform: str, account_id: str,
                         block: Sequence[Sequence[str]], first: str, last: str,
                         days: Sequence[str], budget: int, workers: EnrichWorkers) -> int:
    """History rows of ``block``'s chunks read ``first..last`` a slice of ads at a time.

    ``days``: the days of ``first..last`` with rows, sorted. Returns the rows written
    (each slice's in its own transaction, in key order). On PostgreSQL, call
    :func:`refresh_statistics` first. ``workers`` compute the slices' rows (in a worker
    process: while the database writes the slice before and reads the slice after).
    """
    counts = await ad_row_counts(db, platform=platform, account_id=account_id, first=first,
                                 last=last)
    slices = ad_slices(counts, budget)
    del counts
    where: dict[str, Any] = {"platform": platform, "account_id": account_id, "days": days}
    day_sums: dict[str, Sums] = {}
    for lo, hi in slices:
        add_day_sums(await ad_slice_rows(db, **where, ad_from=lo, ad_below=hi, keys=False),
                     day_sums)
    n = 0

    async def read(ads: AdSlice) -> list[Sequence[Any]]:
        return await ad_slice_rows(db, **where, ad_from=ads[0], ad_below=ads[1])

    async def compute(rows: list[Sequence[Any]]) -> list[HistoryRow]:
        return await workers.compute(history_in_key_order, rows, block, day_sums)

    async def write(rows: list[HistoryRow]) -> None:
        nonlocal n
        n += await upsert_history_tuples(db, platform, account_id, rows)

    await overlapped(slices, read, compute, write, overlap=await workers.usable())
    return n


async def refresh_statistics(db: DatabaseLoader) -> None:
    """On PostgreSQL, ``ANALYZE ad_data`` before the slice reads (SQLite: nothing).

    The rows were most likely loaded moments ago, before autovacuum looked at them: with
    the old statistics PostgreSQL planned the slice reads as scans of the chunk, 115 s
    against 4 s for 33 slices of a 966,000-row chunk (bench/README.md). ANALYZE samples a
    fixed number of rows and blocks no reader or writer.
    """
    if db.dialect.name == "postgresql":
        await db.execute_in_transaction([("ANALYZE ad_data", [()])])
