"""The quality check's facts about stored ad rows, computed by the database (issue 15).

The post-load quality check scored a month of one account's rows at a time by reading every
row back as a dict: on a long backfill that was most of the post-load time, and on many ads
most of the memory (161,000 dicts for one 7-day slice). :func:`slice_facts` asks the
database instead, with set-based SQL over the slice's days, for the
:class:`~within_daemon.transforms.quality.SliceFacts` the monitor scores:

* null counts per completeness field (creative fields only on ad-level rows), one scan;
* the days present (completeness) and the newest one (timeliness), from ``DISTINCT date``;
* keys seen more than once (uniqueness), with ``GROUP BY ... HAVING COUNT(*) > 1``;
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
from ..transforms.quality import (
    ACCURACY_SCHEMA,
    DIMENSIONS,
    DRIFT_FIELDS,
    DataQualityMonitor,
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
    where = f"platform = ? AND account_id = ? AND date IN ({', '.join('?' * len(days))})"
    params: list[Any] = [platform, account_id, *days]
    frm = f" FROM ad_data WHERE {where}"

    fields = monitor.completeness_fields
    counts = [f"SUM(CASE WHEN {f} IS NULL"
              + (f" AND NOT ({_CAMPAIGN_ROW} AND ad_id IS NOT NULL)" if f in _CREATIVE else "")
              + " THEN 1 ELSE 0 END)" for f in fields]
    [head] = await db.fetch_dicts(
        "SELECT COUNT(*) AS n" + "".join(f", {c} AS c{i}" for i, c in enumerate(counts))
        + frm, params)
    facts = SliceFacts(int(head["n"]))
    if "completeness" in dims:
        facts.nulls = {f: int(head[f"c{i}"] or 0) for i, f in enumerate(fields)}

    dated = await _distinct(db, "date", frm, params)
    if "completeness" in dims:
        facts.seen = {(platform, account_id, d) for d in dated}
    if "timeliness" in dims and facts.n:
        parsed = [date.fromisoformat(d) for d in dated if canonical_day(d)]
        odd = [d for d in dated if not canonical_day(d)]
        facts.newest = {(platform, account_id): _newest(parsed, odd)}
    if "uniqueness" in dims:
        keys = ", ".join(key_fields)
        rows = await db.fetch_dicts(
            f"SELECT {keys}, COUNT(*) AS n_ {frm} GROUP BY {keys} HAVING COUNT(*) > 1"
            " ORDER BY " + ", ".join(f"{c}{collate}" for c in
                                     ("platform", "account_id", "date", "ad_id")), params)
        facts.repeated = [(tuple(r[k] for k in key_fields), int(r["n_"])) for r in rows]
        facts.unique = facts.n - sum(c - 1 for _, c in facts.repeated)
    if sums:
        facts.sums = await _sums(db, frm, params, platform, account_id, monitor)
    if {"accuracy", "consistency", "validity"} & set(dims):
        suspects = await _suspects(db, monitor, frm, params, dated, latest, pg, collate)
        if suspects is None:
            return None
        facts.suspects = suspects
    return facts


async def _distinct(db: DatabaseLoader, col: str, frm: str, params: list[Any]) -> list[Any]:
    rows = await db.fetch_dicts(f"SELECT DISTINCT {col} AS v {frm}", params)
    return [r["v"] for r in rows]


def _newest(parsed: list[date], odd: list[Any]) -> date | None:
    """The newest day, as the in-memory check finds it among texts that parse at all."""
    extra = [d for d in map(parse_day, odd) if d is not None]
    days = parsed + extra
    return max(days) if days else None


async def _sums(db: DatabaseLoader, frm: str, params: list[Any], platform: str,
                account_id: str, monitor: DataQualityMonitor
                ) -> dict[tuple[Any, Any, Any], dict[str, float | None]]:
    """Per day and drift field, the total of its values (None: no values).

    Exact where it could matter (see the module docstring).
    """
    cols = "".join(f", COUNT({f}) AS n_{f}, SUM({f}) AS s_{f}, SUM(ABS({f})) AS a_{f}"
                   for f in DRIFT_FIELDS)
    rows = await db.fetch_dicts(f"SELECT date{cols} {frm} GROUP BY date", params)
    totals = {r["date"]: r for r in await db.fetch_dicts(
        "SELECT date, " + ", ".join(DRIFT_FIELDS.values())
        + " FROM account_data WHERE platform = ? AND account_id = ? AND date IN ("
        + ", ".join("?" * (len(params) - 2)) + ")", params)}
    out: dict[tuple[Any, Any, Any], dict[str, float | None]] = {}
    for r in rows:
        day = r["date"]
        by_field: dict[str, float | None] = {}
        exact = False
        for f, acct_field in DRIFT_FIELDS.items():
            n = int(r[f"n_{f}"])
            if not n:
                by_field[f] = None
                continue
            s, a = r[f"s_{f}"], r[f"a_{f}"]
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
            slack = 4 * n * 2.3e-16 * a + 1e-12
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
                    params: list[Any], dated: list[Any], latest: date, pg: bool,
                    collate: str) -> dict[int, Mapping[str, Any]] | None:
    """The rows a per-record rule might note, by index in the slice's key order."""
    odd: dict[str, list[Any]] = {
        "date": [d for d in dated if not canonical_day(d)
                 or date.fromisoformat(d) > latest]}
    for col in ("start_date", "end_date"):
        odd[col] = [d for d in await _distinct(db, col, frm, params)
                    if d is not None and not canonical_day(d)]
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
        # SQLite text may hold a NUL character (PostgreSQL's may not).
        conds += [f"instr({c}, char(0)) > 0" for c in _TEXT_COLUMNS]
    cond_params: list[Any] = list(allowed)
    for col, values in odd.items():
        if values:
            conds.append(f"{col} IN ({', '.join('?' * len(values))})")
            cond_params += values
    order = ", ".join(f"{c}{collate}" for c in ("platform", "account_id", "date", "ad_id"))
    cols = ", ".join(AD_ROW_COLUMNS)
    rows = await db.fetch_dicts(
        f"SELECT * FROM (SELECT {cols}, ROW_NUMBER() OVER (ORDER BY {order}) - 1 AS idx_ "
        f"{frm}) AS s WHERE " + " OR ".join(conds) + " ORDER BY idx_", params + cond_params)
    out: dict[int, Mapping[str, Any]] = {}
    for r in rows:
        out[int(r.pop("idx_"))] = r
    return out
