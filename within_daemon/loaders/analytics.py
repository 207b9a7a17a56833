"""Reads and writes of the derived tables (see ``schema.analytics``), for the pipelines.

Upserts are built from the column lists, one statement per table; a rollup refresh deletes
the touched periods and re-inserts them from ``ad_data`` in ONE transaction, so a group
that disappeared (say, a currency change) does not linger, and a reader never sees a
half-refreshed period.

Creatives are kept twice, in one transaction: ``ad_creative_features`` (the current one,
per ad) and ``ad_creative_history`` (every version, dated). Whatever joins creatives onto
dated rows (training data, feature history) reads :func:`creative_versions`, never the
current table: an edited creative must not show up on the days before the edit.
"""

from __future__ import annotations

import logging
import uuid
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

import anyio

from ..errors import LoaderError
from ..transforms.aggregation import ROLLUP_GRAIN, period_end, period_start, touched_periods
from .database import DatabaseLoader
from .rollups import (
    AD_PERIOD_DDL,
    TEMP_SCHEMA,
    DialectName,
    account_day_sql,
    ad_period_fill_sql,
    coarse_sql,
    insert_sql,
    lock_steps,
    platform_sql,
    rollup_params,
    rollup_sql,
)
from .schema.analytics import (
    AD_DAY_KEY_COLUMNS,
    AD_KEY_COLUMNS,
    BEGINNING,
    BENCHMARK_COLUMNS,
    CREATIVE_COLUMNS,
    HISTORY_COLUMNS,
)
from .statements import keyed_upsert_sql

log = logging.getLogger(__name__)

CREATIVE_TABLE_COLUMNS = (*AD_KEY_COLUMNS, "creative_hash", "enrichments", "enriched_at",
                          *(c for c, _ in CREATIVE_COLUMNS))
HISTORY_TABLE_COLUMNS = (*AD_DAY_KEY_COLUMNS, *(c for c, _ in HISTORY_COLUMNS), "computed_at")
BENCHMARK_TABLE_COLUMNS = (*AD_DAY_KEY_COLUMNS, *(c for c, _ in BENCHMARK_COLUMNS),
                           "computed_at")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def upsert_statement(table: str, columns: Sequence[str], key: Sequence[str]) -> str:
    return keyed_upsert_sql(table, columns, key)


_CREATIVE_UPSERT = upsert_statement("ad_creative_features", CREATIVE_TABLE_COLUMNS,
                                    AD_KEY_COLUMNS)
_HISTORY_UPSERT = upsert_statement("ad_history", HISTORY_TABLE_COLUMNS, AD_DAY_KEY_COLUMNS)
_BENCH_UPSERT = upsert_statement("ad_benchmarks", BENCHMARK_TABLE_COLUMNS, AD_DAY_KEY_COLUMNS)


def _tuples(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> list[tuple[Any, ...]]:
    return [tuple(r.get(c) for c in columns) for r in rows]


_CREATIVE_FEATURE_NAMES = tuple(c for c, _ in CREATIVE_COLUMNS)
_SAME_AD = "h.platform = c.platform AND h.account_id = c.account_id AND h.ad_id = c.ad_id"
_VERSION_COLUMNS = ("creative_hash", "enrichments", "enriched_at", *_CREATIVE_FEATURE_NAMES)

#: Records the current row of one ad (just upserted) in the history, for an observation on
#: day ``?`` (the same day three times, then the ad's key). The version in effect that day
#: decides: the same hash is the same version (its columns are refreshed, say after an
#: image that failed to load did load; its ``valid_from`` and ``observed_at`` stay); another
#: hash starts a version on that day; an ad with no version yet gets its first one, valid
#: from the beginning. A second creative on one day replaces the first (the later one is
#: what ran at the end of that day). Written as one statement, the decision and the write
#: cannot be split by another writer.
_VERSION_UPSERT = (
    "INSERT INTO ad_creative_history (platform, account_id, ad_id, valid_from, observed_at, "
    + ", ".join(_VERSION_COLUMNS) + ") "
    "SELECT c.platform, c.account_id, c.ad_id, COALESCE("
    "(SELECT CASE WHEN h.creative_hash = c.creative_hash THEN h.valid_from ELSE ? END "
    f"FROM ad_creative_history h WHERE {_SAME_AD} AND h.valid_from <= ? "
    "ORDER BY h.valid_from DESC LIMIT 1), "
    f"CASE WHEN EXISTS (SELECT 1 FROM ad_creative_history h WHERE {_SAME_AD}) THEN ? "
    f"ELSE '{BEGINNING}' END), c.enriched_at, "
    + ", ".join(f"c.{n}" for n in _VERSION_COLUMNS)
    # (SQLite needs the WHERE: without it, ON CONFLICT would parse as a join constraint.)
    + " FROM ad_creative_features c WHERE c.platform = ? AND c.account_id = ? AND c.ad_id = ? "
    "ON CONFLICT (platform, account_id, ad_id, valid_from) DO UPDATE SET "
    + ", ".join(f"{n} = excluded.{n}" for n in _VERSION_COLUMNS)
    + ", observed_at = CASE WHEN ad_creative_history.creative_hash = excluded.creative_hash "
    "THEN ad_creative_history.observed_at ELSE excluded.observed_at END "
    # A late, older observation does not undo a newer one.
    "WHERE excluded.enriched_at >= ad_creative_history.enriched_at"
)


def _observed_day(row: Mapping[str, Any]) -> str:
    """The account's day a row was observed on: ``observed_on``, else ``enriched_at``'s."""
    day = row.get("observed_on") or str(row.get("enriched_at") or "")[:10]
    try:
        return date.fromisoformat(str(day)).isoformat()
    except ValueError as exc:
        raise LoaderError(f"creative row of ad {row.get('ad_id')!r}: no observation day "
                          f"(observed_on {row.get('observed_on')!r}, enriched_at "
                          f"{row.get('enriched_at')!r})") from exc


async def upsert_creative_features(db: DatabaseLoader, rows: Sequence[Mapping[str, Any]]) -> None:
    """Store creatives as the ads' current ones and as versions in their history.

    A row is one ad's creative as seen on the account's day ``observed_on`` (ISO; missing,
    the UTC day of ``enriched_at``). Re-observing the creative in effect that day adds no
    version; another creative starts one that day. Rows of one ad are applied in order.
    """
    days = [_observed_day(r) for r in rows]
    # executemany runs row after row, but the current row of an ad must be that of the
    # version being recorded: an ad's k-th row goes into the k-th round.
    rounds: list[list[int]] = []
    seen: dict[tuple[Any, ...], int] = {}
    for i, r in enumerate(rows):
        key = tuple(r.get(c) for c in AD_KEY_COLUMNS)
        n = seen[key] = seen.get(key, -1) + 1
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(i)
    steps: list[tuple[str, Sequence[Sequence[Any]]]] = []
    for idx in rounds:
        steps.append((_CREATIVE_UPSERT, _tuples([rows[i] for i in idx], CREATIVE_TABLE_COLUMNS)))
        steps.append((_VERSION_UPSERT, [
            (days[i], days[i], days[i], *(rows[i].get(c) for c in AD_KEY_COLUMNS))
            for i in idx]))
    if steps:
        await db.execute_in_transaction(steps)


class CreativeVersions(NamedTuple):
    """One ad's creative versions, oldest first: ``starts[i]`` is ``rows[i]``'s first day."""

    starts: list[str]
    rows: list[dict[str, Any]]

    def on(self, day: str) -> dict[str, Any] | None:
        """The version in effect on ``day``: the latest one starting on or before it."""
        i = bisect_right(self.starts, day)
        return self.rows[i - 1] if i else None


async def creative_versions(
    db: DatabaseLoader, columns: Sequence[str], *, platform: str | None = None,
    account_id: str | None = None,
) -> dict[tuple[str, str, str], CreativeVersions]:
    """Per ad, its creative versions with ``columns`` (of ``CREATIVE_COLUMNS``).

    An ad in ``ad_creative_features`` without any history row (written around
    :func:`upsert_creative_features`, as some tests and tools do) has its current creative
    as its one version, valid from the beginning: the same rule as for any first version.
    """
    bad = [c for c in columns if c not in _CREATIVE_FEATURE_NAMES]
    if bad:
        raise LoaderError(f"not creative feature columns: {bad}")
    filters = [(n, v) for n, v in (("platform", platform), ("account_id", account_id))
               if v is not None]
    h_cols, c_cols = ("".join(f", {t}.{name}" for name in columns) for t in "hc")
    h_where, c_where = ("".join(f" AND {t}.{n} = ?" for n, _ in filters) for t in "hc")
    sql = (f"SELECT h.platform, h.account_id, h.ad_id, h.valid_from{h_cols} "
           f"FROM ad_creative_history h WHERE 1 = 1{h_where} UNION ALL "
           f"SELECT c.platform, c.account_id, c.ad_id, '{BEGINNING}'{c_cols} "
           "FROM ad_creative_features c WHERE NOT EXISTS "
           f"(SELECT 1 FROM ad_creative_history h WHERE {_SAME_AD}){c_where}")
    params = [v for _, v in filters]
    rows = await db.fetch_dicts(sql, [*params, *params])
    # Sorted here: the order must not depend on either database's collation.
    rows.sort(key=lambda r: (r["platform"], r["account_id"], r["ad_id"], r["valid_from"]))
    out: dict[tuple[str, str, str], CreativeVersions] = {}
    for r in rows:
        v = out.setdefault((r["platform"], r["account_id"], r["ad_id"]), CreativeVersions([], []))
        v.starts.append(r["valid_from"])
        v.rows.append({c: r[c] for c in columns})
    return out


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


def sql_dialect(db: DatabaseLoader) -> DialectName:
    """The dialect name :func:`~.rollups.rollup_sql` takes for ``db``."""
    return "postgresql" if db.dialect.name == "postgresql" else "sqlite"


async def refresh_rollups(db: DatabaseLoader, days: Iterable[str],
                          accounts: Iterable[tuple[str, str]] | None = None) -> dict[str, int]:
    """Recompute every rollup table for the periods that ``days`` touch; periods per table.

    ``ad_data`` is scanned twice, not once per table: the campaign-day rollup comes from
    it (``rollup_sql``), the account-day one from that (an ad belongs to one campaign, so
    ad counts add up), and the account weekly and monthly tables from one per-(ad, week,
    month) summary, which keeps their distinct-ad counts exact. The platform tables are
    summed from the account ones: an ad is one account's, so distinct ads add up over
    accounts. Each table's periods are replaced in chunks of about a month, each chunk
    atomically, so SQLite's sorter memory stays bounded on a long backfill.

    ``accounts`` ((platform, account_id) pairs, e.g. the ones a run loaded) limits the
    recomputation to their rows: other accounts' rows did not change, and a backfill of one
    account no longer rescans every account's history (issue 15: the fourth account of a
    1,000-day bench spent 16 s here). Their platforms' rows are summed again.
    """
    days = sorted(set(days))
    if not days:
        return {}
    if accounts is None:
        return await _refresh(db, days, None)
    by_platform: dict[str, list[str]] = {}
    for platform, account_id in sorted(set(accounts)):
        by_platform.setdefault(platform, []).append(account_id)
    planned: dict[str, int] = {}
    for platform, ids in by_platform.items():
        planned = await _refresh(db, days, (platform, ids))
    return planned


async def _refresh(db: DatabaseLoader, days: list[str],
                   scope: tuple[str, list[str]] | None) -> dict[str, int]:
    """:func:`refresh_rollups` of every account (``scope`` None) or of one platform's."""
    # The scope's SQL condition and parameters; platform tables: the platform only.
    where, pwhere = "", ""
    args: tuple[str, ...] = ()
    pargs: tuple[str, ...] = ()
    if scope is not None:
        where = f" AND platform = ? AND account_id IN ({', '.join('?' * len(scope[1]))})"
        args, pwhere, pargs = (scope[0], *scope[1]), " AND platform = ?", (scope[0],)
    dialect = sql_dialect(db)
    lock = lock_steps(dialect)
    planned: dict[str, int] = {}
    day_starts = sorted(touched_periods(days, "day"))
    for i in range(0, len(day_starts), _PERIODS_PER_STEP["day"]):
        chunk = day_starts[i:i + _PERIODS_PER_STEP["day"]]
        marks = ", ".join("?" * len(chunk))
        await db.execute_in_transaction([
            *lock,
            (f"DELETE FROM rollup_campaign_daily WHERE period_start IN ({marks}){where}",
             [(*chunk, *args)]),
            (insert_sql("rollup_campaign_daily", rollup_sql(
                "campaign", "day", dialect, accounts=len(args) - 1 if args else 0)),
             [(*rollup_params(chunk, "day", dialect), *args)]),
            (f"DELETE FROM rollup_account_daily WHERE period_start IN ({marks}){where}",
             [(*chunk, *args)]),
            (insert_sql("rollup_account_daily",
                     account_day_sql(marks, dialect, where)),
             [(*chunk, *args)]),
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
    temp = f"{TEMP_SCHEMA[dialect]}.rollup_ad_period_{uuid.uuid4().hex[:12]}"
    await db.execute_in_transaction([(AD_PERIOD_DDL.format(table=temp), [()])])
    try:
        fill = ad_period_fill_sql(temp, dialect, where.replace(" platform", " a.platform")
                               .replace(" account_id", " a.account_id"))
        for first, last in _month_spans(lo, hi):
            await db.execute_in_transaction([(fill, [(first, last, *args)])])
        # ROLLUP_GRAIN lists the account tables before the platform ones summed from them.
        for table, (by, period) in ROLLUP_GRAIN.items():
            if period == "day":
                continue
            starts = coarse[period]
            step = _PERIODS_PER_STEP[period]
            for i in range(0, len(starts), step):
                chunk = starts[i:i + step]
                marks = ", ".join("?" * len(chunk))
                if by == "platform":
                    steps = [(f"DELETE FROM {table} WHERE period_start IN ({marks}){pwhere}",
                              [(*chunk, *pargs)]),
                             (insert_sql(table, platform_sql(period, marks, pwhere, dialect)),
                              [(*chunk, *pargs)])]
                else:
                    steps = [(f"DELETE FROM {table} WHERE period_start IN ({marks}){where}",
                              [(*chunk, *args)]),
                             (insert_sql(table, coarse_sql(temp, by, period, marks, dialect)),
                              [tuple(chunk)])]
                await db.execute_in_transaction([*lock, *steps])
            planned[table] = len(starts)
    finally:
        # Shielded: a cancelled refresh would otherwise leave the table for the session.
        with anyio.CancelScope(shield=True):
            try:
                await db.execute_in_transaction([(f"DROP TABLE IF EXISTS {temp}", [()])])
            except LoaderError as exc:  # the refresh's own error (if any) matters more
                log.warning("could not drop %s: %s", temp, exc)
    return planned


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
