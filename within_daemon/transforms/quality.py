"""Data quality report over a batch of normalized ad-day records (pure, no I/O).

``DataQualityMonitor().check_quality(data, metrics=[...])`` scores the seed's six
dimensions from 0 to 1 and lists issues in the seed's shape (``type``, ``field``,
``description``) plus ``severity`` (``error`` | ``warning`` | ``info``) and ``count``:

* completeness: the worse of the share of non-null cells in the watched fields and the
  share of expected account-days (``expected_days``, from the ledger) that have rows;
* accuracy: share of records whose numbers are in range (counts and money >= 0, ctr in
  0..1) and whose dates parse, with ``date`` not after the latest local day at ``now``;
* consistency: the worse of the share of records passing the validator's cross-field rules
  and the share of account-days whose ad-row sums match ``account_totals`` (the platform's
  own account rows) within a relative tolerance;
* timeliness: mean over accounts of 1 for a newest day at most 1 day old, down to 0 at
  ``max_age_days`` (an expected account without data scores 0). Age is counted from
  ``as_of`` (default: the day of ``now``); a backfill of older days passes the day after
  the last one it asked for, so it is judged on reaching its own window, not on the clock;
* uniqueness: distinct keys / records (duplicates would collapse on upsert);
* validity: share of records obeying business rules (status allowed, currency a 3-letter
  upper-case code, spend only with impressions); conversions > clicks is info only.

Empty batches score 1 wherever nothing was expected. Range and cross-field checks reuse
:class:`~within_daemon.transforms.validation.DataValidator` and its rule functions. The
report is a function of its arguments; only ``now=None`` reads the clock.
:meth:`DataQualityMonitor.combine` merges the reports of consecutive slices of one run
(a long backfill is checked a month at a time) into one, weighting scores by records.
See ``docs/quality.md`` for the thresholds and an example of each issue kind.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeGuard

from within_daemon.schema import AD_DATA_SCHEMA, AD_KEY, is_ad_level
from within_daemon.transforms.validation import CROSS_FIELD_RULES, DataValidator, record_key

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
_CURRENCY = re.compile(r"[A-Z]{3}")
_ABS_EPS = 1e-9
#: Creative fields: not applicable to campaign-level rows (``schema.is_ad_level``).
_CREATIVE_FIELDS = frozenset({"headline", "description", "cta", "image_url", "video_url",
                              "landing_page_url"})

Account = tuple[Any, Any]
Records = list[Mapping[str, Any]]
#: What each dimension returns: score, issues, details.
Result = tuple[float, list[dict[str, Any]], dict[str, Any]]


def _day(v: Any) -> _dt.date | None:
    if v.__class__ is str and len(v) == 10:
        try:
            return _dt.date.fromisoformat(v)
        except ValueError:
            return None
    if isinstance(v, _dt.date) and not isinstance(v, _dt.datetime):
        return v
    return None


def _num(v: Any) -> TypeGuard[float]:
    return v.__class__ is int or v.__class__ is float


def _by_account(item: tuple[Account, Any]) -> str:
    return str(item[0])  # str, not the tuple: ids may be None or mixed types


def _share(good: int, total: int) -> float:
    return good / total if total else 1.0


def _issue(dim: str, field: str | None, severity: str, count: int, description: str,
           **extra: Any) -> dict[str, Any]:
    return {"type": dim, "field": field, "description": description, "severity": severity,
            "count": count, **extra}


class _Grouped:
    """Record-level problems grouped by (field, rule): a count and the first few examples."""

    def __init__(self, dim: str, examples: int) -> None:
        self.dim, self.max_examples = dim, examples
        self.groups: dict[tuple[str | None, str], dict[str, Any]] = {}

    def add(self, field: str | None, rule: str, severity: str, rec: Mapping[str, Any],
            index: int, message: str) -> None:
        g = self.groups.get((field, rule))
        if g is None:
            g = self.groups[(field, rule)] = _issue(self.dim, field, severity, 0, message,
                                                    rule=rule, examples=[])
        g["count"] += 1
        if len(g["examples"]) < self.max_examples:
            g["examples"].append({"index": index, "key": record_key(rec), "message": message})

    def issues(self) -> list[dict[str, Any]]:
        for g in self.groups.values():
            first = g["examples"][0]
            more = f" (and {g['count'] - 1} more)" if g["count"] > 1 else ""
            g["description"] = f"{g['rule']}: {first['key']}: {first['message']}{more}"
        return list(self.groups.values())


class DataQualityMonitor:
    """Scores a batch on the six quality dimensions and lists what pulled each score down."""

    def __init__(
        self,
        thresholds: Mapping[str, float] | None = None,
        *,
        completeness_fields: Sequence[str] = DEFAULT_COMPLETENESS_FIELDS,
        drift_tolerance: float = 0.01,
        max_age_days: float = 7.0,
        allowed_statuses: Iterable[str] = ALLOWED_STATUSES,
        max_examples: int = 5,
    ) -> None:
        merged = dict(DEFAULT_THRESHOLDS)
        for dim, value in (thresholds or {}).items():
            if dim not in DEFAULT_THRESHOLDS:
                raise ValueError(f"unknown quality dimension {dim!r}; use one of {DIMENSIONS}")
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"threshold for {dim} must be within 0..1, got {value!r}")
            merged[dim] = float(value)
        if drift_tolerance < 0:
            raise ValueError(f"drift_tolerance must be >= 0, got {drift_tolerance!r}")
        if max_age_days <= 1:
            raise ValueError(f"max_age_days must be > 1, got {max_age_days!r}")
        self.thresholds = merged
        self.completeness_fields = tuple(completeness_fields)
        self.drift_tolerance = drift_tolerance
        self.max_age_days = max_age_days
        self.max_examples = max_examples
        self._accuracy = DataValidator(ACCURACY_SCHEMA, cross_field_rules=())
        self._consistency = [(r, CROSS_FIELD_RULES[r]) for r in CONSISTENCY_RULES]
        self._status = DataValidator(
            {"status": {"type": "string", "allowed": list(allowed_statuses)}},
            cross_field_rules=(),
        )
        self._conversions_le_clicks = CROSS_FIELD_RULES["conversions_le_clicks"]
        # One compiled check for what accuracy, consistency and validity look at per record:
        # True only when none of the three would note anything about it (see _suspects).
        self._row_clean = DataValidator(
            {**ACCURACY_SCHEMA, "status": self._status.schema["status"]},
            cross_field_rules=(*CONSISTENCY_RULES, "conversions_le_clicks"),
        ).clean_check()

    def check_quality(
        self,
        data: Iterable[Mapping[str, Any]] | Mapping[str, Any],
        metrics: Iterable[str] | None = None,
        *,
        expected_days: Mapping[Account, Iterable[str | _dt.date]] | None = None,
        account_totals: Iterable[Mapping[str, Any]] | None = None,
        now: _dt.datetime | _dt.date | None = None,
        key_fields: Sequence[str] = AD_KEY,
        as_of: _dt.date | None = None,
    ) -> dict[str, Any]:
        """Report ``{issues, scores, passed, record_count, details}`` for ``metrics``.

        ``as_of`` is the day data ages from for timeliness (default: today at ``now``).
        """
        dims = DIMENSIONS if metrics is None else tuple(dict.fromkeys(metrics))
        unknown = [d for d in dims if d not in DEFAULT_THRESHOLDS]
        if unknown:
            raise ValueError(f"unknown quality metric(s) {unknown}; use {DIMENSIONS}")
        records = [data] if isinstance(data, Mapping) else list(data)
        for i, rec in enumerate(records):
            if not isinstance(rec, Mapping):
                raise TypeError(f"record {i} is not a mapping: {type(rec).__name__}")
        if now is None:
            now = _dt.datetime.now(_dt.UTC)
        if isinstance(now, _dt.datetime):
            utc = now.astimezone(_dt.UTC) if now.tzinfo else now
            today, latest = utc.date(), (utc + MAX_UTC_OFFSET).date()
        else:
            today = latest = now
        expected = {acct: {d if isinstance(d, str) else d.isoformat() for d in days}
                    for acct, days in (expected_days or {}).items()}
        report: dict[str, Any] = {"issues": [], "scores": {}, "passed": {},
                                  "record_count": len(records), "details": {}}
        suspects = self._suspects(records, latest) if {
            "accuracy", "consistency", "validity"} & set(dims) else []
        checks: dict[str, Callable[[], Result]] = {
            "completeness": lambda: self._completeness(records, expected),
            "accuracy": lambda: self._accuracy_check(records, latest, suspects),
            "consistency": lambda: self._consistency_check(records, account_totals, suspects),
            "timeliness": lambda: self._timeliness(records, expected, as_of or today),
            "uniqueness": lambda: self._uniqueness(records, tuple(key_fields)),
            "validity": lambda: self._validity(records, suspects),
        }
        for dim in dims:
            score, issues, details = checks[dim]()
            report["issues"].extend(issues)
            report["scores"][dim] = score
            report["passed"][dim] = score >= self.thresholds[dim]
            report["details"][dim] = details
        return report

    def combine(self, reports: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """One report from the reports of consecutive slices of a run's data.

        A dimension's score is the record-weighted mean over the slices that scored it (an
        empty slice weighs 1); issues are concatenated; details keep one entry per slice.
        """
        if len(reports) == 1:
            return dict(reports[0])
        out: dict[str, Any] = {"issues": [], "scores": {}, "passed": {},
                               "record_count": sum(r["record_count"] for r in reports),
                               "details": {}}
        sums: dict[str, list[float]] = {}
        for r in reports:
            w = float(max(r["record_count"], 1))
            out["issues"].extend(r["issues"])
            for dim, score in r["scores"].items():
                acc = sums.setdefault(dim, [0.0, 0.0])
                acc[0] += w * score
                acc[1] += w
                out["details"].setdefault(dim, {"slices": []})["slices"].append(
                    r["details"][dim])
        for dim in DIMENSIONS:
            if dim in sums:
                total, weight = sums[dim]
                out["scores"][dim] = total / weight
                out["passed"][dim] = out["scores"][dim] >= self.thresholds[dim]
        return out

    # --- dimensions: each returns (score, issues, details) -------------------------------

    def _suspects(self, records: Records, latest: _dt.date) -> list[int]:
        """Indexes of the records accuracy, consistency or validity may note, in order.

        The others pass all three (the compiled check of their combined rules, a currency
        code, no spend without impressions, a date not in the future), so those dimensions
        walk only these records: the same issues, examples and counts, in the same order.
        """
        clean, currency = self._row_clean, _CURRENCY.fullmatch
        future: dict[Any, bool] = {}
        out: list[int] = []
        for i, rec in enumerate(records):
            if rec.__class__ is dict and clean(rec):
                get = rec.get
                cur, spend = get("currency"), get("spend")
                day = get("date")
                is_future = future.get(day)
                if is_future is None:
                    parsed = _day(day)
                    is_future = future[day] = parsed is not None and parsed > latest
                if not is_future and cur.__class__ is str and currency(cur) and not (
                        _num(spend) and spend > 0 and not (
                            _num(imps := get("impressions")) and imps > 0)):
                    continue
            out.append(i)
        return out

    def _completeness(self, records: Records, expected: dict[Account, set[str]]) -> Result:
        n, fields = len(records), self.completeness_fields
        nulls = dict.fromkeys(fields, 0)
        seen: set[tuple[Any, Any, Any]] = set()
        # A campaign-level row (Google Performance Max) has no creative: no gap there.
        creative = [f for f in fields if f in _CREATIVE_FIELDS]
        for rec in records:
            get = rec.get
            if None in tuple(map(get, fields)):  # one C-level pass; most rows have no gap
                for f in fields:
                    if get(f) is None:
                        nulls[f] += 1
            if creative and not is_ad_level(get("ad_id")):
                for f in creative:
                    nulls[f] -= get(f) is None
            if expected:
                seen.add((get("platform"), get("account_id"), _iso(get("date"))))
        issues = []
        if n == 0:
            issues.append(_issue("completeness", None, "info", 0, "batch is empty"))
        for f, k in nulls.items():
            if k:
                issues.append(_issue(
                    "completeness", f, "error" if k == n else "warning", k,
                    f"{f} is null in {k} of {n} records ({k / n:.1%})"))
        n_expected = missing = 0
        for (platform, account_id), days in sorted(expected.items(), key=_by_account):
            n_expected += len(days)
            for day in sorted(days):
                if (platform, account_id, day) not in seen:
                    missing += 1
                    issues.append(_issue(
                        "completeness", "date", "error", 1,
                        f"no records for {platform}/{account_id} on {day}",
                        platform=platform, account_id=account_id, day=day))
        cells = n * len(fields)
        field_share = _share(cells - sum(nulls.values()), cells)
        day_share = _share(n_expected - missing, n_expected)
        details = {"field_share": field_share, "day_share": day_share, "nulls": nulls,
                   "expected_days": n_expected, "missing_days": missing}
        return min(field_share, day_share), issues, details

    def _accuracy_check(self, records: Records, latest: _dt.date,
                        suspects: Sequence[int] | None = None) -> Result:
        grouped = _Grouped("accuracy", self.max_examples)
        future: dict[Any, bool] = {}
        bad = 0
        for i in range(len(records)) if suspects is None else suspects:
            rec = records[i]
            errors = self._accuracy.record_errors(rec, i)
            for e in errors:
                grouped.add(e["field"], "range", "error", rec, i, e["message"])
            day = rec.get("date")
            is_future = future.get(day)
            if is_future is None:
                parsed = _day(day)
                is_future = future[day] = parsed is not None and parsed > latest
            if is_future:
                grouped.add("date", "future", "error", rec, i,
                            f"date {day} is after the latest local day {latest}")
            bad += bool(errors) or is_future
        return _share(len(records) - bad, len(records)), grouped.issues(), {"bad_records": bad}

    def _consistency_check(
        self, records: Records, account_totals: Iterable[Mapping[str, Any]] | None,
        suspects: Sequence[int] | None = None,
    ) -> Result:
        grouped = _Grouped("consistency", self.max_examples)
        bad = 0
        for i in range(len(records)) if suspects is None else suspects:
            rec = records[i]
            failed = False
            for name, rule in self._consistency:
                found = rule(rec)
                if found is not None:
                    grouped.add(found[0], name, "error", rec, i, found[1])
                    failed = True
            bad += failed
        issues = grouped.issues()
        record_share = _share(len(records) - bad, len(records))
        compared = drifted = 0
        if account_totals is not None:
            sums = _ad_sums(records)
            for acct in account_totals:
                key = (acct.get("platform"), acct.get("account_id"), _iso(acct.get("date")))
                drift = self._drift(key, sums.get(key), acct)
                compared += drift is not None
                drifted += bool(drift)
                issues.extend(drift or ())
        day_share = _share(compared - drifted, compared)
        details = {"record_share": record_share, "account_day_share": day_share,
                   "account_days_compared": compared, "account_days_drifted": drifted}
        return min(record_share, day_share), issues, details

    def _drift(self, key: tuple[Any, Any, Any], ad: dict[str, list[Any]] | None,
               acct: Mapping[str, Any]) -> list[dict[str, Any]] | None:
        """Drift issues of one account-day, or None when no field could be compared."""
        platform, account_id, day = key
        issues: list[dict[str, Any]] | None = None
        for field, acct_field in DRIFT_FIELDS.items():
            total = acct.get(acct_field)
            values = [] if ad is None else ad[field]
            if not _num(total) or (ad is not None and not values):
                continue  # one side does not report this field: nothing to compare
            issues = issues or []
            ad_total = math.fsum(values)
            diff = abs(ad_total - total)
            if diff <= self.drift_tolerance * abs(total) + _ABS_EPS:
                continue
            rel = diff / abs(total) if total else math.inf
            issues.append(_issue(
                "consistency", field, "error", 1,
                f"{platform}/{account_id} {day} {field}: ad rows sum to {ad_total:g}, "
                f"account total is {total:g} ({rel:.2%} drift > {self.drift_tolerance:.2%})",
                rule="account_totals", platform=platform, account_id=account_id, day=day,
                ad_total=ad_total, account_total=total, relative_drift=rel))
        return issues

    def _timeliness(
        self, records: Records, expected: dict[Account, set[str]], today: _dt.date
    ) -> Result:
        newest: dict[Account, _dt.date | None] = dict.fromkeys(expected)
        parsed: dict[Any, _dt.date | None] = {}
        for rec in records:
            acct = (rec.get("platform"), rec.get("account_id"))
            day = rec.get("date")
            d = parsed[day] if day in parsed else parsed.setdefault(day, _day(day))
            if d is None:
                newest.setdefault(acct, None)
                continue
            old = newest.get(acct)
            if old is None or d > old:
                newest[acct] = d
        max_age = self.max_age_days
        issues, total = [], 0.0
        ages: dict[str, int | None] = {}
        for (platform, account_id), d in sorted(newest.items(), key=_by_account):
            age = None if d is None else (today - d).days
            ages[f"{platform}/{account_id}"] = age
            # 1 up to 1 day old, 0 from max_age on, linear in between
            score = 0.0 if age is None else min(1.0, max(0.0, (max_age - age) / (max_age - 1)))
            total += score
            if score < 1.0:
                what = "has no dated records" if d is None else f"newest day {d} is {age} days old"
                issues.append(_issue(
                    "timeliness", "date", "error" if score == 0 else "warning", 1,
                    f"{platform}/{account_id} {what} (stale at {max_age:g})",
                    platform=platform, account_id=account_id,
                    newest_day=None if d is None else d.isoformat(), age_days=age))
        return (total / len(newest) if newest else 1.0), issues, {"age_days": ages}

    def _uniqueness(self, records: Records, key_fields: tuple[str, ...]) -> Result:
        counts: dict[tuple[Any, ...], int] = {}
        for rec in records:
            k = tuple(map(rec.get, key_fields))
            counts[k] = counts.get(k, 0) + 1
        n, unique = len(records), len(counts)
        issues = []
        repeated = [(k, c) for k, c in counts.items() if c > 1]  # first-seen order
        if repeated:
            shown = ", ".join(f"{'/'.join(map(str, k))} x{c}" for k, c in repeated[:3])
            issues.append(_issue(
                "uniqueness", ",".join(key_fields), "error", n - unique,
                f"{n - unique} rows repeat {len(repeated)} key(s) of ({', '.join(key_fields)}) "
                f"and would collapse on upsert, e.g. {shown}",
                duplicated_keys=len(repeated),
                examples=[dict(zip(key_fields, k, strict=True)) | {"rows": c}
                          for k, c in repeated[: self.max_examples]]))
        return _share(unique, n), issues, {"unique_keys": unique, "duplicate_rows": n - unique}

    def _validity(self, records: Records, suspects: Sequence[int] | None = None) -> Result:
        grouped = _Grouped("validity", self.max_examples)
        bad = 0
        for i in range(len(records)) if suspects is None else suspects:
            rec = records[i]
            failed = False
            for e in self._status.record_errors(rec, i):
                grouped.add("status", "allowed_status", "error", rec, i, e["message"])
                failed = True
            cur = rec.get("currency")
            if not (cur.__class__ is str and _CURRENCY.fullmatch(cur)):
                grouped.add("currency", "currency_code", "error", rec, i,
                            f"currency {cur!r} is not a 3-letter upper-case code")
                failed = True
            spend, imps = rec.get("spend"), rec.get("impressions")
            if _num(spend) and spend > 0 and not (_num(imps) and imps > 0):
                grouped.add("spend", "spend_without_impressions", "warning", rec, i,
                            f"spend {spend} with impressions {imps}")
                failed = True
            note = self._conversions_le_clicks(rec)
            if note is not None:  # info only: view-through conversions exceed clicks
                grouped.add("conversions", "conversions_le_clicks", "info", rec, i, note[1])
            bad += failed
        return _share(len(records) - bad, len(records)), grouped.issues(), {"bad_records": bad}


def _iso(v: Any) -> Any:
    return v.isoformat() if isinstance(v, _dt.date) else v


def _ad_sums(records: Records) -> dict[tuple[Any, Any, Any], dict[str, list[Any]]]:
    """Numeric values of the drift fields per (platform, account_id, day)."""
    sums: dict[tuple[Any, Any, Any], dict[str, list[Any]]] = {}
    for rec in records:
        key = (rec.get("platform"), rec.get("account_id"), _iso(rec.get("date")))
        acc = sums.get(key)
        if acc is None:
            acc = sums[key] = {f: [] for f in DRIFT_FIELDS}
        for f in DRIFT_FIELDS:
            v = rec.get(f)
            if v.__class__ is int or v.__class__ is float:  # _num, inlined: every row
                acc[f].append(v)
    return sums
