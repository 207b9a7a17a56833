"""Rollups of ad-day records by campaign, account or platform and by day, ISO week or month.

Pure functions over normalized ad-day dicts (see :mod:`within_daemon.schema`): counts and
money are summed, ratios are recomputed from the sums (a mean of per-ad CTRs weighs a
10-impression ad like a 10-million one) and are ``None`` when their denominator is 0 or
unknown. Currency is part of every key, so spend in different currencies is never added.
Text key columns are coalesced to ``""``: a ``NULL`` in a primary key never matches on
upsert and silently multiplies rows (the failure behind airbyte#38088), so the rollup
tables can declare their keys ``NOT NULL``. Float sums use :func:`math.fsum`, which is
exactly rounded and therefore independent of record order.

The incremental contract: the loader feeds the days a batch touched to
:func:`touched_periods`, deletes those periods from a rollup table and re-inserts the rows
of :func:`rollup_sql` (one ``SELECT`` over ``ad_data``, parameters from
:func:`rollup_params`); the result has the same rows as :meth:`DataAggregator.rollup` over
the same records, in :data:`ROLLUP_TABLES` column order.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any, Literal, get_args

By = Literal["campaign", "account", "platform"]
Period = Literal["day", "week", "month"]
Dialect = Literal["sqlite", "postgresql"]

BY_LEVELS: tuple[str, ...] = get_args(By)
PERIODS: tuple[str, ...] = get_args(Period)

#: Text key columns of each level, before ``period`` and ``period_start``.
GROUP_KEYS: dict[str, tuple[str, ...]] = {
    "campaign": ("platform", "account_id", "campaign_id", "currency"),
    "account": ("platform", "account_id", "currency"),
    "platform": ("platform", "currency"),
}
#: Summed record fields and whether their sum is an integer. Conversions are real numbers:
#: attribution credits fractions of a conversion (Google's data-driven attribution).
SUM_FIELDS: tuple[tuple[str, bool], ...] = (
    ("impressions", True), ("clicks", True), ("spend", False), ("conversions", False),
    ("revenue", False),
)
#: Derived ratios: name -> (numerator, denominator), both sums.
RATIOS: dict[str, tuple[str, str]] = {
    "ctr": ("clicks", "impressions"),
    "conversion_rate": ("conversions", "clicks"),
    "cpa": ("spend", "conversions"),
    "roas": ("revenue", "spend"),
}



def sum_sql(column: str, is_int: bool, dialect: Dialect) -> str:
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


def sum_columns(dialect: Dialect, prefix: str = "") -> dict[str, str]:
    """The ``SUM_FIELDS`` sums, by field, over columns ``prefix + field``."""
    return {f: sum_sql(prefix + f, is_int, dialect) for f, is_int in SUM_FIELDS}


def ratio_columns(sums: Mapping[str, str], dialect: Dialect) -> list[str]:
    """The ``RATIOS`` over those sums, NULL where the denominator is 0, in RATIOS order."""
    real = "DOUBLE PRECISION" if dialect == "postgresql" else "REAL"
    return [f"CASE WHEN {sums[den]} <> 0 THEN CAST({sums[num]} AS {real}) / {sums[den]} END"
            for num, den in RATIOS.values()]


#: Rollup table -> the ``(by, period)`` it is computed with.
ROLLUP_GRAIN: dict[str, tuple[By, Period]] = {
    "rollup_campaign_daily": ("campaign", "day"),
    "rollup_account_daily": ("account", "day"),
    "rollup_account_weekly": ("account", "week"),
    "rollup_account_monthly": ("account", "month"),
    "rollup_platform_weekly": ("platform", "week"),
    "rollup_platform_monthly": ("platform", "month"),
}


def _table(by: str) -> tuple[list[tuple[str, str]], tuple[str, ...]]:
    keys = GROUP_KEYS[by]
    cols = [(k, "TEXT NOT NULL") for k in (*keys, "period", "period_start")]
    cols += [("row_count", "INTEGER NOT NULL"), ("ad_count", "INTEGER NOT NULL")]
    cols += [(f, "INTEGER" if is_int else "REAL") for f, is_int in SUM_FIELDS]
    cols += [(r, "REAL") for r in RATIOS]
    return cols, (*keys, "period_start")


#: Rollup table -> (columns as ``(name, SQL type)`` in result order, primary key).
#: Sums are nullable (``NULL`` when no row reported the field, as SQL ``SUM`` does).
ROLLUP_TABLES: dict[str, tuple[list[tuple[str, str]], tuple[str, ...]]] = {
    name: _table(by) for name, (by, _) in ROLLUP_GRAIN.items()
}


def _check(by: str, period: str) -> None:
    if by not in GROUP_KEYS:
        raise ValueError(f"unknown rollup level {by!r}; use one of {BY_LEVELS}")
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r}; use one of {PERIODS}")


def _to_date(day: Any) -> _dt.date:
    if isinstance(day, _dt.datetime):
        raise ValueError(f"expected a day, got a datetime {day!r}")
    if isinstance(day, _dt.date):
        return day
    if isinstance(day, str) and len(day) == 10:
        try:
            return _dt.date.fromisoformat(day)
        except ValueError:
            pass
    raise ValueError(f"expected an ISO day YYYY-MM-DD, got {day!r}")


def period_start(day: str | _dt.date, period: Period) -> str:
    """First day of the period holding ``day``: the day, its ISO week's Monday, or the 1st."""
    d = _to_date(day)
    if period == "week":
        d -= _dt.timedelta(days=d.weekday())
    elif period == "month":
        d = d.replace(day=1)
    elif period != "day":
        raise ValueError(f"unknown period {period!r}; use one of {PERIODS}")
    return d.isoformat()


def period_end(start: str | _dt.date, period: Period) -> str:
    """The day after the period that begins on ``start`` (exclusive upper bound)."""
    d = _to_date(start)
    if period_start(d, period) != d.isoformat():
        raise ValueError(f"{d.isoformat()} does not start a {period}")
    if period == "day":
        d += _dt.timedelta(days=1)
    elif period == "week":
        d += _dt.timedelta(days=7)
    else:
        d = d.replace(year=d.year + 1, month=1) if d.month == 12 else d.replace(month=d.month + 1)
    return d.isoformat()


def touched_periods(days: Iterable[str | _dt.date], period: Period) -> set[str]:
    """The ``period_start`` of every period a set of written days falls in."""
    return {period_start(d, period) for d in days}


def _add(v: Any, out: list[Any], field: str, rec: Mapping[str, Any]) -> None:
    if v.__class__ is int or v.__class__ is float:
        out.append(v)
    elif v is not None:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise TypeError(
                f"{field} must be a number or None, got {v!r} "
                f"(ad_id={rec.get('ad_id')!r} date={rec.get('date')!r})"
            )
        out.append(v)


def _total(values: list[Any], is_int: bool) -> int | float | None:
    if not values:
        return None
    if is_int and all(v.__class__ is int for v in values):
        exact: int = sum(values)
        return exact
    return math.fsum(values)


def _ratio(num: int | float | None, den: int | float | None) -> float | None:
    if num is None or not den:
        return None
    return num / den


class DataAggregator:
    """Rolls ad-day records up to campaign, account or platform totals per period."""

    def rollup(
        self, records: Iterable[Mapping[str, Any]], *, by: By, period: Period
    ) -> list[dict[str, Any]]:
        """One row per key and period, sorted by key; see the module docstring for rules."""
        _check(by, period)
        keys = GROUP_KEYS[by]
        per_ad_account = by == "platform"  # ad ids are unique per account, not per platform
        starts: dict[Any, str] = {}
        groups: dict[tuple[str, ...], tuple[list[int], set[Any], list[list[Any]]]] = {}
        for rec in records:
            day: Any = rec.get("date")
            start = starts.get(day)
            if start is None:
                start = starts[day] = period_start(day, period)
            gk = (*("" if (v := rec.get(k)) is None else str(v) for k in keys), start)
            group = groups.get(gk)
            if group is None:
                group = groups[gk] = ([0], set(), [[] for _ in SUM_FIELDS])
            group[0][0] += 1
            ad_id = rec.get("ad_id")
            if ad_id is not None:
                acct = rec.get("account_id")
                group[1].add((acct or "", ad_id) if per_ad_account else ad_id)
            for (field, _), values in zip(SUM_FIELDS, group[2], strict=True):
                _add(rec.get(field), values, field, rec)
        rows = []
        for gk in sorted(groups):
            count, ads, values = groups[gk]
            row: dict[str, Any] = dict(zip(keys, gk, strict=False))
            row["period"] = period
            row["period_start"] = gk[-1]
            row["row_count"] = count[0]
            row["ad_count"] = len(ads)
            for (field, is_int), vals in zip(SUM_FIELDS, values, strict=True):
                row[field] = _total(vals, is_int)
            for name, (num, den) in RATIOS.items():
                row[name] = _ratio(row[num], row[den])
            rows.append(row)
        return rows

    def rollup_table(
        self, table: str, records: Iterable[Mapping[str, Any]]
    ) -> list[dict[str, Any]]:
        """The rows of one :data:`ROLLUP_TABLES` table."""
        by, period = ROLLUP_GRAIN[table]
        return self.rollup(records, by=by, period=period)


# --- the same rollup in SQL ---------------------------------------------------------------

DIALECTS: tuple[str, ...] = get_args(Dialect)


def period_start_sql(period: Period, dialect: Dialect = "sqlite", column: str = "a.date") -> str:
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


def rollup_sql(by: By, period: Period, dialect: Dialect = "sqlite", *,
               accounts: int = 0) -> str:
    """One ``SELECT`` over ``ad_data`` that returns :meth:`DataAggregator.rollup`'s rows.

    Columns come in :data:`ROLLUP_TABLES` order, rows in key order. It takes three ``?``
    parameters, made by :func:`rollup_params`: the first day, the exclusive last day and the
    set of period starts (a JSON array for SQLite's ``json_each``, a list for PostgreSQL's
    ``= ANY``). The day range lets an index on ``date`` narrow the scan. Both texts assume
    ``ad_data.date`` is ``TEXT`` in ISO form; the PostgreSQL one is meant for the loader's
    backend, which numbers the ``?`` markers. ``accounts > 0`` keeps one platform's rows of
    that many accounts: the platform and the account ids follow as parameters.
    """
    _check(by, period)
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
    period_starts: Iterable[str | _dt.date], period: Period, dialect: Dialect = "sqlite"
) -> tuple[Any, ...]:
    """Parameters of :func:`rollup_sql` for a set of period starts (each checked)."""
    starts = sorted({_to_date(s).isoformat() for s in period_starts})
    ends = [period_end(s, period) for s in starts]  # raises on a day that starts no period
    lo, hi = (starts[0], max(ends)) if starts else ("", "")
    return (lo, hi, starts if dialect == "postgresql" else json.dumps(starts))
