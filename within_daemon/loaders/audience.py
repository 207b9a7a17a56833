"""Writes of the audience insights tables (defined in :mod:`.schema.audience`).

- ``audience_data``: per ad, day, age band and gender, the delivery of that segment
  (impressions, clicks, spend, conversions), as ``transforms.enrichment.audience`` shapes it;
- ``ad_audience_summary``: per ad, the top age band and the gender split of its impressions
  over everything stored in ``audience_data``.

The summary of an account is recomputed from ``audience_data`` and replaced in one
transaction, so a reader never sees a half-refreshed account and an ad whose rows are gone
loses its summary.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ..transforms.enrichment import audience
from .analytics import upsert_statement
from .database import DatabaseLoader
from .schema.audience import AUDIENCE_TABLE, SUMMARY_TABLE

AUDIENCE_TABLE_COLUMNS = (*audience.AUDIENCE_KEY, *(c for c, _ in audience.AUDIENCE_FIELDS),
                          "level", "computed_at")
SUMMARY_TABLE_COLUMNS = (*audience.SUMMARY_KEY, *(c for c, _ in audience.fields()),
                         "level", "computed_at")

_AUDIENCE_UPSERT = upsert_statement(AUDIENCE_TABLE, AUDIENCE_TABLE_COLUMNS, audience.AUDIENCE_KEY)
# An upsert although the account's rows were just deleted: two daemons sharing a PostgreSQL
# database may refresh one account at once, and the second's plain INSERT would then fail on
# the first's committed rows instead of replacing them with the same sums.
_SUMMARY_INSERT = upsert_statement(SUMMARY_TABLE, SUMMARY_TABLE_COLUMNS, audience.SUMMARY_KEY)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def audience_upsert(rows: Sequence[Mapping[str, Any]]) -> tuple[str, list[tuple[Any, ...]]]:
    """The upsert of normalized audience rows as a ``(sql, params)`` transaction step."""
    now = _now()
    return _AUDIENCE_UPSERT, [
        tuple(now if c == "computed_at" else r.get(c, "ad") if c == "level" else r.get(c)
              for c in AUDIENCE_TABLE_COLUMNS)
        for r in rows]


async def upsert_audience(db: DatabaseLoader, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert or replace normalized audience rows in one transaction; returns the count."""
    step = audience_upsert(rows)
    await db.execute_in_transaction([step])
    return len(step[1])


async def refresh_summary(db: DatabaseLoader, platform: str, account_id: str) -> int:
    """Recompute ``ad_audience_summary`` of one account from ``audience_data``; rows written.

    The sums are grouped in SQL (one row per ad and segment, not per day) and condensed by
    ``audience.summary_from_totals``; the old rows are deleted and the new ones inserted in
    one transaction.
    """
    where = "WHERE platform = ? AND account_id = ?"
    segs = await db.fetch_dicts(
        f"SELECT ad_id, age, gender, SUM(impressions) AS impressions FROM {AUDIENCE_TABLE} "
        f"{where} GROUP BY ad_id, age, gender", [platform, account_id])
    day_rows = await db.fetch_dicts(
        f"SELECT ad_id, MAX(level) AS level, COUNT(DISTINCT date) AS days "
        f"FROM {AUDIENCE_TABLE} {where} GROUP BY ad_id", [platform, account_id])
    by_age: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_gender: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for s in segs:
        imp = int(s["impressions"] or 0)
        gender, age = str(s["gender"]), str(s["age"])
        if age != audience.ALL:  # a gender-only row (Google) says nothing about age
            by_age[s["ad_id"]][age] += imp
        if gender != audience.ALL:
            by_gender[s["ad_id"]][
                gender if gender in audience.GENDERS else audience.UNKNOWN] += imp
    now = _now()
    summaries = [
        {**audience.summary_from_totals((platform, account_id, str(r["ad_id"])),
                                        by_age[r["ad_id"]], by_gender[r["ad_id"]],
                                        int(r["days"]), str(r["level"] or "ad")),
         "computed_at": now}
        for r in sorted(day_rows, key=lambda r: str(r["ad_id"]))
    ]
    await db.execute_in_transaction([
        (f"DELETE FROM {SUMMARY_TABLE} {where}", [(platform, account_id)]),
        (_SUMMARY_INSERT, [tuple(s.get(c) for c in SUMMARY_TABLE_COLUMNS) for s in summaries]),
    ])
    return len(summaries)
