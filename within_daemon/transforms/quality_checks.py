"""The quality monitor's settings and its six dimension checks (pure, no I/O).

:class:`QualityChecks` holds what :class:`~within_daemon.transforms.quality.DataQualityMonitor`
is built with (thresholds, watched fields, tolerances, the validators it reuses) and scores
each dimension from a batch's :class:`~within_daemon.transforms.quality_facts.SliceFacts`:
one method per dimension, each returning ``(score, issues, details)``, and the two passes
over records in memory that gather facts (the null counts, the records a per-record rule
may note). The monitor in ``quality.py`` holds the public calls that run them and merge
their reports; see its docstring for what each dimension measures.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeGuard

from within_daemon.schema import is_ad_level
from within_daemon.transforms.quality_facts import (
    ACCURACY_SCHEMA,
    ALLOWED_STATUSES,
    CONSISTENCY_RULES,
    CURRENCY_RE,
    DEFAULT_COMPLETENESS_FIELDS,
    DEFAULT_THRESHOLDS,
    DIMENSIONS,
    DRIFT_FIELDS,
    Account,
    DayKey,
    Records,
    SliceFacts,
    iso_day,
    parse_day,
)
from within_daemon.transforms.validation import CROSS_FIELD_RULES, DataValidator, record_key

_ABS_EPS = 1e-9

#: Creative fields: not applicable to campaign-level rows (``schema.is_ad_level``).
_CREATIVE_FIELDS = frozenset({"headline", "description", "cta", "image_url", "video_url",
                              "landing_page_url"})

#: What each dimension returns: score, issues, details.
Result = tuple[float, list[dict[str, Any]], dict[str, Any]]


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


class QualityChecks:
    """A monitor's settings, and the score and issues of each dimension from a batch's facts."""

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
        self.allowed_statuses = tuple(self._status.schema["status"]["allowed"])
        # One compiled check for what accuracy, consistency and validity look at per record:
        # True only when none of the three would note anything about it (see _suspects).
        self._row_clean = DataValidator(
            {**ACCURACY_SCHEMA, "status": self._status.schema["status"]},
            cross_field_rules=(*CONSISTENCY_RULES, "conversions_le_clicks"),
        ).clean_check()

    # --- dimensions: each returns (score, issues, details) -------------------------------

    def _suspects(self, records: Records, latest: _dt.date) -> list[int]:
        """Indexes of the records accuracy, consistency or validity may note, in order.

        The others pass all three (the compiled check of their combined rules, a currency
        code, no spend without impressions, a date not in the future), so those dimensions
        walk only these records: the same issues, examples and counts, in the same order.
        """
        clean, currency = self._row_clean, CURRENCY_RE.fullmatch
        future: dict[Any, bool] = {}
        out: list[int] = []
        for i, rec in enumerate(records):
            if rec.__class__ is dict and clean(rec):
                get = rec.get
                cur, spend = get("currency"), get("spend")
                day = get("date")
                is_future = future.get(day)
                if is_future is None:
                    parsed = parse_day(day)
                    is_future = future[day] = parsed is not None and parsed > latest
                if not is_future and cur.__class__ is str and currency(cur) and not (
                        _num(spend) and spend > 0 and not (
                            _num(imps := get("impressions")) and imps > 0)):
                    continue
            out.append(i)
        return out

    def _nulls(self, records: Records, want_seen: bool) -> tuple[dict[str, int], set[DayKey]]:
        fields = self.completeness_fields
        nulls = dict.fromkeys(fields, 0)
        seen: set[DayKey] = set()
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
            if want_seen:
                seen.add((get("platform"), get("account_id"), iso_day(get("date"))))
        return nulls, seen

    def _completeness(self, facts: SliceFacts, expected: dict[Account, set[str]]) -> Result:
        n, fields, seen = facts.n, self.completeness_fields, facts.seen
        nulls = {f: facts.nulls.get(f, 0) for f in fields}
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

    def _accuracy_check(self, facts: SliceFacts, latest: _dt.date) -> Result:
        grouped = _Grouped("accuracy", self.max_examples)
        future: dict[Any, bool] = {}
        bad = 0
        for i, rec in facts.suspects.items():
            errors = self._accuracy.record_errors(rec, i)
            for e in errors:
                grouped.add(e["field"], "range", "error", rec, i, e["message"])
            day = rec.get("date")
            is_future = future.get(day)
            if is_future is None:
                parsed = parse_day(day)
                is_future = future[day] = parsed is not None and parsed > latest
            if is_future:
                grouped.add("date", "future", "error", rec, i,
                            f"date {day} is after the latest local day {latest}")
            bad += bool(errors) or is_future
        return _share(facts.n - bad, facts.n), grouped.issues(), {"bad_records": bad}

    def _consistency_check(
        self, facts: SliceFacts, account_totals: Iterable[Mapping[str, Any]] | None,
    ) -> Result:
        grouped = _Grouped("consistency", self.max_examples)
        bad = 0
        for i, rec in facts.suspects.items():
            failed = False
            for name, rule in self._consistency:
                found = rule(rec)
                if found is not None:
                    grouped.add(found[0], name, "error", rec, i, found[1])
                    failed = True
            bad += failed
        issues = grouped.issues()
        record_share = _share(facts.n - bad, facts.n)
        compared = drifted = 0
        if account_totals is not None:
            sums = facts.sums
            for acct in account_totals:
                key = (acct.get("platform"), acct.get("account_id"), iso_day(acct.get("date")))
                drift = self._drift(key, sums.get(key), acct)
                compared += drift is not None
                drifted += bool(drift)
                issues.extend(drift or ())
        day_share = _share(compared - drifted, compared)
        details = {"record_share": record_share, "account_day_share": day_share,
                   "account_days_compared": compared, "account_days_drifted": drifted}
        return min(record_share, day_share), issues, details

    def _drift(self, key: DayKey, ad: Mapping[str, float | None] | None,
               acct: Mapping[str, Any]) -> list[dict[str, Any]] | None:
        """Drift issues of one account-day, or None when no field could be compared."""
        platform, account_id, day = key
        issues: list[dict[str, Any]] | None = None
        for field, acct_field in DRIFT_FIELDS.items():
            total = acct.get(acct_field)
            summed = 0.0 if ad is None else ad.get(field)
            if not _num(total) or summed is None:
                continue  # one side does not report this field: nothing to compare
            issues = issues or []
            ad_total = summed
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
        self, facts: SliceFacts, expected: dict[Account, set[str]], today: _dt.date
    ) -> Result:
        newest: dict[Account, _dt.date | None] = dict.fromkeys(expected)
        newest.update(facts.newest)
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

    def _uniqueness(self, facts: SliceFacts, key_fields: tuple[str, ...]) -> Result:
        n, unique, repeated = facts.n, facts.unique, facts.repeated
        issues = []
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

    def _validity(self, facts: SliceFacts) -> Result:
        grouped = _Grouped("validity", self.max_examples)
        bad = 0
        for i, rec in facts.suspects.items():
            failed = False
            for e in self._status.record_errors(rec, i):
                grouped.add("status", "allowed_status", "error", rec, i, e["message"])
                failed = True
            cur = rec.get("currency")
            if not (cur.__class__ is str and CURRENCY_RE.fullmatch(cur)):
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
        return _share(facts.n - bad, facts.n), grouped.issues(), {"bad_records": bad}
