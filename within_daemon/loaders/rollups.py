"""The rollups in SQL: the statements that recompute ``transforms.aggregation``'s rows.

:func:`rollup_sql` is one ``SELECT`` over ``ad_data`` (parameters from
:func:`rollup_params`) that returns the rows :meth:`DataAggregator.rollup
<within_daemon.transforms.aggregation.DataAggregator.rollup>` returns over the same records,
in the column order of the rollup tables (``schema.rollups``); :func:`sum_sql` and
:func:`ratio_columns` are the pieces the refresh (``analytics.refresh_rollups``) reuses to
sum rollups into coarser ones. Below them, the statements the refresh runs: the inserts
into the rollup tables, the per-(ad, week, month) summary, the sums of campaign-day and
account rows into coarser tables and the lock. The grouping rules (keys, summed fields,
ratios, periods) are the transform's; this module only spells them for SQLite and
PostgreSQL. Nothing here touches a database.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, get_args

from ..transforms.aggregation import (
    GROUP_KEYS,
    PERIODS,
    RATIOS,
    SUM_FIELDS,
    By,
    Period,
    as_day,
    check_grain,
    period_end,
)
from .schema.rollups import ROLLUP_TABLES

#: The database a statement is written for (``DatabaseLoader.dialect.name``).
DialectName = Literal["sqlite", "postgresql"]
DIALECTS: tuple[str, ...] = get_args(DialectName)

def sum_sql(column: str, is_int: bool, dialect: DialectName) -> str:
    """``SUM(column)`` that gives the same total, of the same type, on both dialects.

    PostgreSQL sums a BIGINT into NUMERIC (cast back to BIGINT), and sums floats in
    NUMERIC too: exact, so the total does not depend on the order the rows are read in,
    which follows their physical places and moves with every upsert (a re-run would
    otherwise change a rollup in its last bit). SQLite reads in index order, stable already.
    """
    if dialect != "postgresql":
        return f"SUM({column})"
    if is_int:
        return f"CAST(SUM({column}) AS BIGINT)"
    return f"CAST(SUM(CAST({column} AS NUMERIC)) AS DOUBLE PRECISION)"


def sum_columns(dialect: DialectName, prefix: str = "") -> dict[str, str]:
    """The ``SUM_FIELDS`` sums, by field, over columns ``prefix + field``."""
    return {f: sum_sql(prefix + f, is_int, dialect) for f, is_int in SUM_FIELDS}


def ratio_columns(sums: Mapping[str, str], dialect: DialectName) -> list[str]:
    """The ``RATIOS`` over those sums, NULL where the denominator is 0, in RATIOS order."""
    real = "DOUBLE PRECISION" if dialect == "postgresql" else "REAL"
    return [f"CASE WHEN {sums[den]} <> 0 THEN CAST({sums[num]} AS {real}) / {sums[den]} END"
            for num, den in RATIOS.values()]





def period_start_sql(period: Period, dialect: DialectName = "sqlite",
                     column: str = "a.date") -> str:
    """SQL for :func:`period_start` of an ISO ``TEXT`` day column, as ISO ``TEXT``.

    Weeks start on Monday in both: SQLite's ``'weekday 0'`` moves forward to Sunday (or
    stays on one) and minus six days is that week's Monday; PostgreSQL's
    ``date_trunc('week', ...)`` is the ISO week's Monday. PostgreSQL computes on
    ``timestamp`` (without time zone), so the session's time zone cannot shift a day.
    """
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r}; use one of {PERIODS}")
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}; use one of {DIALECTS}")
    if period == "day":
        return column
    if dialect == "sqlite":
        return (f"date({column}, 'weekday 0', '-6 days')" if period == "week"
                else f"date({column}, 'start of month')")
    return f"to_char(date_trunc('{period}', CAST({column} AS timestamp)), 'YYYY-MM-DD')"


def rollup_sql(by: By, period: Period, dialect: DialectName = "sqlite", *,
               accounts: int = 0) -> str:
    """One ``SELECT`` over ``ad_data`` that returns :meth:`DataAggregator.rollup`'s rows.

    Columns come in ``schema.rollups.ROLLUP_TABLES`` order, rows in key order. It takes three
    ``?`` parameters, made by :func:`rollup_params`: the first day, the exclusive last day and the
    set of period starts (a JSON array for SQLite's ``json_each``, a list for PostgreSQL's
    ``= ANY``). The day range lets an index on ``date`` narrow the scan. Both texts assume
    ``ad_data.date`` is ``TEXT`` in ISO form; the PostgreSQL one is meant for the loader's
    backend, which numbers the ``?`` markers. ``accounts > 0`` keeps one platform's rows of
    that many accounts: the platform and the account ids follow as parameters.
    """
    check_grain(by, period)
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}; use one of {DIALECTS}")
    pg = dialect == "postgresql"
    # Key order is Python's (code points) in both: PostgreSQL would otherwise sort by the
    # database's collation, where "a-2" < "a_1" in most locales.
    collate = ' COLLATE "C"' if pg else ""
    keys = GROUP_KEYS[by]
    start = period_start_sql(period, dialect)
    ad = "a.ad_id"
    if by == "platform":  # a length prefix makes (account_id, ad_id) -> text one-to-one
        acct = "COALESCE(a.account_id, '')"
        ad = f"length({acct}) || ':' || {acct} || a.ad_id"

    sums = sum_columns(dialect, "a.")
    select = [f"COALESCE(a.{k}, ''){collate} AS {k}" for k in keys]
    select += [f"'{period}' AS period", f"{start} AS period_start"]
    select += ["COUNT(*) AS row_count", f"COUNT(DISTINCT {ad}) AS ad_count"]
    select += [f"{expr} AS {f}" for f, expr in sums.items()]
    select += [f"{expr} AS {name}"
               for name, expr in zip(RATIOS, ratio_columns(sums, dialect), strict=True)]
    in_set = "= ANY(?)" if pg else "IN (SELECT value FROM json_each(?))"
    groups = ", ".join(str(i) for i in range(1, len(keys) + 3))  # keys, period, period_start
    scope = (f" AND a.platform = ? AND a.account_id IN ({', '.join('?' * accounts)})"
             if accounts else "")
    return (
        "SELECT " + ",\n       ".join(select) + "\n"
        "FROM ad_data AS a\n"
        f"WHERE a.date >= ? AND a.date < ? AND {start} {in_set}{scope}\n"
        f"GROUP BY {groups}\n"
        f"ORDER BY {groups}"
    )


def rollup_params(
    period_starts: Iterable[str | _dt.date], period: Period, dialect: DialectName = "sqlite"
) -> tuple[Any, ...]:
    """Parameters of :func:`rollup_sql` for a set of period starts (each checked)."""
    starts = sorted({as_day(s).isoformat() for s in period_starts})
    ends = [period_end(s, period) for s in starts]  # raises on a day that starts no period
    lo, hi = (starts[0], max(ends)) if starts else ("", "")
    return (lo, hi, starts if dialect == "postgresql" else json.dumps(starts))


# --- the refresh's statements (``analytics.refresh_rollups`` runs them) ----------------------

#: Where temporary tables live: SQLite's ``temp`` database, PostgreSQL's session schema.
TEMP_SCHEMA: dict[DialectName, str] = {"sqlite": "temp", "postgresql": "pg_temp"}
#: Any constant: the advisory lock that serializes rollup chunks across processes.
ROLLUP_LOCK = 7236184202


def lock_steps(dialect: DialectName) -> list[tuple[str, Sequence[Sequence[Any]]]]:
    """The first step of every refresh transaction: PostgreSQL's rollup lock, or none."""
    # Several daemons may share one PostgreSQL database. Two refreshes of one period would
    # both delete it, then collide on its primary key when inserting; the transaction lock
    # makes the second wait and then replace the first's rows. SQLite's BEGIN IMMEDIATE
    # already lets one writer in at a time.
    if dialect != "postgresql":
        return []
    return [(f"SELECT pg_advisory_xact_lock({ROLLUP_LOCK})", [()])]


def insert_sql(table: str, select: str) -> str:
    """``INSERT INTO table (its columns) select``; the select returns them in that order."""
    cols = [c for c, _ in ROLLUP_TABLES[table][0]]
    return f"INSERT INTO {table} ({', '.join(cols)}) {select}"


def sums_and_ratios(dialect: DialectName) -> str:
    """Summed fields then ratios, in rollup column order (shared with :func:`rollup_sql`)."""
    sums = sum_columns(dialect)
    return ", ".join([*sums.values(), *ratio_columns(sums, dialect)])


def account_day_sql(marks: str, dialect: DialectName, where: str = "") -> str:
    """The account-day rows of the periods ``marks`` summed from the campaign-day table."""
    return (
        "SELECT platform, account_id, currency, 'day', period_start, "
        f"{sum_sql('row_count', True, dialect)}, {sum_sql('ad_count', True, dialect)}, "
        f"{sums_and_ratios(dialect)} FROM rollup_campaign_daily "
        f"WHERE period_start IN ({marks}){where} "
        "GROUP BY platform, account_id, currency, period_start"
    )


#: The per-(ad, week, month) summary the account weekly and monthly tables come from.
AD_PERIOD_DDL = (
    "CREATE TEMP TABLE {table} (platform TEXT, account_id TEXT, currency TEXT, "
    "ad_id TEXT, week_start TEXT, month_start TEXT, row_count INTEGER, impressions INTEGER, "
    "clicks INTEGER, spend REAL, conversions REAL, revenue REAL)"
)


def ad_period_fill_sql(table: str, dialect: DialectName, where: str = "") -> str:
    """Fill the :data:`AD_PERIOD_DDL` summary from ``ad_data`` over ``[?, ?)`` days."""
    week, month = (period_start_sql(p, dialect) for p in ("week", "month"))
    return (
        f"INSERT INTO {table} SELECT COALESCE(a.platform, ''), "
        "COALESCE(a.account_id, ''), COALESCE(a.currency, ''), a.ad_id, "
        f"{week}, {month}, COUNT(*), {', '.join(sum_columns(dialect).values())} "
        f"FROM ad_data AS a WHERE a.date >= ? AND a.date < ?{where} GROUP BY 1, 2, 3, 4, 5, 6"
    )


def platform_sql(period: str, marks: str, where: str, dialect: DialectName) -> str:
    """A platform table's periods summed from the account table of the same period."""
    source = "rollup_account_weekly" if period == "week" else "rollup_account_monthly"
    return (
        f"SELECT platform, currency, '{period}', period_start, "
        f"{sum_sql('row_count', True, dialect)}, {sum_sql('ad_count', True, dialect)}, "
        f"{sums_and_ratios(dialect)} FROM {source} "
        f"WHERE period_start IN ({marks}){where} GROUP BY platform, currency, period_start"
    )


def coarse_sql(temp: str, by: str, period: str, marks: str, dialect: DialectName) -> str:
    """An account table's periods from the per-(ad, week, month) summary."""
    assert by == "account"  # platform tables are summed from these (platform_sql)
    start = "week_start" if period == "week" else "month_start"
    keys = "platform, account_id, currency"
    return (
        f"SELECT {keys}, '{period}', {start}, {sum_sql('row_count', True, dialect)}, "
        f"COUNT(DISTINCT ad_id), {sums_and_ratios(dialect)} FROM {temp} "
        f"WHERE {start} IN ({marks}) "
        f"GROUP BY {keys}, {start}"
    )
