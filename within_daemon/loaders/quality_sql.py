"""The quality check's facts about stored ad rows, computed by the database (issue 15).

The post-load quality check scored a month of one account's rows at a time by reading every
row back as a dict: on a long backfill that was most of the post-load time, and on many ads
most of the memory (161,000 dicts for one 7-day slice). :func:`slice_facts` asks the
database instead, with set-based SQL over the slice's days, for the
:class:`~within_daemon.transforms.quality.SliceFacts` the monitor scores:

* null counts per completeness field (creative fields only on ad-level rows), one scan;
* the days present (completeness) and the newest one (timeliness), from ``DISTINCT date``;
* no key seen twice (uniqueness): ``ad_data``'s primary key is the ad key;
* per day the sum of each drift field; a day whose SQL sum is not clearly within the
  tolerance of its account total is summed again exactly (``math.fsum`` of its values), so
  drift issues carry the same totals as the in-memory check;
* the records a per-record rule (accuracy, consistency, validity) might note: a ``WHERE``
  that is a superset of those rules, each with its index in the slice's key order from
  ``ROW_NUMBER()``. The monitor then walks only those with the same rule code as in memory,
  so issues, counts and examples are the same.

Date texts are checked in Python over their distinct values (a few per ad), and the bad
ones, if any, are named in the ``WHERE``. Anything this module cannot express exactly (a
completeness or key field that is not an ``ad_data`` column, a replaced rule, too many
odd date texts) returns ``None`` and the caller reads the rows as before. Both SQLite and
PostgreSQL; text order is code-point order on both (``COLLATE "C"``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from ..schema import AD_KEY
from ..transforms.quality import DataQualityMonitor
from ..transforms.quality_facts import (
    ACCURACY_SCHEMA,
    DIMENSIONS,
    DRIFT_FIELDS,
    SliceFacts,
    canonical_day,
    parse_day,
)
from ..transforms.validation import CTR_TOLERANCE
from .database import DatabaseLoader

#: What ``loaders.analytics.ad_rows`` selects: the records the monitor sees.
AD_ROW_COLUMNS: tuple[str, ...] = (
    "platform", "account_id", "ad_id", "campaign_id", "date", "impressions", "clicks", "spend",
    "conversions", "revenue", "currency", "status", "ctr", "start_date", "end_date",
    "headline", "ad_group_id")
_TEXT_COLUMNS = ("platform", "account_id", "ad_id", "campaign_id", "date", "currency",
                 "status", "start_date", "end_date", "headline", "ad_group_id")
_FLOAT_COLUMNS = ("spend", "conversions", "revenue", "ctr")
#: INTEGER columns: their SQL sums are exact.
_INT_FIELDS = frozenset({"impressions", "clicks"})
#: Creative fields are not expected on campaign-level rows (``schema.is_ad_level``).
_CAMPAIGN_ROW = "substr(ad_id, 1, 9) = 'campaign:'"
_CREATIVE = frozenset({"headline", "description", "cta", "image_url", "video_url",
                       "landing_page_url"})
#: More odd date texts than this in one slice: read the rows instead.
MAX_ODD_DAYS = 200
_FLOAT_MAX = 1.7e308


def supported(monitor: DataQualityMonitor, key_fields: Sequence[str]) -> bool:
    """Whether the SQL facts are exactly the in-memory ones for this monitor."""
    cols = set(AD_ROW_COLUMNS)
    # Key order (duplicates listed first-seen) is the slice's order only for the ad key.
    return (set(monitor.completeness_fields) <= cols and tuple(key_fields) == AD_KEY
            and set(ACCURACY_SCHEMA) <= cols and monitor.rules_are_stock())


async def slice_facts(
    db: DatabaseLoader, monitor: DataQualityMonitor, *, platform: str, account_id: str,
    days: Sequence[str], latest: date, dims: Sequence[str] = DIMENSIONS,
    key_fields: Sequence[str] = AD_KEY,
    sums: bool = True,
) -> SliceFacts | None:
    """The facts of ``account_id``'s ``ad_data`` rows on ``days`` (ISO), or None.

    ``latest`` is the latest local day (dates after it are in the future); ``sums`` asks
    for the per-day drift sums. None: not expressible here, read the rows instead.
    """
    if not supported(monitor, key_fields):
        return None
    pg = db.dialect.name == "postgresql"
    collate = ' COLLATE "C"' if pg else ""
    # The range lets the primary key's index bound the scan to the slice (PostgreSQL
    # otherwise walks the whole account's rows when its statistics predate them); the list
    # leaves out days in the range that the run did not load.
    where = ("platform = ? AND account_id = ? AND date >= ? AND date <= ? AND "
             f"date IN ({', '.join('?' * len(days))})")
    params: list[Any] = [platform, account_id, min(days), max(days), *days]
    frm = f" FROM ad_data WHERE {where}"

    # One scan, grouped by day: row counts, null counts and drift sums.
    fields = monitor.completeness_fields
    nulls = [f"SUM(CASE WHEN {f} IS NULL"
             + (f" AND NOT ({_CAMPAIGN_ROW} AND ad_id IS NOT NULL)" if f in _CREATIVE else "")
             + " THEN 1 ELSE 0 END)" for f in fields]
    drift = [x for f in DRIFT_FIELDS for x in (f"COUNT({f})", f"SUM({f})", f"SUM(ABS({f}))")
             ] if sums else []
    per_day = await _rows(db, ["date", "COUNT(*)", *nulls, *drift], frm + " GROUP BY date",
                          params)
    dated = [r[0] for r in per_day]
    facts = SliceFacts(sum(int(r[1]) for r in per_day))
    if "completeness" in dims:
        facts.nulls = {f: sum(int(r[2 + i] or 0) for r in per_day)
                       for i, f in enumerate(fields)}
        facts.seen = {(platform, account_id, d) for d in dated}
    if "timeliness" in dims and facts.n:
        parsed = [date.fromisoformat(d) for d in dated if canonical_day(d)]
        odd = [d for d in dated if not canonical_day(d)]
        facts.newest = {(platform, account_id): _newest(parsed, odd)}
    if "uniqueness" in dims:
        # ad_data's primary key is the ad key, its columns NOT NULL (schema.tables.
        # fact_table_ddl): stored rows cannot repeat a key, so every key is distinct.
        facts.repeated, facts.unique = [], facts.n
    if sums:
        sums_at = 2 + len(fields)
        facts.sums = await _sums(db, [(r[0], r[sums_at:]) for r in per_day], platform,
                                 account_id, days, monitor)
    if {"accuracy", "consistency", "validity"} & set(dims):
        counts = {r[0]: int(r[1]) for r in per_day}
        suspects = await _suspects(db, monitor, frm, params, counts, latest, pg, collate)
        if suspects is None:
            return None
        facts.suspects = suspects
    return facts


async def _rows(db: DatabaseLoader, exprs: Sequence[str], rest: str, params: Sequence[Any],
                *, distinct: bool = False) -> list[tuple[Any, ...]]:
    """Rows of ``SELECT exprs rest`` as tuples.

    Each expression gets an alias: PostgreSQL would name ``SUM(a), SUM(b)`` both ``sum``.
    """
    cols = ", ".join(f"{e} AS c{i}" for i, e in enumerate(exprs))
    got = await db.fetch_dicts(f"SELECT {'DISTINCT ' if distinct else ''}{cols}{rest}", params)
    return [tuple(r.values()) for r in got]


def _newest(parsed: list[date], odd: list[Any]) -> date | None:
    """The newest day, as the in-memory check finds it among texts that parse at all."""
    extra = [d for d in map(parse_day, odd) if d is not None]
    days = parsed + extra
    return max(days) if days else None


async def _sums(db: DatabaseLoader, per_day: list[tuple[Any, Sequence[Any]]], platform: str,
                account_id: str, days: Sequence[str], monitor: DataQualityMonitor
                ) -> dict[tuple[Any, Any, Any], dict[str, float | None]]:
    """Per day and drift field, the total of its values (None: no values).

    ``per_day`` holds (day, [count, sum, sum of absolute values] per drift field). Exact
    where it could matter (see the module docstring).
    """
    totals = {r["date"]: r for r in await db.fetch_dicts(
        "SELECT date, " + ", ".join(DRIFT_FIELDS.values())
        + " FROM account_data WHERE platform = ? AND account_id = ? AND date IN ("
        + ", ".join("?" * len(days)) + ")", [platform, account_id, *days])}
    out: dict[tuple[Any, Any, Any], dict[str, float | None]] = {}
    for day, agg in per_day:
        by_field: dict[str, float | None] = {}
        exact = False
        for k, (f, acct_field) in enumerate(DRIFT_FIELDS.items()):
            n, s, a = agg[3 * k:3 * k + 3]
            if not n:
                by_field[f] = None
                continue
            if f in _INT_FIELDS:
                # Exact in SQL (PostgreSQL: NUMERIC); math.fsum of the same ints rounds the
                # exact sum once, as float() does.
                by_field[f] = float(int(s))
                continue
            s, a = float(s), float(a)
            by_field[f] = s
            total = totals.get(day, {}).get(acct_field)
            if total.__class__ not in (int, float):
                continue  # not compared: the value is never shown
            # The SQL sum is within n * eps * sum(|v|) of the exact one: only a day that
            # is not clearly inside the tolerance can be reported or flip, so only those
            # are summed exactly.
            slack = 4 * int(n) * 2.3e-16 * a + 1e-12
            if not abs(s - total) <= monitor.drift_tolerance * abs(total) + 1e-9 - slack:
                exact = True
        if exact:
            vals = await db.fetch_dicts(
                "SELECT " + ", ".join(DRIFT_FIELDS) + " FROM ad_data WHERE platform = ? AND "
                "account_id = ? AND date = ?", [platform, account_id, day])
            for f in DRIFT_FIELDS:
                nums = [v[f] for v in vals if v[f].__class__ in (int, float)]
                by_field[f] = math.fsum(nums) if nums else None
        out[(platform, account_id, day)] = by_field
    return out


async def _suspects(db: DatabaseLoader, monitor: DataQualityMonitor, frm: str,
                    params: list[Any], day_counts: dict[Any, int], latest: date, pg: bool,
                    collate: str) -> dict[int, Mapping[str, Any]] | None:
    """The rows a per-record rule might note, by index in the slice's key order."""
    dated = list(day_counts)
    odd: dict[str, list[Any]] = {
        "date": [d for d in dated if not canonical_day(d)
                 or date.fromisoformat(d) > latest]}
    spans = await _rows(db, ["start_date", "end_date"], frm, params, distinct=True)
    for i, col in enumerate(("start_date", "end_date")):
        odd[col] = sorted({r[i] for r in spans if r[i] is not None and not canonical_day(r[i])})
    if sum(map(len, odd.values())) > MAX_ODD_DAYS:
        return None
    allowed = sorted(map(str, monitor.allowed_statuses))
    conds = [
        *(f"{c} < 0" for c in ("impressions", "clicks", "spend", "conversions", "revenue",
                               "ctr")),
        "ctr > 1", "clicks > impressions", "conversions > clicks",
        "(spend > 0 AND (impressions IS NULL OR impressions <= 0))",
        "currency IS NULL",
        "currency !~ '^[A-Z]{3}$'" if pg else "NOT (currency GLOB '[A-Z][A-Z][A-Z]')",
        f"(status IS NOT NULL AND status NOT IN ({', '.join('?' * len(allowed))}))",
        # Half the tolerance: the database divides in its own way; the rule decides.
        "(ctr IS NOT NULL AND clicks IS NOT NULL AND impressions IS NOT NULL AND "
        f"(impressions = 0 OR ABS(ctr - CAST(clicks AS {'DOUBLE PRECISION' if pg else 'REAL'})"
        f" / NULLIF(impressions, 0)) > {CTR_TOLERANCE / 2!r}))",
        "end_date < start_date",
        # Infinite (and, on PostgreSQL, NaN) floats fail the storability scan.
        *(f"ABS({c}) > {_FLOAT_MAX!r}" for c in _FLOAT_COLUMNS),
    ]
    if pg:
        conds += [f"{c} = 'NaN'::float8" for c in _FLOAT_COLUMNS]
    else:
        # SQLite text may hold a NUL character (PostgreSQL's may not); one search over
        # all of a row's text costs less than one per column.
        joined = " || ".join(f"COALESCE({c}, '')" for c in _TEXT_COLUMNS)
        conds.append(f"instr({joined}, char(0)) > 0")
    cond_params: list[Any] = list(allowed)
    for col, values in odd.items():
        if values:
            conds.append(f"{col} IN ({', '.join('?' * len(values))})")
            cond_params += values
    rows = await db.fetch_dicts(
        f"SELECT {', '.join(AD_ROW_COLUMNS)} {frm} AND ({' OR '.join(conds)})",
        params + cond_params)
    if not rows:
        return {}
    # Each suspect's index in the slice (key order: date, then ad_id, code-point order):
    # the rows of the days before its day, then its rank among its day's ads.
    offsets, before = {}, 0
    for d in sorted(day_counts):
        offsets[d] = before
        before += day_counts[d]
    out: dict[int, Mapping[str, Any]] = {}
    for day in sorted({r["date"] for r in rows}):
        ads = await _rows(db, ["ad_id"], " FROM ad_data WHERE platform = ? AND account_id = ? "
                          f"AND date = ? ORDER BY ad_id{collate}", [*params[:2], day])
        rank = {a[0]: i for i, a in enumerate(ads)}
        for r in rows:
            if r["date"] == day:
                out[offsets[day] + rank[r["ad_id"]]] = r
    return dict(sorted(out.items()))
