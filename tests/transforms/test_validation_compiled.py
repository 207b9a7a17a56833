"""The compiled clean check says "clean" only when the full field-by-field validator does.

It may say "look closer" for a clean record with unusual types (a ``datetime.date``, 3.0
for an integer): the full validator then decides, so that costs time, never a result.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest

from within_daemon.records import account_day, ad_day, as_dict
from within_daemon.schema import ACCOUNT_DATA_SCHEMA, AD_DATA_SCHEMA
from within_daemon.transforms import DataQualityMonitor, DataValidator
from within_daemon.transforms.validation import CROSS_FIELD_RULES, _record_errors

from .test_validation import ad

ACCOUNT: dict[str, Any] = {
    "account_id": "42", "platform": "facebook", "account_name": "A", "currency": "USD",
    "timezone": "UTC", "date": "2023-01-01", "daily_spend": 10.0, "daily_impressions": 100,
    "daily_clicks": 5, "daily_conversions": 1, "daily_revenue": 20.0, "daily_roas": 2.0,
    "campaign_count": 1, "ad_count": 2,
}
TRICKY: list[Any] = [
    None, "", "x" * 201, "abc", "USDX", "a\x00b", "bad \ud800", "é", True, False, 0, -1, 7,
    10**6, 2**63, -(2**63) - 1, 1.5, 3.0, -0.5, 0.0, 2.0, float("nan"), float("inf"),
    dt.date(2023, 1, 2), dt.datetime(2023, 1, 2, 3), "2023-01-01", "2022-12-31",
    "2023-02-30", "2023-1-01", "active", "paused", "facebook", "nope", [1], {"a": 1},
]


def _slow(validator: DataValidator, rec: dict[str, Any], schema: Any) -> bool:
    """The full validator's verdict with the compiled shortcut switched off."""
    compiled = validator._compiled(schema)
    clean = compiled.clean
    compiled.clean = lambda _rec: False
    try:
        return not _record_errors(rec, 0, compiled)
    finally:
        compiled.clean = clean


@pytest.mark.parametrize("schema,base", [(AD_DATA_SCHEMA, ad()), (ACCOUNT_DATA_SCHEMA, ACCOUNT)])
def test_clean_check_agrees_with_full_validator(schema: Any, base: dict[str, Any]) -> None:
    """Every field set to every tricky value, and random pairs: clean implies valid."""
    validator = DataValidator(cross_field_rules=[*CROSS_FIELD_RULES])
    clean = validator._compiled(schema).clean
    assert clean(dict(base)) and _slow(validator, dict(base), schema)
    cases = [{**base, f: v} for f in [*base, "extra"] for v in TRICKY]
    rnd = random.Random(15)
    for _ in range(3000):
        rec = dict(base)
        for f in rnd.sample([*base], 2):
            rec[f] = rnd.choice(TRICKY)
        cases.append(rec)
    shortcut = 0
    for rec in cases:
        if clean(rec):
            shortcut += 1
            assert _slow(validator, rec, schema), rec
        elif _slow(validator, rec, schema):
            # only unusual types may take the long way
            assert any(v.__class__ not in (str, int, float, type(None)) or
                       (v.__class__ is float and base.get(f).__class__ is int)
                       for f, v in rec.items()), rec
    assert shortcut > 100


def test_replaced_rule_is_called_not_inlined(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cross-field rule replaced in the registry is the one the compiled check runs."""
    monkeypatch.setitem(CROSS_FIELD_RULES, "clicks_le_impressions",
                        lambda r: ("clicks", "never five", 5) if r.get("clicks") == 5 else None)
    validator = DataValidator()
    good, bad = validator.split([ad(clicks=5), ad(clicks=6, ctr=0.06)])
    assert [r["clicks"] for r in good] == [6]
    assert [errs[0]["message"] for _r, errs in bad] == ["never five"]


def test_quality_report_same_when_only_suspects_are_walked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Accuracy, consistency and validity walking only suspect records report the same."""
    rnd = random.Random(16)
    hashable = [v for v in TRICKY if v.__hash__ is not None]  # a day is a dict key there
    records = []
    for i in range(4000):
        rec = ad(ad_id=str(i), date=f"2023-01-{1 + i % 28:02d}")
        if rnd.random() < 0.1:
            for f in rnd.sample([*rec], 2):
                rec[f] = rnd.choice(hashable)
        records.append(rec)
    records[7]["date"] = "2099-01-01"
    records[9]["currency"] = "usd"
    records[11].update(impressions=0, clicks=0, ctr=None, conversions=0)
    monitor = DataQualityMonitor()
    now = dt.date(2023, 2, 1)
    fast = monitor.check_quality(records, now=now)
    assert len(monitor._suspects(records, now)) < 1000
    monkeypatch.setattr(monitor, "_suspects", lambda recs, _latest: list(range(len(recs))))
    assert monitor.check_quality(records, now=now) == fast
    assert fast["scores"]["accuracy"] < 1 and fast["scores"]["validity"] < 1


@pytest.mark.parametrize("schema,base,make", [
    (AD_DATA_SCHEMA, ad(), ad_day), (ACCOUNT_DATA_SCHEMA, ACCOUNT, account_day),
    (AD_DATA_SCHEMA, ad(attribution_window="7d", link_clicks=3), ad_day)])
def test_struct_check_and_split_agree_with_the_dict_path(schema: Any, base: dict[str, Any],
                                                         make: Any) -> None:
    """A record Struct gets the dict form's verdict, and ``split`` the same errors."""
    validator = DataValidator(cross_field_rules=[*CROSS_FIELD_RULES])
    compiled = validator._compiled(schema)
    check = compiled.checks[make(base).__class__]
    cases = [{**base, f: v} for f in base for v in TRICKY]
    rnd = random.Random(14)
    for _ in range(2000):
        rec = dict(base)
        for f in rnd.sample([*base], 2):
            rec[f] = rnd.choice(TRICKY)
        cases.append(rec)
    structs = [make(c) for c in cases]
    assert [check(s) for s in structs] == [compiled.clean(as_dict(s)) for s in structs]
    good, bad = validator.split(structs, schema)
    want_good, want_bad = validator.split([as_dict(s) for s in structs], schema)
    assert [as_dict(s) for s in good] == want_good
    assert [(as_dict(s), errs) for s, errs in bad] == want_bad
    assert len(good) > 100 and len(bad) > 100


def test_struct_check_hands_a_replaced_rule_the_dict_form(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A rule that is not inlined sees a Struct record as the dict it reads with ``get``."""
    monkeypatch.setitem(CROSS_FIELD_RULES, "clicks_le_impressions",
                        lambda r: ("clicks", "never five", 5) if r.get("clicks") == 5 else None)
    good, bad = DataValidator().split([ad_day(ad(clicks=5)), ad_day(ad(clicks=6, ctr=0.06))])
    assert [r.clicks for r in good] == [6]
    assert [errs[0]["message"] for _r, errs in bad] == ["never five"]
