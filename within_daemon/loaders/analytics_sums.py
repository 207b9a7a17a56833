"""Narrow reads of ``ad_data`` for the post-load history and benchmark steps.

``analytics.ad_rows`` returns 17 columns per row for the quality check; rolling history
and competitive benchmarks read only the keys and the five summed counts, and read every
row of a run's days, some of them three times (each 14-day chunk of history also reads the
28 days before it): fewer columns make that read about half as long. The rows come in
the same order as ``ad_rows`` (key order, code point on both dialects), which the float
sums of the history follow.
"""

from __future__ import annotations

from typing import Any

from .analytics import order_by
from .database import DatabaseLoader

#: The columns rolling history and benchmarks read.
SUM_COLUMNS = ("platform", "account_id", "ad_id", "date", "impressions", "clicks", "spend",
               "conversions", "revenue")


async def ad_sums(db: DatabaseLoader, *, platform: str, account_id: str | None, first: str,
                  last: str) -> list[dict[str, Any]]:
    """The :data:`SUM_COLUMNS` of ``ad_data`` rows with ``first <= date <= last``.

    One account's, or every account's with ``account_id=None``; in ``ad_rows``' order.
    """
    sql = (f"SELECT {', '.join(SUM_COLUMNS)} FROM ad_data "
           "WHERE platform = ? AND date >= ? AND date <= ?")
    params: list[Any] = [platform, first, last]
    if account_id is not None:
        sql += " AND account_id = ?"
        params.append(account_id)
    sql += order_by(db, "platform", "account_id", "date", "ad_id")
    return await db.fetch_dicts(sql, params)
