"""TikTok normalizer on the reference's example payloads (shared/reference/ad-apis.md §4.5)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from within_daemon.schema import ACCOUNT_DATA_SCHEMA, ACCOUNT_FIELDS, AD_DATA_SCHEMA, AD_FIELDS
from within_daemon.transforms import DataNormalizer, DataValidator
from within_daemon.transforms.normalize.tiktok import attribution_window

#: TikTok records add the extra columns (their ad group's attribution window; no link clicks).
TT_FIELDS = [*AD_FIELDS, "attribution_window", "link_clicks"]

# §4.5 "Report page" (v1.3, Airbyte fixture values), verbatim row.
V13_ROW: dict[str, Any] = {
    "dimensions": {"stat_time_hour": "2024-01-01 09:00:00", "ad_id": "11111111"},
    "metrics": {"spend": "20.00", "impressions": "5830", "clicks": "69", "ctr": "1.18",
                "cpc": "0.29", "cpm": "3.43", "conversion": "0",
                "ad_text": "Airbyte - data portabioolity platform - from anywhere to anywhere!"},
}
# §4.5 older real capture (v1.2), verbatim row: numeric ad_id, "116.0"-style counts.
V12_ROW: dict[str, Any] = {
    "metrics": {"ad_name": "20200923012039", "clicks": "116.0", "spend": "76.73",
                "impressions": "10505.0", "ctr": "1.1"},
    "dimensions": {"stat_time_day": "2020-10-17 00:00:00", "ad_id": 1678604629756978},
}
# §4.5 /ad/get/ (Airbyte AD_RESPONSE), verbatim list item.
AD_GET_ITEM: dict[str, Any] = {
    "advertiser_id": 872746382648, "ad_id": 123456789, "modify_time": "2024-01-02 04:00:00",
}
ACCOUNT = {"account_id": "872746382648", "name": "Shop", "currency": "USD",
           "timezone_name": "America/Los_Angeles"}


def norm(rows: list[Any], **kw: Any) -> list[dict[str, Any]]:
    return DataNormalizer().normalize_ad_data(rows, "tiktok", **kw)


def daily(row: dict[str, Any], day: str = "2024-01-01 00:00:00") -> dict[str, Any]:
    r = copy.deepcopy(row)
    r["dimensions"].pop("stat_time_hour", None)
    r["dimensions"]["stat_time_day"] = day
    return r


def test_v13_example_row() -> None:
    """The v1.3 example (as a daily row) maps to typed values; ctr is a fraction, not %."""
    [rec] = norm([daily(V13_ROW)], account=ACCOUNT)
    assert list(rec) == TT_FIELDS
    assert rec["ad_id"] == "11111111" and rec["platform"] == "tiktok"
    assert (rec["impressions"], rec["clicks"], rec["spend"]) == (5830, 69, 20.0)
    assert rec["ctr"] == pytest.approx(69 / 5830)
    assert rec["conversions"] == 0 and rec["cpa"] is None and rec["conversion_rate"] == 0.0
    assert rec["date"] == "2024-01-01" and rec["currency"] == "USD"
    assert rec["headline"] == V13_ROW["metrics"]["ad_text"]
    assert rec["account_id"] == "872746382648" and rec["revenue"] is None
    assert DataValidator().split([rec], AD_DATA_SCHEMA)[1] == []


def test_hourly_row_is_not_misdated() -> None:
    """The verbatim hourly example has no stat_time_day: date None, so it is quarantined."""
    [rec] = norm([V13_ROW], account=ACCOUNT)
    assert rec["date"] is None
    [(_, errors)] = DataValidator().split([rec], AD_DATA_SCHEMA)[1]
    assert errors[0]["field"] == "date"


def test_v12_capture_numeric_id_and_float_strings() -> None:
    """A numeric ad_id becomes its digits; "116.0" counts become ints."""
    [rec] = norm([V12_ROW], account=ACCOUNT)
    assert rec["ad_id"] == "1678604629756978"
    assert (rec["impressions"], rec["clicks"], rec["spend"]) == (10505, 116, 76.73)
    assert rec["date"] == "2020-10-17" and rec["ctr"] == pytest.approx(116 / 10505)
    assert rec["conversions"] is None  # not requested in that capture
    assert DataValidator().split([rec], AD_DATA_SCHEMA)[1] == []


def test_ad_get_item_joins_by_string_id() -> None:
    """The /ad/get/ example (numeric ids) joins to report rows by the ad id's digits."""
    ad = {**AD_GET_ITEM, "ad_text": "Hello", "call_to_action": "SHOP_NOW",
          "landing_page_urls": ["https://x.test/a"], "campaign_id": 77, "adgroup_id": 88,
          "create_time": "2023-12-30 10:00:00", "secondary_status": "AD_STATUS_DELIVERY_OK"}
    row = daily({"dimensions": {"ad_id": 123456789}, "metrics": {"spend": 1.5,
                                                                 "impressions": 10,
                                                                 "clicks": 1}})
    [rec] = norm([row], ads={"123456789": ad}, account=ACCOUNT)
    assert (rec["ad_id"], rec["campaign_id"], rec["ad_group_id"]) == ("123456789", "77", "88")
    assert (rec["headline"], rec["cta"], rec["landing_page_url"]) == (
        "Hello", "SHOP_NOW", "https://x.test/a")
    assert (rec["start_date"], rec["status"]) == ("2023-12-30", "active")
    assert (rec["spend"], rec["impressions"], rec["ctr"]) == (1.5, 10, 0.1)


@pytest.mark.parametrize(("secondary", "operation", "status"), [
    ("AD_STATUS_DELIVERY_OK", "ENABLE", "active"),
    ("AD_STATUS_DELETE", "DISABLE", "deleted"),
    ("AD_STATUS_DISABLE", "DISABLE", "paused"),
    ("AD_STATUS_CAMPAIGN_DISABLE", "ENABLE", "paused"),
    ("AD_STATUS_REVIEW", "ENABLE", "other"),
    (None, "ENABLE", "active"),
    (None, None, None),
])
def test_status_mapping(secondary: str | None, operation: str | None, status: str | None) -> None:
    """secondary_status / operation_status map onto our five statuses."""
    ad = {"ad_id": "1", "secondary_status": secondary, "operation_status": operation}
    [rec] = norm([daily({"dimensions": {"ad_id": "1"}, "metrics": {}})], ads={"1": ad})
    assert rec["status"] == status


def test_nulls_numbers_and_garbage() -> None:
    """A null stays None, JSON numbers are typed, unparsable text stays raw for the validator."""
    rows = [
        daily({"dimensions": {"ad_id": "1"}, "metrics": {
            "spend": None, "impressions": 0, "clicks": 0, "conversion": None}}),
        daily({"dimensions": {"ad_id": "2"}, "metrics": {
            "spend": "3.10", "impressions": "abc", "clicks": "2", "conversion": "1"}}),
        daily({"dimensions": {"ad_id": "3"}, "metrics": {
            "spend": 4, "impressions": 100, "clicks": 4, "conversion": 2}}),
    ]
    a, b, c = norm(rows, account=ACCOUNT)
    assert a["spend"] is None and a["ctr"] is None and a["conversions"] is None
    assert b["impressions"] == "abc" and b["ctr"] is None and b["cpa"] == 3.1
    assert (c["spend"], c["cpa"], c["conversion_rate"], c["ctr"]) == (4.0, 2.0, 0.5, 0.04)
    good, bad = DataValidator().split([a, b, c], AD_DATA_SCHEMA)
    assert good == [c]
    assert [errs[0]["field"] for _, errs in bad] == ["spend", "impressions"]


def test_one_record_per_row_in_order_even_for_junk() -> None:
    """Non-dict rows still give one record each, in input order (index mapping holds)."""
    recs = norm([daily(V12_ROW), "junk", {"dimensions": None}], account=ACCOUNT)
    assert len(recs) == 3 and recs[0]["ad_id"] == "1678604629756978"
    assert recs[1]["ad_id"] is None and recs[2]["date"] is None
    assert all(list(r) == TT_FIELDS for r in recs)


def test_account_rows_with_counts() -> None:
    """Advertiser rows map to ACCOUNT_FIELDS; a day missing from counts had no delivery."""
    rows = [
        {"dimensions": {"advertiser_id": 872746382648, "stat_time_day": "2024-01-01 00:00:00"},
         "metrics": {"spend": "20.00", "impressions": "5830", "clicks": "69",
                     "conversion": "3"}},
        {"dimensions": {"stat_time_day": "2024-01-02 00:00:00"},
         "metrics": {"spend": 0, "impressions": 0, "clicks": 0, "conversion": 0}},
    ]
    n = DataNormalizer()
    a, b = n.normalize_account_data(rows, "tiktok", account=ACCOUNT,
                                    counts={"2024-01-01": (2, 7)})
    assert list(a) == list(ACCOUNT_FIELDS)
    assert (a["account_id"], a["date"], a["daily_spend"], a["daily_impressions"]) == (
        "872746382648", "2024-01-01", 20.0, 5830)
    assert (a["daily_conversions"], a["campaign_count"], a["ad_count"]) == (3, 2, 7)
    assert (a["account_name"], a["currency"], a["timezone"]) == (
        "Shop", "USD", "America/Los_Angeles")
    assert (b["campaign_count"], b["ad_count"], b["daily_spend"]) == (0, 0, 0.0)
    assert DataValidator().split([a, b], ACCOUNT_DATA_SCHEMA)[1] == []
    [c] = n.normalize_account_data(rows[:1], "tiktok", account={})
    assert (c["account_id"], c["campaign_count"]) == ("872746382648", None)


@pytest.mark.parametrize("ad,want", [
    ({"click_attribution_window": "SEVEN_DAYS", "view_attribution_window": "ONE_DAY"},
     "7d_click_1d_view"),
    ({"click_attribution_window": "ONE_DAY", "view_attribution_window": "OFF"}, "1d_click"),
    ({"click_attribution_window": "TWENTY_EIGHT_DAYS",
      "engaged_view_attribution_window": "SEVEN_DAYS", "view_attribution_window": "ONE_DAY"},
     "28d_click_7d_engaged_view_1d_view"),
    ({}, None),
    ({"click_attribution_window": "NEW_ENUM"}, None),
])
def test_attribution_window_spelled_from_ad_group(ad: dict[str, Any], want: str | None) -> None:
    """An ad group's window enums become 7d_click_1d_view; OFF and unknown parts drop out."""
    assert attribution_window(ad) == want
