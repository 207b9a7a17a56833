"""The Google Ads normalizer on GoogleAdsRows shaped like ad-apis.md §2.4 and §2.7."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from within_daemon.schema import ACCOUNT_DATA_SCHEMA, ACCOUNT_FIELDS, AD_FIELDS, is_ad_level
from within_daemon.transforms import (
    DataNormalizer,
    DataValidator,
)

#: ad-apis.md §2.7: the Airbyte searchStream record for ad_group_ad, verbatim.
AIRBYTE_ROW: dict[str, Any] = {
    "adGroup": {"id": "400001"},
    "adGroupAd": {
        "ad": {"id": "500001", "name": "Test Ad",
               "resourceName": "customers/1234567890/ads/500001"},
        "status": "ENABLED",
    },
    "segments": {"date": "2024-01-01"},
    "metrics": {"costMicros": "500000"},
}
#: ad-apis.md §2.4: a responsive search ad as the ad-text query returns it.
RSA_AD: dict[str, Any] = {
    "id": "500001",
    "adGroupAd": {"ad": {
        "id": "500001",
        "finalUrls": ["https://example.com/running-shoes"],
        "responsiveSearchAd": {
            "headlines": [{"text": "Free Delivery Available"},
                          {"text": "Buy Running Shoes", "pinnedField": "HEADLINE_1"}],
            "descriptions": [{"text": "Wide range of running shoes."}],
            "path1": "shoes", "path2": "running",
        },
    }, "status": "PAUSED"},
}
ACCOUNT = {"account_id": "1234567890", "name": "Sandbox", "currency": "USD",
           "timezone_name": "America/New_York"}


def full_row(**metrics: Any) -> dict[str, Any]:
    return {"campaign": {"id": "300001"}, "adGroup": {"id": "400001"},
            "adGroupAd": {"ad": {"id": "500001"}, "status": "ENABLED"},
            "segments": {"date": "2024-01-02"}, "metrics": metrics}


def norm(rows: list[Any], **kw: Any) -> list[dict[str, Any]]:
    return DataNormalizer().normalize_ad_data(rows, "google", **kw)


def test_airbyte_record_with_omitted_metrics() -> None:
    """Absent metrics are 0; costMicros/1e6 is money; ctr is None without impressions."""
    [rec] = norm([AIRBYTE_ROW], account=ACCOUNT)
    assert list(rec) == list(AD_FIELDS)
    assert rec["ad_id"] == "500001" and rec["ad_group_id"] == "400001"
    assert rec["account_id"] == "1234567890" and rec["currency"] == "USD"
    assert (rec["impressions"], rec["clicks"], rec["spend"]) == (0, 0, 0.5)
    assert (rec["conversions"], rec["revenue"]) == (0, 0.0)
    assert rec["ctr"] is None and rec["cpa"] is None and rec["roas"] == 0.0
    assert rec["headline"] == "Test Ad"  # no RSA text: the ad's name stands in
    assert rec["date"] == "2024-01-01" and rec["status"] == "active"
    assert DataValidator().split([rec])[1] == []


def test_ad_text_from_the_responsive_search_ad() -> None:
    """Headline pinned to HEADLINE_1 wins, then the first description and final URL."""
    [rec] = norm([AIRBYTE_ROW], ads={"500001": RSA_AD}, account=ACCOUNT)
    assert rec["headline"] == "Buy Running Shoes"
    assert rec["description"] == "Wide range of running shoes."
    assert rec["landing_page_url"] == "https://example.com/running-shoes"
    assert rec["status"] == "active"  # the row's own status beats the ad list's
    [bare] = norm([{**AIRBYTE_ROW, "adGroupAd": {"ad": {"id": "500001"}}}],
                  ads={"500001": RSA_AD})
    assert bare["status"] == "paused"


@pytest.mark.parametrize("value,expected", [
    (2.5, 2.5), (0.33, 0.33), (1.49, 1.49), ("7.5", 7.5), (4, 4), (4.0, 4), ("nan", "nan"),
])
def test_conversions_keep_their_fraction(value: Any, expected: Any) -> None:
    """Fractional conversions are kept as served (int when whole); junk stays raw."""
    [rec] = norm([full_row(impressions="100", clicks="10", conversions=value)])
    assert rec["conversions"] == expected
    assert type(rec["conversions"]) is type(expected)


def test_derived_ratios_and_revenue() -> None:
    """ctr, conversion_rate, cpa and roas follow Facebook's rules; revenue is the value."""
    [rec] = norm([full_row(impressions="200", clicks="10", costMicros="12340000",
                           conversions=2.5, conversionsValue=49.36)], account=ACCOUNT)
    assert rec["ctr"] == pytest.approx(0.05)
    assert rec["spend"] == 12.34 and rec["conversions"] == 2.5
    assert rec["conversion_rate"] == pytest.approx(0.25)
    assert rec["cpa"] == pytest.approx(12.34 / 2.5)
    assert rec["revenue"] == 49.36 and rec["roas"] == pytest.approx(4.0)


def test_numeric_ids_become_strings_and_row_currency_wins() -> None:
    """Ids sent as JSON numbers come out as strings; the row's currency beats the account's."""
    row = full_row(impressions=5)
    row["campaign"]["id"] = 300001
    row["adGroupAd"]["ad"]["id"] = 500001
    row["customer"] = {"id": 1234567890, "currencyCode": "EUR"}
    [rec] = norm([row], account=ACCOUNT)
    assert (rec["ad_id"], rec["campaign_id"], rec["account_id"]) == (
        "500001", "300001", "1234567890")
    assert rec["currency"] == "EUR" and rec["impressions"] == 5


def test_unparsable_values_stay_raw_and_are_quarantined() -> None:
    """Bad numbers pass through raw so the validator names them; order is preserved."""
    rows = [full_row(impressions="abc"), full_row(impressions="9", costMicros="1.5e"),
            "not a row", full_row(impressions="3", conversions="many")]
    recs = norm(rows, account=ACCOUNT)
    assert len(recs) == 4
    assert recs[0]["impressions"] == "abc" and recs[1]["spend"] == "1.5e"
    assert recs[2]["ad_id"] is None and recs[3]["conversions"] == "many"
    _, bad = DataValidator().split(recs)
    fields = {err[0]["index"]: {e["field"] for e in err} for _, err in bad}
    assert "impressions" in fields[0] and "spend" in fields[1] and "ad_id" in fields[2]
    assert "conversions" in fields[3]


def test_input_is_not_mutated() -> None:
    """Normalizing leaves the raw rows untouched (the pipeline quarantines them as-is)."""
    row = full_row(impressions="10", clicks="1")
    before = copy.deepcopy(row)
    norm([row], ads={"500001": RSA_AD})
    assert row == before


def test_account_rows() -> None:
    """Customer-day rows become account records with counts, currency and time zone."""
    rows = [{"customer": {"id": "1234567890"}, "segments": {"date": "2024-01-02"},
             "metrics": {"impressions": "7755", "clicks": "283", "costMicros": "537760000",
                         "conversions": 22.5, "conversionsValue": 789.6}},
            {"customer": {"id": "1234567890"}, "segments": {"date": "2024-01-03"},
             "metrics": {}}]
    recs = DataNormalizer().normalize_account_data(
        rows, "google", account=ACCOUNT, counts={"2024-01-02": (2, 11)})
    assert [list(r) for r in recs] == [list(ACCOUNT_FIELDS)] * 2
    first, empty = recs
    assert (first["daily_spend"], first["daily_impressions"], first["daily_clicks"]) == (
        537.76, 7755, 283)
    assert first["daily_conversions"] == 22.5 and first["daily_revenue"] == 789.6
    assert (first["campaign_count"], first["ad_count"]) == (2, 11)
    assert first["timezone"] == "America/New_York" and first["account_name"] == "Sandbox"
    assert (empty["daily_spend"], empty["daily_roas"], empty["ad_count"]) == (0.0, None, None)
    assert DataValidator().split(recs, ACCOUNT_DATA_SCHEMA)[1] == []


def test_performance_max_rows_are_campaign_level() -> None:
    """A PMax campaign row (no adGroupAd) becomes ad_id campaign:<id>, without ad or text."""
    row = {"campaign": {"id": "21000001900", "status": "ENABLED",
                        "advertisingChannelType": "PERFORMANCE_MAX"},
           "segments": {"date": "2024-03-01"},
           "metrics": {"impressions": "900", "clicks": "30", "costMicros": "45000000",
                       "conversions": 2.4, "conversionsValue": 120.0}}
    broken = {"campaign": {"id": "21000000001", "advertisingChannelType": "SEARCH"},
              "segments": {"date": "2024-03-01"}, "metrics": {"impressions": "5"}}
    rec, other = norm([row, broken], account=ACCOUNT)
    assert rec["ad_id"] == "campaign:21000001900" and not is_ad_level(rec["ad_id"])
    assert (rec["campaign_id"], rec["ad_group_id"], rec["headline"]) == ("21000001900", None,
                                                                         None)
    assert (rec["status"], rec["spend"], rec["conversions"]) == ("active", 45.0, 2.4)
    assert rec["cpa"] == pytest.approx(45.0 / 2.4)
    assert other["ad_id"] is None  # not PMax and no ad: the validator quarantines it
