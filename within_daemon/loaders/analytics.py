"""Reads and writes of the derived tables (see ``analytics_schema``), for the pipelines.

Upserts are built from the column lists, one statement per table; a rollup refresh deletes
the touched periods and re-inserts them from ``ad_data`` in ONE transaction, so a group
that disappeared (say, a currency change) does not linger, and a reader never sees a
half-refreshed period.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import anyio

from ..errors import LoaderError
from ..transforms.aggregation import (
    ROLLUP_GRAIN,
    ROLLUP_TABLES,
    Dialect,
    period_end,
    period_start,
    period_start_sql,
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

log = logging.getLogger(__name__)

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


def sql_dialect(db: DatabaseLoader) -> Dialect:
    """The dialect name :func:`~..transforms.aggregation.rollup_sql` takes for ``db``."""
    return "postgresql" if db.dialect.name == "postgresql" else "sqlite"


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
    dialect = sql_dialect(db)
    lock = _lock_step(dialect)
    planned: dict[str, int] = {}
    day_starts = sorted(touched_periods(days, "day"))
    for i in range(0, len(day_starts), _PERIODS_PER_STEP["day"]):
        chunk = day_starts[i:i + _PERIODS_PER_STEP["day"]]
        marks = ", ".join("?" * len(chunk))
        await db.execute_in_transaction([
            *lock,
            (f"DELETE FROM rollup_campaign_daily WHERE period_start IN ({marks})",
             [tuple(chunk)]),
            (_insert("rollup_campaign_daily", rollup_sql("campaign", "day", dialect)),
             [rollup_params(chunk, "day", dialect)]),
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
    # A name of its own per refresh: the connection (and so its temp tables) is shared by
    # every task of the process, and two tasks may finish, and refresh, at the same time.
    # The table outlives the chunk transactions below, so it is a session temp table
    # (PostgreSQL's ON COMMIT DROP would lose it at the first commit) dropped in `finally`.
    temp = f"{_TEMP_SCHEMA[dialect]}.rollup_ad_period_{uuid.uuid4().hex[:12]}"
    await db.execute_in_transaction([(_AD_PERIOD_DDL.format(table=temp), [()])])
    try:
        fill = _ad_period_fill(temp, dialect)
        for first, last in _month_spans(lo, hi):
            await db.execute_in_transaction([(fill, [(first, last)])])
        for table, (by, period) in ROLLUP_GRAIN.items():
            if period == "day":
                continue
            starts = coarse[period]
            step = _PERIODS_PER_STEP[period]
            for i in range(0, len(starts), step):
                chunk = starts[i:i + step]
                marks = ", ".join("?" * len(chunk))
                await db.execute_in_transaction([
                    *lock,
                    (f"DELETE FROM {table} WHERE period_start IN ({marks})", [tuple(chunk)]),
                    (_insert(table, _coarse_sql(temp, by, period, marks)), [tuple(chunk)]),
                ])
            planned[table] = len(starts)
    finally:
        # Shielded: a cancelled refresh would otherwise leave the table for the session.
        with anyio.CancelScope(shield=True):
            try:
                await db.execute_in_transaction([(f"DROP TABLE IF EXISTS {temp}", [()])])
            except LoaderError as exc:  # the refresh's own error (if any) matters more
                log.warning("could not drop %s: %s", temp, exc)
    return planned


#: Where temporary tables live: SQLite's ``temp`` database, PostgreSQL's session schema.
_TEMP_SCHEMA: dict[Dialect, str] = {"sqlite": "temp", "postgresql": "pg_temp"}
#: Any constant: the advisory lock that serializes rollup chunks across processes.
_ROLLUP_LOCK = 7236184202


def _lock_step(dialect: Dialect) -> list[tuple[str, Sequence[Sequence[Any]]]]:
    # Several daemons may share one PostgreSQL database. Two refreshes of one period would
    # both delete it, then collide on its primary key when inserting; the transaction lock
    # makes the second wait and then replace the first's rows. SQLite's BEGIN IMMEDIATE
    # already lets one writer in at a time.
    if dialect != "postgresql":
        return []
    return [(f"SELECT pg_advisory_xact_lock({_ROLLUP_LOCK})", [()])]


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


# Both dialects take these as written: PostgreSQL's backend turns INTEGER into BIGINT and
# REAL into DOUBLE PRECISION, and a BIGINT's NUMERIC sum goes back into a BIGINT column.
_SUMS = ("SUM(impressions), SUM(clicks), SUM(spend), SUM(conversions), SUM(revenue)")

_ACCOUNT_DAY_FROM_CAMPAIGN = (
    "SELECT platform, account_id, currency, 'day', period_start, SUM(row_count), "
    f"SUM(ad_count), {_SUMS}, {_ratios('')} FROM rollup_campaign_daily "
    "WHERE period_start IN ({marks}) GROUP BY platform, account_id, currency, period_start"
)

_AD_PERIOD_DDL = (
    "CREATE TEMP TABLE {table} (platform TEXT, account_id TEXT, currency TEXT, "
    "ad_id TEXT, week_start TEXT, month_start TEXT, row_count INTEGER, impressions INTEGER, "
    "clicks INTEGER, spend REAL, conversions INTEGER, revenue REAL)"
)


def _ad_period_fill(table: str, dialect: Dialect) -> str:
    week, month = (period_start_sql(p, dialect) for p in ("week", "month"))
    return (
        f"INSERT INTO {table} SELECT COALESCE(a.platform, ''), "
        "COALESCE(a.account_id, ''), COALESCE(a.currency, ''), a.ad_id, "
        f"{week}, {month}, COUNT(*), "
        f"{_SUMS} FROM ad_data AS a WHERE a.date >= ? AND a.date < ? GROUP BY 1, 2, 3, 4, 5, 6"
    )


def _coarse_sql(temp: str, by: str, period: str, marks: str) -> str:
    start = "week_start" if period == "week" else "month_start"
    keys = "platform, account_id, currency" if by == "account" else "platform, currency"
    # At platform level an ad is the pair (account, ad): two accounts may reuse an ad id.
    # The length prefix makes the pair one text in both dialects (rollup_sql does the same).
    distinct = ("ad_id" if by == "account"
                else "length(account_id) || ':' || account_id || ad_id")
    return (
        f"SELECT {keys}, '{period}', {start}, SUM(row_count), COUNT(DISTINCT {distinct}), "
        f"{_SUMS}, {_ratios('')} FROM {temp} WHERE {start} IN ({marks}) "
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


def order_by(db: DatabaseLoader, *columns: str) -> str:
    """``ORDER BY`` the text ``columns`` in code-point order (Python's) on both dialects.

    SQLite's default BINARY collation already is; PostgreSQL would otherwise sort by the
    database's collation, where "a-2" < "a_1" in most locales.
    """
    collate = ' COLLATE "C"' if sql_dialect(db) == "postgresql" else ""
    return " ORDER BY " + ", ".join(f"{c}{collate}" for c in columns)


async def ad_rows(db: DatabaseLoader, *, platform: str, account_id: str | None, first: str,
                  last: str) -> list[dict[str, Any]]:
    """``ad_data`` rows of one account (or all with None) with ``first <= date <= last``.

    In key order, the same on both dialects: quality examples, float sums of history and
    the order of stored rows follow it. On SQLite the primary key index gives it for free.
    """
    sql = ("SELECT platform, account_id, ad_id, campaign_id, date, impressions, clicks, spend, "
           "conversions, revenue, currency, status, ctr, start_date, end_date, headline, "
           "ad_group_id FROM ad_data WHERE platform = ? AND date >= ? AND date <= ?")
    params: list[Any] = [platform, first, last]
    if account_id is not None:
        sql += " AND account_id = ?"
        params.append(account_id)
    sql += order_by(db, "platform", "account_id", "date", "ad_id")
    return await db.fetch_dicts(sql, params)


async def account_rows(db: DatabaseLoader, *, platform: str, account_id: str, first: str,
                       last: str) -> list[dict[str, Any]]:
    return await db.fetch_dicts(
        "SELECT * FROM account_data WHERE platform = ? AND account_id = ? AND date >= ? "
        "AND date <= ?" + order_by(db, "date"), [platform, account_id, first, last])


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
    """The newest score per (platform, account, dimension), sorted by those three."""
    rows = await db.fetch_dicts(
        "SELECT q.platform, q.account_id, q.dimension, q.score, q.threshold, q.passed, "
        "q.record_count, q.created_at, q.task FROM quality_reports q "
        "JOIN (SELECT platform, account_id, dimension, MAX(id) AS id FROM quality_reports "
        "GROUP BY platform, account_id, dimension) m ON m.id = q.id")
    # Sorted here, not by ORDER BY: PostgreSQL would sort by the database's collation.
    return sorted(rows, key=lambda r: (r["platform"], r["account_id"], r["dimension"]))
