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

Each report is computed in two steps: the batch's :class:`SliceFacts` (null counts, days
seen, newest day, repeated keys, per-day sums, and the records a per-record rule might
note), then the scores and issues from those facts (:meth:`DataQualityMonitor.check_facts`).
``check_quality`` gathers the facts from records in memory; ``loaders.quality_sql`` gathers
the same facts with SQL aggregates where the rows are stored, so a post-load check never
reads every row back. The monitor's settings and the per-dimension scoring are in
:mod:`.quality_checks`; this module holds the calls that run them and merge their reports.
See ``docs/quality.md`` for the thresholds and an example of each issue kind.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from within_daemon.schema import AD_KEY
from within_daemon.transforms.quality_checks import QualityChecks, Result
from within_daemon.transforms.quality_facts import (
    DEFAULT_COMPLETENESS_FIELDS,
    DEFAULT_THRESHOLDS,
    DIMENSIONS,
    Account,
    Records,
    SliceFacts,
    drift_values,
    latest_day,
    newest_days,
    repeated_keys,
)
from within_daemon.transforms.validation import CROSS_FIELD_RULES

#: The monitor, and the names its callers read with it (defined in ``quality_facts``).
__all__ = [
    "DEFAULT_COMPLETENESS_FIELDS", "DEFAULT_THRESHOLDS", "DIMENSIONS", "DataQualityMonitor",
    "SliceFacts",
]

#: The cross-field rules as this module found them: a monitor built after one of them was
#: replaced is not what ``loaders.quality_sql`` mirrors.
_SHIPPED_RULES = dict(CROSS_FIELD_RULES)


class DataQualityMonitor(QualityChecks):
    """Scores a batch on the six quality dimensions and lists what pulled each score down."""

    def rules_are_stock(self) -> bool:
        """Whether this monitor's cross-field rules are the shipped ones (none replaced)."""
        return (all(rule is _SHIPPED_RULES.get(name) for name, rule in self._consistency)
                and self._conversions_le_clicks is _SHIPPED_RULES.get("conversions_le_clicks"))

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
        facts = self.facts(records, dims, latest=latest_day(now)[1], key_fields=key_fields,
                           seen=bool(expected_days),
                           sums=account_totals is not None and "consistency" in dims)
        return self.check_facts(facts, dims, expected_days=expected_days,
                                account_totals=account_totals, now=now,
                                key_fields=key_fields, as_of=as_of)

    def facts(self, records: Records, dims: Sequence[str] = DIMENSIONS, *,
              latest: _dt.date, key_fields: Sequence[str] = AD_KEY, seen: bool = True,
              sums: bool = True) -> SliceFacts:
        """The :class:`SliceFacts` of records in memory (only what ``dims`` need)."""
        facts = SliceFacts(len(records))
        if "completeness" in dims:
            facts.nulls, facts.seen = self._nulls(records, seen)
        if "timeliness" in dims:
            facts.newest = newest_days(records)
        if "uniqueness" in dims:
            facts.repeated, facts.unique = repeated_keys(records, tuple(key_fields))
        if sums:
            facts.sums = {key: {f: math.fsum(v) if v else None for f, v in by_field.items()}
                          for key, by_field in drift_values(records).items()}
        if {"accuracy", "consistency", "validity"} & set(dims):
            facts.suspects = {i: records[i] for i in self._suspects(records, latest)}
        return facts

    def check_facts(
        self,
        facts: SliceFacts,
        metrics: Iterable[str] | None = None,
        *,
        expected_days: Mapping[Account, Iterable[str | _dt.date]] | None = None,
        account_totals: Iterable[Mapping[str, Any]] | None = None,
        now: _dt.datetime | _dt.date | None = None,
        key_fields: Sequence[str] = AD_KEY,
        as_of: _dt.date | None = None,
    ) -> dict[str, Any]:
        """The report of ``check_quality`` from a batch's facts instead of its records."""
        dims = DIMENSIONS if metrics is None else tuple(dict.fromkeys(metrics))
        unknown = [d for d in dims if d not in DEFAULT_THRESHOLDS]
        if unknown:
            raise ValueError(f"unknown quality metric(s) {unknown}; use {DIMENSIONS}")
        if now is None:
            now = _dt.datetime.now(_dt.UTC)
        today, latest = latest_day(now)
        expected = {acct: {d if isinstance(d, str) else d.isoformat() for d in days}
                    for acct, days in (expected_days or {}).items()}
        report: dict[str, Any] = {"issues": [], "scores": {}, "passed": {},
                                  "record_count": facts.n, "details": {}}
        checks: dict[str, Callable[[], Result]] = {
            "completeness": lambda: self._completeness(facts, expected),
            "accuracy": lambda: self._accuracy_check(facts, latest),
            "consistency": lambda: self._consistency_check(facts, account_totals),
            "timeliness": lambda: self._timeliness(facts, expected, as_of or today),
            "uniqueness": lambda: self._uniqueness(facts, tuple(key_fields)),
            "validity": lambda: self._validity(facts),
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
