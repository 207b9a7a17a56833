"""DataQualityMonitor: the six dimensions' scores and issues, checked by hand."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from within_daemon.schema import AD_FIELDS
from within_daemon.transforms.quality import (
    DEFAULT_COMPLETENESS_FIELDS,
    DEFAULT_THRESHOLDS,
    DIMENSIONS,
    DataQualityMonitor,
)

# 2024-01-10 12:00 UTC: the latest local day anywhere (UTC+14) is already 2024-01-11.
NOW = dt.datetime(2024, 1, 10, 12, 0, tzinfo=dt.UTC)


def ad(ad_id: str = "1", **over: Any) -> dict[str, Any]:
    rec: dict[str, Any] = dict.fromkeys(AD_FIELDS)
    rec.update({
        "ad_id": ad_id, "platform": "facebook", "account_id": "A1", "campaign_id": "c",
        "headline": "Hi", "status": "active", "start_date": "2024-01-01",
        "impressions": 100, "clicks": 5, "ctr": 0.05, "spend": 10.0, "conversions": 1,
        "revenue": 20.0, "date": "2024-01-09", "currency": "USD",
    })
    rec.update(over)
    return rec


def check(data: Any, metrics: list[str] | None = None, monitor: DataQualityMonitor | None = None,
          **kw: Any) -> dict[str, Any]:
    kw.setdefault("now", NOW)
    return (monitor or DataQualityMonitor()).check_quality(data, metrics, **kw)


def summary(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(i["type"], i["field"], i["severity"], i["count"]) for i in report["issues"]]


def test_clean_batch_scores_one_everywhere() -> None:
    """Four clean, fresh, unique records: every score 1, every check passed, no issues."""
    report = check([ad(str(i)) for i in range(4)])
    assert report["record_count"] == 4
    assert report["scores"] == dict.fromkeys(DIMENSIONS, 1.0)
    assert report["passed"] == dict.fromkeys(DIMENSIONS, True)
    assert report["issues"] == []


def test_empty_batch_has_defined_scores() -> None:
    """No records and nothing expected: scores 1 and one info issue, no crash."""
    report = check([])
    assert report["record_count"] == 0
    assert report["scores"] == dict.fromkeys(DIMENSIONS, 1.0)
    assert summary(report) == [("completeness", None, "info", 0)]


def test_empty_batch_with_expected_days_fails() -> None:
    """When days were expected, an empty batch scores 0 on completeness and timeliness."""
    report = check([], expected_days={("facebook", "A1"): {"2024-01-09"}})
    assert report["scores"]["completeness"] == 0.0
    assert report["scores"]["timeliness"] == 0.0
    assert report["scores"]["uniqueness"] == 1.0
    assert ("completeness", "date", "error", 1) in summary(report)
    (stale,) = [i for i in report["issues"] if i["type"] == "timeliness"]
    assert (stale["account_id"], stale["newest_day"], stale["age_days"]) == ("A1", None, None)


def test_all_null_field_is_an_error() -> None:
    """A headline null in all 4 records: 28 of 32 watched cells filled, score 0.875."""
    assert len(DEFAULT_COMPLETENESS_FIELDS) == 8
    report = check([ad(str(i), headline=None) for i in range(4)], ["completeness"])
    assert report["scores"] == {"completeness": 0.875}
    assert report["passed"] == {"completeness": False}
    (issue,) = report["issues"]
    assert (issue["field"], issue["severity"], issue["count"]) == ("headline", "error", 4)
    assert issue["description"] == "headline is null in 4 of 4 records (100.0%)"


def test_campaign_level_rows_have_no_creative_gap() -> None:
    """A Google PMax row (ad_id campaign:<id>) without a headline is not a completeness gap."""
    pmax = ad("campaign:21000000900", headline=None, platform="google")
    report = check([ad("1", platform="google"), pmax], ["completeness"])
    assert report["scores"] == {"completeness": 1.0} and report["issues"] == []
    report = check([ad("1", platform="google", headline=None), pmax], ["completeness"])
    assert summary(report) == [("completeness", "headline", "warning", 1)]


def test_partly_null_field_is_a_warning() -> None:
    """One null spend out of 4 records, on a one-field watch list: score 0.75, a warning."""
    monitor = DataQualityMonitor(completeness_fields=["spend"])
    records = [ad("1", spend=None), ad("2"), ad("3"), ad("4")]
    report = check(records, ["completeness"], monitor)
    assert report["scores"]["completeness"] == 0.75
    assert summary(report) == [("completeness", "spend", "warning", 1)]


def test_missing_day_is_an_issue_per_day() -> None:
    """Expected 3 days, got 1: day share 1/3 and one issue per missing day."""
    expected = {("facebook", "A1"): {dt.date(2024, 1, 8), "2024-01-09", "2024-01-10"}}
    report = check([ad("1"), ad("2")], ["completeness"], expected_days=expected)
    assert report["scores"]["completeness"] == pytest.approx(1 / 3)
    assert [(i["account_id"], i["day"]) for i in report["issues"]] == [
        ("A1", "2024-01-08"), ("A1", "2024-01-10")]
    assert report["issues"][0]["description"] == "no records for facebook/A1 on 2024-01-08"
    assert report["details"]["completeness"]["missing_days"] == 2


def test_accuracy_ranges_and_future_dates() -> None:
    """3 of 5 records are out of range or in the future; a day that exists in UTC+14 is not."""
    records = [
        ad("0"),
        ad("1", date="2024-01-11"),                    # already today on Kiribati
        ad("2", date="2024-01-12"),                    # in the future everywhere
        ad("3", clicks=-1),
        ad("4", ctr=1.5, start_date="2024-13-01"),     # two problems, one bad record
    ]
    report = check(records, ["accuracy"])
    assert report["scores"]["accuracy"] == pytest.approx(2 / 5)
    assert sorted((i["field"], i["rule"], i["count"]) for i in report["issues"]) == [
        ("clicks", "range", 1), ("ctr", "range", 1), ("date", "future", 1),
        ("start_date", "range", 1)]
    future = next(i for i in report["issues"] if i["rule"] == "future")
    assert future["examples"][0]["key"] == "ad_id=2 date=2024-01-12"


def test_accuracy_with_a_plain_date_now() -> None:
    """With now given as a date, the next day is already the future."""
    report = check([ad("1", date="2024-01-11")], ["accuracy"], now=dt.date(2024, 1, 10))
    assert report["scores"]["accuracy"] == 0.0


def test_consistency_cross_field_rules() -> None:
    """Clicks above impressions and an end before the start: 2 of 4 records inconsistent."""
    records = [ad("1"), ad("2"), ad("3", clicks=200, ctr=None),
               ad("4", end_date="2023-12-31")]
    report = check(records, ["consistency"])
    assert report["scores"]["consistency"] == 0.5
    assert [(i["field"], i["rule"]) for i in report["issues"]] == [
        ("clicks", "clicks_le_impressions"), ("end_date", "end_date_after_start")]
    assert report["issues"][0]["description"] == (
        "clicks_le_impressions: ad_id=3 date=2024-01-09: clicks (200) exceed impressions (100)")


def totals(day: str = "2024-01-09", **over: Any) -> dict[str, Any]:
    row = {"platform": "facebook", "account_id": "A1", "date": day, "daily_spend": 15.0,
           "daily_impressions": 1500, "daily_clicks": 60, "daily_conversions": 2,
           "daily_revenue": None}
    row.update(over)
    return row


DRIFT_ADS = [ad("1", impressions=1000, clicks=50, ctr=0.05, spend=10.0),
             ad("2", impressions=500, clicks=10, ctr=0.02, spend=5.0)]


def test_drift_within_tolerance_passes() -> None:
    """Ad spend 15.0 against an account total of 15.1 (0.66%) is within 1%."""
    report = check(DRIFT_ADS, ["consistency"], account_totals=[totals(daily_spend=15.1)])
    assert report["scores"]["consistency"] == 1.0 and report["issues"] == []
    assert report["details"]["consistency"]["account_days_compared"] == 1


def test_drift_beyond_tolerance_names_both_numbers() -> None:
    """15.0 vs 16.0 (6.25%) drifts; with one matching account-day the score is 1/2."""
    report = check(DRIFT_ADS + [ad("1", date="2024-01-08")], ["consistency"],
                   account_totals=[totals(daily_spend=16.0),
                                   totals("2024-01-08", daily_spend=10.0, daily_impressions=100,
                                          daily_clicks=5, daily_conversions=1)])
    assert report["scores"]["consistency"] == 0.5
    (issue,) = report["issues"]
    assert (issue["account_id"], issue["day"], issue["field"]) == ("A1", "2024-01-09", "spend")
    assert (issue["ad_total"], issue["account_total"]) == (15.0, 16.0)
    assert issue["relative_drift"] == pytest.approx(0.0625)
    assert issue["description"] == ("facebook/A1 2024-01-09 spend: ad rows sum to 15, "
                                    "account total is 16 (6.25% drift > 1.00%)")
    loose = DataQualityMonitor(drift_tolerance=0.1)
    assert check(DRIFT_ADS, ["consistency"], loose,
                 account_totals=[totals(daily_spend=16.0)])["issues"] == []


def test_account_day_without_ad_rows_drifts() -> None:
    """Account totals for a day with no ad rows at all show as drift (dropped rows)."""
    report = check(DRIFT_ADS, ["consistency"],
                   account_totals=[totals(), totals("2024-01-07", daily_revenue=3.0)])
    assert report["scores"]["consistency"] == 0.5
    assert sorted(i["field"] for i in report["issues"]) == [
        "clicks", "conversions", "impressions", "revenue", "spend"]


def test_timeliness_falls_linearly_per_account() -> None:
    """Ages 1, 4 and 9 days score 1, 0.5 and 0 (max age 7): mean 0.5."""
    records = [ad("1"), ad("2", account_id="A2", date="2024-01-06"),
               ad("3", account_id="A2", date="2024-01-02"),
               ad("4", account_id="A3", date="2024-01-01")]
    report = check(records, ["timeliness"])
    assert report["scores"]["timeliness"] == 0.5
    assert [(i["account_id"], i["age_days"], i["newest_day"], i["severity"])
            for i in report["issues"]] == [
        ("A2", 4, "2024-01-06", "warning"), ("A3", 9, "2024-01-01", "error")]
    assert report["details"]["timeliness"]["age_days"] == {
        "facebook/A1": 1, "facebook/A2": 4, "facebook/A3": 9}


def test_timeliness_counts_an_expected_account_without_data() -> None:
    """An account the ledger expects but the batch lacks scores 0 and is reported."""
    report = check([ad("1")], ["timeliness"],
                   expected_days={("facebook", "A9"): ["2024-01-09"]})
    assert report["scores"]["timeliness"] == 0.5
    assert [i["account_id"] for i in report["issues"]] == ["A9"]


def test_duplicate_keys_counted_and_shown() -> None:
    """One key thrice among 5 records: 3 unique of 5, 2 rows would collapse."""
    records = [ad("1"), ad("1"), ad("2"), ad("1"), ad("3")]
    report = check(records, ["uniqueness"])
    assert report["scores"]["uniqueness"] == 0.6
    (issue,) = report["issues"]
    assert (issue["field"], issue["count"], issue["duplicated_keys"]) == (
        "platform,account_id,ad_id,date", 2, 1)
    assert issue["examples"] == [{"platform": "facebook", "account_id": "A1", "ad_id": "1",
                                  "date": "2024-01-09", "rows": 3}]


def test_uniqueness_threshold_is_099() -> None:
    """1 duplicate in 100 rows passes (0.99), 2 fail (0.98); key_fields is configurable."""
    base = [ad(str(i)) for i in range(99)]
    assert check([*base, ad("0")], ["uniqueness"])["passed"] == {"uniqueness": True}
    report = check([*base[:98], ad("0"), ad("1")], ["uniqueness"])
    assert (report["scores"]["uniqueness"], report["passed"]["uniqueness"]) == (0.98, False)
    by_account = check(base, ["uniqueness"], key_fields=("platform", "account_id"))
    assert by_account["scores"]["uniqueness"] == pytest.approx(1 / 99)


def test_validity_business_rules() -> None:
    """Bad status, bad or no currency, spend without impressions count; conv > clicks is info."""
    records = [
        ad("1"),
        ad("2", status="running"),
        ad("3", currency="usd"),
        ad("4", currency=None),
        ad("5", impressions=0, clicks=0, ctr=None, conversions=0, spend=5.0),
        ad("6", conversions=10),
    ]
    report = check(records, ["validity"])
    assert report["scores"]["validity"] == pytest.approx(2 / 6)
    assert summary(report) == [
        ("validity", "status", "error", 1), ("validity", "currency", "error", 2),
        ("validity", "spend", "warning", 1), ("validity", "conversions", "info", 1)]


def test_metrics_subset_and_thresholds() -> None:
    """The metrics argument picks dimensions; thresholds override the 0.95 / 0.99 defaults."""
    assert DEFAULT_THRESHOLDS == {**dict.fromkeys(DIMENSIONS, 0.95), "uniqueness": 0.99}
    records = [ad(str(i), headline=None) for i in range(4)]
    report = check(records, ["uniqueness", "completeness"])
    assert list(report["scores"]) == ["uniqueness", "completeness"]
    lenient = DataQualityMonitor({"completeness": 0.8})
    assert check(records, ["completeness"], lenient)["passed"] == {"completeness": True}
    with pytest.raises(ValueError, match="unknown quality metric"):
        check(records, ["freshness"])
    with pytest.raises(ValueError, match="unknown quality dimension"):
        DataQualityMonitor({"freshness": 0.5})
    with pytest.raises(ValueError, match="within 0..1"):
        DataQualityMonitor({"accuracy": 1.5})


def test_input_shapes_and_determinism() -> None:
    """A single mapping is a batch of one, a non-mapping raises, reruns give equal reports."""
    assert check(ad())["record_count"] == 1
    with pytest.raises(TypeError, match="record 1 is not a mapping"):
        check([ad(), "nope"])
    records = [ad("1"), ad("1", clicks=-3), ad("2", status="x", date="2024-01-02")]
    first = check(records, expected_days={("facebook", "A1"): {"2024-01-05", "2024-01-09"}})
    assert first == check(records, expected_days={("facebook", "A1"): {"2024-01-09",
                                                                          "2024-01-05"}})
    for issue in first["issues"]:
        assert {"type", "field", "description", "severity", "count"} <= set(issue)
        assert issue["type"] in DIMENSIONS and issue["severity"] in ("error", "warning", "info")


def test_timeliness_ages_from_as_of() -> None:
    """With as_of the day after a backfill's window, data reaching that window scores 1."""
    old = [ad("1", date="2023-11-30"), ad("2", date="2023-11-29")]
    assert check(old, ["timeliness"])["scores"]["timeliness"] == 0.0
    report = check(old, ["timeliness"], as_of=dt.date(2023, 12, 1))
    assert report["scores"]["timeliness"] == 1.0 and report["issues"] == []
    stale = check(old, ["timeliness"], as_of=dt.date(2023, 12, 4))
    assert stale["scores"]["timeliness"] == 0.5  # 4 days old at max age 7


def test_combine_weights_slices_by_records() -> None:
    """Slices of one run combine into record-weighted scores, all issues, one pass flag."""
    monitor = DataQualityMonitor()
    clean = check([ad(str(i)) for i in range(9)], ["validity", "uniqueness"], monitor)
    bad = check([ad("x", currency="usd")], ["validity", "uniqueness"], monitor)
    out = monitor.combine([clean, bad])
    assert out["record_count"] == 10
    assert out["scores"] == {"validity": 0.9, "uniqueness": 1.0}
    assert out["passed"] == {"validity": False, "uniqueness": True}
    assert [i["field"] for i in out["issues"]] == ["currency"]
    assert len(out["details"]["validity"]["slices"]) == 2
    assert monitor.combine([clean]) == clean
