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
:func:`touched_periods`, deletes those periods from a rollup table and re-inserts them
with the same rollup in SQL (``loaders.rollups``), which returns the rows
:meth:`DataAggregator.rollup` returns over the same records, in :data:`ROLLUP_FIELDS`
order. The columns are described here as ``(name, Python type)``; the loader turns them
into a table (``loaders.schema.rollups``), so no SQL is written in this module.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Iterable, Mapping
from typing import Any, Literal, get_args

By = Literal["campaign", "account", "platform"]
Period = Literal["day", "week", "month"]

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

#: A rollup column: its name and the Python type of its values (``None`` aside).
Field = tuple[str, type]

#: Rollup table -> the ``(by, period)`` it is computed with.
ROLLUP_GRAIN: dict[str, tuple[By, Period]] = {
    "rollup_campaign_daily": ("campaign", "day"),
    "rollup_account_daily": ("account", "day"),
    "rollup_account_weekly": ("account", "week"),
    "rollup_account_monthly": ("account", "month"),
    "rollup_platform_weekly": ("platform", "week"),
    "rollup_platform_monthly": ("platform", "month"),
}


def _fields(by: str) -> tuple[tuple[Field, ...], tuple[Field, ...]]:
    keys = tuple((k, str) for k in (*GROUP_KEYS[by], "period", "period_start"))
    counts: tuple[Field, ...] = (("row_count", int), ("ad_count", int))
    sums = tuple((f, int if is_int else float) for f, is_int in SUM_FIELDS)
    return (*keys, *counts), (*sums, *((r, float) for r in RATIOS))


#: Rollup table -> (columns never None, columns that may be None), together in result
#: order. Sums are None when no record reported the field (as SQL ``SUM`` gives NULL),
#: ratios when their denominator is 0 or unknown.
ROLLUP_FIELDS: dict[str, tuple[tuple[Field, ...], tuple[Field, ...]]] = {
    name: _fields(by) for name, (by, _) in ROLLUP_GRAIN.items()
}
#: Rollup table -> its key: the text key columns and ``period_start``.
ROLLUP_KEYS: dict[str, tuple[str, ...]] = {
    name: (*GROUP_KEYS[by], "period_start") for name, (by, _) in ROLLUP_GRAIN.items()
}


def check_grain(by: str, period: str) -> None:
    """ValueError unless ``by`` is a rollup level and ``period`` a period."""
    if by not in GROUP_KEYS:
        raise ValueError(f"unknown rollup level {by!r}; use one of {BY_LEVELS}")
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r}; use one of {PERIODS}")


def as_day(day: Any) -> _dt.date:
    """``day`` (a date or an ISO ``YYYY-MM-DD`` string) as a date; ValueError otherwise."""
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
    d = as_day(day)
    if period == "week":
        d -= _dt.timedelta(days=d.weekday())
    elif period == "month":
        d = d.replace(day=1)
    elif period != "day":
        raise ValueError(f"unknown period {period!r}; use one of {PERIODS}")
    return d.isoformat()


def period_end(start: str | _dt.date, period: Period) -> str:
    """The day after the period that begins on ``start`` (exclusive upper bound)."""
    d = as_day(start)
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
        check_grain(by, period)
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
        """The rows of one rollup table (a :data:`ROLLUP_GRAIN` name)."""
        by, period = ROLLUP_GRAIN[table]
        return self.rollup(records, by=by, period=period)
