"""Narrow reads of ``ad_data`` for the post-load history and benchmark steps, and their writes.

``analytics.ad_rows`` returns 17 columns per row for the quality check; rolling history
and competitive benchmarks read only the keys and the five summed counts, and read every
row of a run's days, some of them three times (each 14-day chunk of history also reads the
28 days before it): fewer columns make that read about half as long. The rows come in
the same order as ``ad_rows`` (key order, code point on both dialects), which the float
sums of the history follow. A wide account's history reads a slice of its ads at a time
(:func:`ad_row_counts`, :func:`ad_slice_rows`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from ..transforms.enrichment.history_rows import SUM_FIELDS
from .analytics import (
    BENCHMARK_TABLE_COLUMNS,
    HISTORY_TABLE_COLUMNS,
    order_by,
    sql_dialect,
)
from .database import DatabaseLoader
from .schema.analytics import AD_DAY_KEY_COLUMNS

#: The columns rolling history and benchmarks read, in the order ``history_rows`` and
#: ``benchmark_rows`` unpack them.
SUM_COLUMNS = SUM_FIELDS


async def ad_sum_rows(db: DatabaseLoader, *, platform: str, account_id: str | None,
                      first: str, last: str) -> list[Sequence[Any]]:
    """The :data:`SUM_COLUMNS` of ``ad_data`` rows with ``first <= date <= last``, as tuples.

    One account's, or every account's with ``account_id=None``; in ``ad_rows``' order.
    Tuples, not dicts: the history and benchmark steps read every row of a run's days.
    """
    params: list[Any] = [platform, first, last]
    if account_id is not None:
        sql = (f"SELECT {', '.join(SUM_COLUMNS)} FROM ad_data "
               "WHERE platform = ? AND date >= ? AND date <= ? AND account_id = ?")
        params.append(account_id)
    elif db.dialect.name == "sqlite":
        # Every account's rows of a few days: SQLite otherwise takes the primary key's
        # prefix (platform = ?) and walks the platform's whole history for each chunk of
        # benchmarks (15 walks of every row on a 200-day backfill); "+platform" leaves it
        # the date index, whose range holds just these days. Same rows, sorted below.
        sql = (f"SELECT {', '.join(SUM_COLUMNS)} FROM ad_data "
               "WHERE +platform = ? AND date >= ? AND date <= ?")
    else:
        sql = (f"SELECT {', '.join(SUM_COLUMNS)} FROM ad_data "
               "WHERE platform = ? AND date >= ? AND date <= ?")
    sql += order_by(db, "platform", "account_id", "date", "ad_id")
    return await db.fetch_rows(sql, params)


#: Most days :func:`ad_slice_rows` names one by one; beyond, a date range (same rows).
MAX_DAYS_LISTED = 1_000


async def ad_row_counts(db: DatabaseLoader, *, platform: str, account_id: str, first: str,
                        last: str) -> list[tuple[str, int]]:
    """``(ad_id, rows)`` of one account's ads with ``first <= date <= last``, by ``ad_id``.

    In code-point order, as :func:`ad_sum_rows` orders the ads within a day and
    :func:`ad_slice_rows` compares its bounds.
    """
    rows = await db.fetch_rows(
        "SELECT ad_id, COUNT(*) FROM ad_data WHERE platform = ? AND account_id = ? "
        "AND date >= ? AND date <= ? GROUP BY ad_id" + order_by(db, "ad_id"),
        [platform, account_id, first, last])
    return [(str(ad), int(n)) for ad, n in rows]


async def ad_slice_rows(db: DatabaseLoader, *, platform: str, account_id: str,
                        days: Sequence[str], ad_from: str | None, ad_below: str | None,
                        keys: bool = True) -> list[Sequence[Any]]:
    """:func:`ad_sum_rows` of one account on ``days``, with ``ad_from <= ad_id < ad_below``.

    A slice of the account's ads (either bound ``None``: open), compared in code-point
    order as :func:`ad_row_counts` lists them; in ``ad_sum_rows``' order. ``days`` (sorted)
    must hold every day with rows wanted. They are named one by one: SQLite then seeks
    each day's range of ads in the primary key (``platform, account_id, date, ad_id``)
    instead of walking every ad of the date range for each slice (33 slices of a
    966,000-row chunk: 2.7 s against 9.2 s). ``keys=False`` leaves ``NULL`` for
    ``platform``, ``account_id`` and ``ad_id`` (the account's sums per day need only the day
    and the counts: three strings fewer per row, a third of the read's time).
    """
    if not days:
        return []
    cols = SUM_COLUMNS if keys else ("NULL", "NULL", "NULL", *SUM_COLUMNS[3:])
    sql = f"SELECT {', '.join(cols)} FROM ad_data WHERE platform = ? AND account_id = ?"
    params: list[Any] = [platform, account_id]
    if len(days) <= MAX_DAYS_LISTED:
        sql += f" AND date IN ({', '.join('?' * len(days))})"
        params += days
    else:  # a sparse run's long range: the statement stays under the parameter limits
        sql += " AND date >= ? AND date <= ?"
        params += [days[0], days[-1]]
    ad_id = 'ad_id COLLATE "C"' if sql_dialect(db) == "postgresql" else "ad_id"
    if ad_from is not None:
        sql += f" AND {ad_id} >= ?"
        params.append(ad_from)
    if ad_below is not None:
        sql += f" AND {ad_id} < ?"
        params.append(ad_below)
    sql += order_by(db, "platform", "account_id", "date", "ad_id")
    return await db.fetch_rows(sql, params)


if HISTORY_TABLE_COLUMNS[:2] != ("platform", "account_id") or \
        SUM_COLUMNS[:4] != ("platform", "account_id", "ad_id", "date") or \
        HISTORY_TABLE_COLUMNS[-1] != "computed_at" or \
        BENCHMARK_TABLE_COLUMNS[-1] != "computed_at":  # what the tuples below are built for
    raise ImportError("ad_history's or ad_benchmarks' columns moved: update this module")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def upsert_history_tuples(db: DatabaseLoader, platform: str, account_id: str,
                                rows: Sequence[tuple[Any, ...]]) -> int:
    """History rows as ``history_rows`` gives them (``ad_id, date``, then the features).

    One transaction; returns the number of rows written.
    """
    head, tail = (platform, account_id), (_now(),)
    await db.upsert_keyed("ad_history", HISTORY_TABLE_COLUMNS, AD_DAY_KEY_COLUMNS,
                          [head + r + tail for r in rows])
    return len(rows)


async def upsert_benchmark_tuples(db: DatabaseLoader, rows: Sequence[tuple[Any, ...]]) -> int:
    """Benchmark rows as ``benchmark_rows`` gives them (every column but the time).

    One transaction; returns the number of rows written.
    """
    tail = (_now(),)
    await db.upsert_keyed("ad_benchmarks", BENCHMARK_TABLE_COLUMNS, AD_DAY_KEY_COLUMNS,
                          [r + tail for r in rows])
    return len(rows)
