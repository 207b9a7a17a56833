"""Reads and writes of the derived tables (see ``analytics_schema``), for the pipelines.

Upserts are built from the column lists, one statement per table; a rollup refresh deletes
the touched periods and re-inserts them from ``ad_data`` in ONE transaction, so a group
that disappeared (say, a currency change) does not linger, and a reader never sees a
half-refreshed period.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ..transforms.aggregation import (
    ROLLUP_GRAIN,
    ROLLUP_TABLES,
    period_end,
    period_start,
    rollup_params,
    rollup_sql,
    touched_periods,
)
from .analytics_schema import (
    AD_DAY_KEY_COLUMNS,
    AD_KEY_COLUMNS,
    BENCHMARK_COLUMNS,
    CREATIVE_COLUMNS,
    HISTORY_COLUMNS,
)
from .database import DatabaseLoader

CREATIVE_TABLE_COLUMNS = (*AD_KEY_COLUMNS, "creative_hash", "enrichments", "enriched_at",
                          *(c for c, _ in CREATIVE_COLUMNS))
HISTORY_TABLE_COLUMNS = (*AD_DAY_KEY_COLUMNS, *(c for c, _ in HISTORY_COLUMNS), "computed_at")
BENCHMARK_TABLE_COLUMNS = (*AD_DAY_KEY_COLUMNS, *(c for c, _ in BENCHMARK_COLUMNS),
                           "computed_at")
QUALITY_COLUMNS = ("created_at", "task", "run_id", "platform", "account_id", "dimension",
                   "score", "threshold", "passed", "record_count", "issues_json")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def upsert_statement(table: str, columns: Sequence[str], key: Sequence[str]) -> str:
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    return (f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
            f"({', '.join('?' * len(columns))}) ON CONFLICT ({', '.join(key)}) "
            f"DO UPDATE SET {updates}")


_CREATIVE_UPSERT = upsert_statement("ad_creative_features", CREATIVE_TABLE_COLUMNS,
                                    AD_KEY_COLUMNS)
_HISTORY_UPSERT = upsert_statement("ad_history", HISTORY_TABLE_COLUMNS, AD_DAY_KEY_COLUMNS)
_BENCH_UPSERT = upsert_statement("ad_benchmarks", BENCHMARK_TABLE_COLUMNS, AD_DAY_KEY_COLUMNS)
_QUALITY_INSERT = (f"INSERT INTO quality_reports ({', '.join(QUALITY_COLUMNS)}) VALUES "
                   f"({', '.join('?' * len(QUALITY_COLUMNS))})")


def _tuples(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> list[tuple[Any, ...]]:
    return [tuple(r.get(c) for c in columns) for r in rows]


async def upsert_creative_features(db: DatabaseLoader, rows: Sequence[Mapping[str, Any]]) -> None:
    await db.execute_in_transaction([(_CREATIVE_UPSERT, _tuples(rows, CREATIVE_TABLE_COLUMNS))])


async def upsert_history(db: DatabaseLoader, platform: str, account_id: str,
                         rows: Sequence[Mapping[str, Any]]) -> None:
    now = _now()
    full = [{**r, "platform": platform, "account_id": account_id, "computed_at": now}
            for r in rows]
    await db.execute_in_transaction([(_HISTORY_UPSERT, _tuples(full, HISTORY_TABLE_COLUMNS))])


async def upsert_benchmarks(db: DatabaseLoader, rows: Sequence[Mapping[str, Any]]) -> None:
    now = _now()
    full = [{**r, "computed_at": now} for r in rows]
    await db.execute_in_transaction([(_BENCH_UPSERT, _tuples(full, BENCHMARK_TABLE_COLUMNS))])


async def refresh_rollups(db: DatabaseLoader, days: Iterable[str]) -> dict[str, int]:
    """Recompute every rollup table for the periods that ``days`` touch; periods per table.

    ``ad_data`` is scanned twice, not once per table: the campaign-day rollup comes from
    it (``rollup_sql``), the account-day one from that (an ad belongs to one campaign, so
    ad counts add up), and the weekly and monthly tables from one per-(ad, week, month)
    summary, which keeps their distinct-ad counts exact. Each table's periods are replaced
    in chunks of about a month, each chunk atomically, so SQLite's sorter memory stays
    bounded on a long backfill.
    """
    days = sorted(set(days))
    if not days:
        return {}
    planned: dict[str, int] = {}
    day_starts = sorted(touched_periods(days, "day"))
    for i in range(0, len(day_starts), _PERIODS_PER_STEP["day"]):
        chunk = day_starts[i:i + _PERIODS_PER_STEP["day"]]
        marks = ", ".join("?" * len(chunk))
        await db.execute_in_transaction([
            (f"DELETE FROM rollup_campaign_daily WHERE period_start IN ({marks})",
             [tuple(chunk)]),
            (_insert("rollup_campaign_daily", rollup_sql("campaign", "day")),
             [rollup_params(chunk, "day")]),
            (f"DELETE FROM rollup_account_daily WHERE period_start IN ({marks})",
             [tuple(chunk)]),
            (_insert("rollup_account_daily", _ACCOUNT_DAY_FROM_CAMPAIGN.format(marks=marks)),
             [tuple(chunk)]),
        ])
    planned["rollup_campaign_daily"] = planned["rollup_account_daily"] = len(day_starts)
    # The per-(ad, week, month) summary covers every day of every touched week and month.
    coarse = {p: sorted(touched_periods(days, p)) for p in ("week", "month")}
    lo = min(coarse["week"][0], coarse["month"][0])
    hi = max(period_end(coarse["week"][-1], "week"), period_end(coarse["month"][-1], "month"))
    steps: list[tuple[str, Sequence[Sequence[Any]]]] = [
        ("DROP TABLE IF EXISTS temp.rollup_ad_period", [()]),
        (_AD_PERIOD_DDL, [()]),
    ]
    await db.execute_in_transaction(steps)
    for first, last in _month_spans(lo, hi):
        await db.execute_in_transaction([(_AD_PERIOD_FILL, [(first, last)])])
    for table, (by, period) in ROLLUP_GRAIN.items():
        if period == "day":
            continue
        starts = coarse[period]
        step = _PERIODS_PER_STEP[period]
        for i in range(0, len(starts), step):
            chunk = starts[i:i + step]
            marks = ", ".join("?" * len(chunk))
            await db.execute_in_transaction([
                (f"DELETE FROM {table} WHERE period_start IN ({marks})", [tuple(chunk)]),
                (_insert(table, _coarse_sql(by, period, marks)), [tuple(chunk)]),
            ])
        planned[table] = len(starts)
    await db.execute_in_transaction([("DROP TABLE IF EXISTS temp.rollup_ad_period", [()])])
    return planned


def _insert(table: str, select: str) -> str:
    cols = [c for c, _ in ROLLUP_TABLES[table][0]]
    return f"INSERT INTO {table} ({', '.join(cols)}) {select}"


def _ratios(p: str) -> str:
    return (
        f"CASE WHEN SUM({p}impressions) <> 0 THEN CAST(SUM({p}clicks) AS REAL) / "
        f"SUM({p}impressions) END, "
        f"CASE WHEN SUM({p}clicks) <> 0 THEN CAST(SUM({p}conversions) AS REAL) / "
        f"SUM({p}clicks) END, "
        f"CASE WHEN SUM({p}conversions) <> 0 THEN CAST(SUM({p}spend) AS REAL) / "
        f"SUM({p}conversions) END, "
        f"CASE WHEN SUM({p}spend) <> 0 THEN CAST(SUM({p}revenue) AS REAL) / SUM({p}spend) END"
    )


_SUMS = ("SUM(impressions), SUM(clicks), SUM(spend), SUM(conversions), SUM(revenue)")

_ACCOUNT_DAY_FROM_CAMPAIGN = (
    "SELECT platform, account_id, currency, 'day', period_start, SUM(row_count), "
    f"SUM(ad_count), {_SUMS}, {_ratios('')} FROM rollup_campaign_daily "
    "WHERE period_start IN ({marks}) GROUP BY platform, account_id, currency, period_start"
)

_AD_PERIOD_DDL = (
    "CREATE TEMP TABLE rollup_ad_period (platform TEXT, account_id TEXT, currency TEXT, "
    "ad_id TEXT, week_start TEXT, month_start TEXT, row_count INTEGER, impressions INTEGER, "
    "clicks INTEGER, spend REAL, conversions INTEGER, revenue REAL)"
)

_AD_PERIOD_FILL = (
    "INSERT INTO temp.rollup_ad_period SELECT COALESCE(platform, ''), "
    "COALESCE(account_id, ''), COALESCE(currency, ''), ad_id, "
    "date(date, 'weekday 0', '-6 days'), date(date, 'start of month'), COUNT(*), "
    f"{_SUMS} FROM ad_data WHERE date >= ? AND date < ? GROUP BY 1, 2, 3, 4, 5, 6"
)


def _coarse_sql(by: str, period: str, marks: str) -> str:
    start = "week_start" if period == "week" else "month_start"
    keys = "platform, account_id, currency" if by == "account" else "platform, currency"
    # At platform level an ad is the pair (account, ad): two accounts may reuse an ad id.
    distinct = "ad_id" if by == "account" else "account_id || char(31) || ad_id"
    return (
        f"SELECT {keys}, '{period}', {start}, SUM(row_count), COUNT(DISTINCT {distinct}), "
        f"{_SUMS}, {_ratios('')} FROM temp.rollup_ad_period WHERE {start} IN ({marks}) "
        f"GROUP BY {keys}, {start}"
    )


def _month_spans(lo: str, hi: str) -> list[tuple[str, str]]:
    """[lo, hi) cut at month starts."""
    out: list[tuple[str, str]] = []
    cur = lo
    while cur < hi:
        nxt = period_end(period_start(cur, "month"), "month")
        out.append((cur, min(nxt, hi)))
        cur = nxt
    return out


_PERIODS_PER_STEP = {"day": 31, "week": 5, "month": 1}


async def ad_rows(db: DatabaseLoader, *, platform: str, account_id: str | None, first: str,
                  last: str) -> list[dict[str, Any]]:
    """``ad_data`` rows of one account (or all with None) with ``first <= date <= last``."""
    sql = ("SELECT platform, account_id, ad_id, campaign_id, date, impressions, clicks, spend, "
           "conversions, revenue, currency, status, ctr, start_date, end_date, headline, "
           "ad_group_id FROM ad_data WHERE platform = ? AND date >= ? AND date <= ?")
    params: list[Any] = [platform, first, last]
    if account_id is not None:
        sql += " AND account_id = ?"
        params.append(account_id)
    return await db.fetch_dicts(sql, params)


async def account_rows(db: DatabaseLoader, *, platform: str, account_id: str, first: str,
                       last: str) -> list[dict[str, Any]]:
    return await db.fetch_dicts(
        "SELECT * FROM account_data WHERE platform = ? AND account_id = ? AND date >= ? "
        "AND date <= ?", [platform, account_id, first, last])


async def topics(db: DatabaseLoader, platform: str) -> dict[tuple[str, str, str], str | None]:
    rows = await db.fetch_dicts(
        "SELECT platform, account_id, ad_id, topic FROM ad_creative_features WHERE platform = ?",
        [platform])
    return {(r["platform"], r["account_id"], r["ad_id"]): r["topic"] for r in rows}


async def store_quality(db: DatabaseLoader, *, task: str, run_id: str | None, platform: str,
                        account_id: str, report: Mapping[str, Any],
                        thresholds: Mapping[str, float]) -> None:
    now = _now()
    rows = []
    for dim, score in report["scores"].items():
        issues = [i for i in report["issues"] if i.get("type") == dim][:50]
        rows.append((now, task, run_id, platform, account_id, dim, float(score),
                     float(thresholds.get(dim, 0.0)), int(bool(report["passed"][dim])),
                     int(report["record_count"]), json.dumps(issues, default=str)))
    await db.execute_in_transaction([(_QUALITY_INSERT, rows)])


async def latest_quality(db: DatabaseLoader) -> list[dict[str, Any]]:
    """The newest score per (platform, account, dimension)."""
    return await db.fetch_dicts(
        "SELECT q.platform, q.account_id, q.dimension, q.score, q.threshold, q.passed, "
        "q.record_count, q.created_at, q.task FROM quality_reports q "
        "JOIN (SELECT platform, account_id, dimension, MAX(id) AS id FROM quality_reports "
        "GROUP BY platform, account_id, dimension) m ON m.id = q.id "
        "ORDER BY q.platform, q.account_id, q.dimension")
