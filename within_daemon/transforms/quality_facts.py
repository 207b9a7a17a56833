"""The facts a quality report is scored from, and the rules' constants (pure, no I/O).

:class:`SliceFacts` is what the six dimensions need to know about a batch of ad-day records;
``transforms.quality.DataQualityMonitor`` gathers it from records in memory (with the
helpers here) and ``loaders.quality_sql`` by SQL where the rows are stored, and the monitor
scores either the same. The dimensions, thresholds and rule sets live here so both sides
read one definition.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from within_daemon.schema import AD_DATA_SCHEMA

DIMENSIONS: tuple[str, ...] = (
    "completeness", "accuracy", "consistency", "timeliness", "uniqueness", "validity",
)
DEFAULT_THRESHOLDS: dict[str, float] = {d: 0.99 if d == "uniqueness" else 0.95 for d in DIMENSIONS}
#: The ad schema's required fields plus the headline.
DEFAULT_COMPLETENESS_FIELDS: tuple[str, ...] = (
    *(f for f, spec in AD_DATA_SCHEMA.items() if spec.get("required")), "headline",
)
ALLOWED_STATUSES: tuple[str, ...] = tuple(AD_DATA_SCHEMA["status"]["allowed"])
#: Range rules checked for accuracy (types included: a string where a number belongs is
#: not a value in range).
ACCURACY_SCHEMA: dict[str, dict[str, Any]] = {
    **{f: {"type": "integer", "min": 0} for f in ("impressions", "clicks")},
    # Conversions are real numbers: attribution credits fractions (schema.py).
    **{f: {"type": "float", "min": 0} for f in ("spend", "revenue", "conversions")},
    "ctr": {"type": "float", "min": 0, "max": 1},
    **{f: {"type": "date"} for f in ("date", "start_date", "end_date")},
}
#: Relations between fields; negative spend is a range problem, conversions > clicks a
#: validity note (view-through conversions are real).
CONSISTENCY_RULES: tuple[str, ...] = (
    "clicks_le_impressions", "end_date_after_start", "ctr_consistent",
    "daily_clicks_le_impressions",
)
#: Ad-row field -> the account-row field it must add up to.
DRIFT_FIELDS: dict[str, str] = {
    "spend": "daily_spend", "impressions": "daily_impressions", "clicks": "daily_clicks",
    "conversions": "daily_conversions", "revenue": "daily_revenue",
}
#: Local days run up to 14 hours ahead of UTC (Line Islands), so "today" somewhere on
#: earth can be the next UTC day.
MAX_UTC_OFFSET = _dt.timedelta(hours=14)
#: A currency code as the validity rule wants it.
CURRENCY_RE = re.compile(r"[A-Z]{3}")

Account = tuple[Any, Any]
Records = Sequence[Mapping[str, Any]]
#: (platform, account_id, ISO day).
DayKey = tuple[Any, Any, Any]


@dataclass(slots=True)
class SliceFacts:
    """What the six dimensions need to know about a batch of ad-day records.

    Gathered in memory by :meth:`DataQualityMonitor.facts`, or by SQL over stored rows
    (``loaders.quality_sql``); :meth:`DataQualityMonitor.check_facts` scores either the same.
    """

    #: Number of records.
    n: int
    #: Per completeness field, the records where it is null (creative fields: ad-level only).
    nulls: dict[str, int] = dataclasses.field(default_factory=dict)
    #: (platform, account_id, ISO day) of every record (filled when days were expected).
    seen: set[DayKey] = dataclasses.field(default_factory=set)
    #: Per account with records, its newest parseable day (None: none parses).
    newest: dict[Account, _dt.date | None] = dataclasses.field(default_factory=dict)
    #: Keys that occur more than once, with their counts, in first-seen order.
    repeated: list[tuple[tuple[Any, ...], int]] = dataclasses.field(default_factory=list)
    #: Distinct keys.
    unique: int = 0
    #: Per day key, per drift field: the exact (``math.fsum``) total of its numeric values,
    #: or None when no record of that day has a number there.
    sums: dict[DayKey, dict[str, float | None]] = dataclasses.field(default_factory=dict)
    #: The records accuracy, consistency or validity may note, by their index in the batch
    #: (in index order); every other record passes all three.
    suspects: dict[int, Mapping[str, Any]] = dataclasses.field(default_factory=dict)


def latest_day(now: _dt.datetime | _dt.date) -> tuple[_dt.date, _dt.date]:
    """(today, the latest local day anywhere on earth) at ``now``."""
    if isinstance(now, _dt.datetime):
        utc = now.astimezone(_dt.UTC) if now.tzinfo else now
        return utc.date(), (utc + MAX_UTC_OFFSET).date()
    return now, now


def canonical_day(v: Any) -> bool:
    """Whether ``v`` is an ISO day as text (``YYYY-MM-DD``), the form the database holds."""
    d = parse_day(v)
    return d is not None and v.__class__ is str and d.isoformat() == v


def currency_ok(v: Any) -> bool:
    """Whether ``v`` is a 3-letter upper-case currency code (the validity rule)."""
    return v.__class__ is str and CURRENCY_RE.fullmatch(v) is not None


def parse_day(v: Any) -> _dt.date | None:
    """``v`` as a day when it is one (ISO text of 10 characters, or a ``date``), else None."""
    if v.__class__ is str and len(v) == 10:
        try:
            return _dt.date.fromisoformat(v)
        except ValueError:
            return None
    if isinstance(v, _dt.date) and not isinstance(v, _dt.datetime):
        return v
    return None


def newest_days(records: Records) -> dict[Account, _dt.date | None]:
    """Per account, its newest parseable day (None when none of its days parses)."""
    newest: dict[Account, _dt.date | None] = {}
    parsed: dict[Any, _dt.date | None] = {}
    for rec in records:
        acct = (rec.get("platform"), rec.get("account_id"))
        day = rec.get("date")
        d = parsed[day] if day in parsed else parsed.setdefault(day, parse_day(day))
        if d is None:
            newest.setdefault(acct, None)
            continue
        old = newest.get(acct)
        if old is None or d > old:
            newest[acct] = d
    return newest


def repeated_keys(records: Records, key_fields: tuple[str, ...]
             ) -> tuple[list[tuple[tuple[Any, ...], int]], int]:
    """Keys seen more than once with their counts (first-seen order), and distinct keys."""
    counts: dict[tuple[Any, ...], int] = {}
    for rec in records:
        k = tuple(map(rec.get, key_fields))
        counts[k] = counts.get(k, 0) + 1
    return [(k, c) for k, c in counts.items() if c > 1], len(counts)


def iso_day(v: Any) -> Any:
    return v.isoformat() if isinstance(v, _dt.date) else v


def drift_values(records: Records) -> dict[tuple[Any, Any, Any], dict[str, list[Any]]]:
    """Numeric values of the drift fields per (platform, account_id, day)."""
    sums: dict[tuple[Any, Any, Any], dict[str, list[Any]]] = {}
    for rec in records:
        key = (rec.get("platform"), rec.get("account_id"), iso_day(rec.get("date")))
        acc = sums.get(key)
        if acc is None:
            acc = sums[key] = {f: [] for f in DRIFT_FIELDS}
        for f in DRIFT_FIELDS:
            v = rec.get(f)
            if v.__class__ is int or v.__class__ is float:  # a number, not a bool
                acc[f].append(v)
    return sums
