"""Amazon normalizer on report rows shaped like ad-apis.md §3.3 (the AMZ-DOCS sample)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from within_daemon.schema import (
    ACCOUNT_DATA_SCHEMA,
    ACCOUNT_FIELDS,
    AD_DATA_SCHEMA,
    AD_FIELDS,
    AccountInfo,
)
from within_daemon.transforms import DataNormalizer, DataValidator
from within_daemon.transforms.normalize.amazon import attribution_window

# ad-apis.md §3.3 sample download (AMZ-DOCS get-started, verbatim), plus the daily columns
# our ad report asks for (date, adId, sales7d, currency) on the first row.
SAMPLE: list[dict[str, Any]] = [
    {"purchases7d": 2, "cost": 14.5, "purchases30d": 3, "endDate": "2022-07-10",
     "campaignId": 158410630682987, "clicks": 13, "purchases1d": 1, "impressions": 2216,
     "adGroupId": 72320882861500, "startDate": "2022-07-05", "purchases14d": 3},
    {"purchases7d": 2, "cost": 9.45, "purchases30d": 2, "endDate": "2022-07-10",
     "campaignId": 158410630682987, "clicks": 10, "purchases1d": 2, "impressions": 3721,
     "adGroupId": 55720282058882, "startDate": "2022-07-05", "purchases14d": 2},
]
DAILY = {"date": "2022-07-05", "adId": 301234567890123, "sales7d": 58.0, "sales1d": 29.0,
         "campaignBudgetCurrencyCode": "CAD"}
ACCOUNT = {"account_id": "999999999", "name": "Name of the Account", "currency": "USD",
           "timezone_name": "America/Los_Angeles", "attribution_window": "7d"}


def rows() -> list[dict[str, Any]]:
    out = copy.deepcopy(SAMPLE)
    out[0].update(DAILY)
    return out


def norm(data: list[Any], account: dict[str, Any] | None = ACCOUNT) -> list[dict[str, Any]]:
    return DataNormalizer().normalize_ad_data(data, "amazon", account=account)


def test_sample_rows_map_to_every_ad_field() -> None:
    """Each sample row becomes one record with AD_FIELDS + its window, ids as strings."""
    first, second = norm(rows())
    assert list(first) == [*AD_FIELDS, "attribution_window", "link_clicks"]
    assert first["ad_id"] == "301234567890123" and second["ad_id"] is None
    assert first["campaign_id"] == "158410630682987" and first["ad_group_id"] == "72320882861500"
    assert (first["account_id"], first["platform"], first["date"]) == (
        "999999999", "amazon", "2022-07-05")
    assert (first["impressions"], first["clicks"], first["spend"]) == (2216, 13, 14.5)
    assert first["ctr"] == pytest.approx(13 / 2216) and 0 <= first["ctr"] <= 1
    assert (first["conversions"], first["revenue"]) == (2, 58.0)
    assert first["conversion_rate"] == pytest.approx(2 / 13)
    assert first["cpa"] == pytest.approx(7.25) and first["roas"] == pytest.approx(58 / 14.5)
    assert first["currency"] == "CAD" and second["currency"] == "USD"
    assert second["revenue"] is None and second["roas"] is None  # no sales7d column
    assert all(first[k] is None for k in ("headline", "cta", "status", "quality_score"))


@pytest.mark.parametrize(("window", "conversions", "revenue"), [
    ("1d", 1, 29.0), ("7d", 2, 58.0), ("14d", 3, None), ("30d", 3, None), ("28d", 2, 58.0),
    (None, 2, 58.0),
])
def test_attribution_window_picks_the_columns(
    window: str | None, conversions: int, revenue: float | None
) -> None:
    """The account's window picks purchasesNd / salesNd; an unknown window falls to 7d."""
    [rec] = norm(rows()[:1], {**ACCOUNT, "attribution_window": window})
    assert (rec["conversions"], rec["revenue"]) == (conversions, revenue)
    assert attribution_window(AccountInfo(attribution_window=window)) == (
        window if window in ("1d", "7d", "14d", "30d") else "7d")


def test_order_kept_and_bad_values_stay_raw_for_the_validator() -> None:
    """Unparsable values stay raw, so the validator rejects that row by its index only."""
    data = rows() + [{**SAMPLE[0], "date": "2022-07-06", "adId": 5, "impressions": "abc"},
                     "not a row", {**SAMPLE[1], "date": "2022-07-07", "adId": 6.0,
                                   "cost": "1.5", "clicks": "7"}]
    recs = norm(data)
    assert len(recs) == 5
    assert recs[2]["impressions"] == "abc" and recs[2]["ctr"] is None
    assert recs[3]["ad_id"] is None and recs[3]["impressions"] is None
    assert (recs[4]["ad_id"], recs[4]["spend"], recs[4]["clicks"]) == ("6", 1.5, 7)
    errors = DataValidator().validate(recs, AD_DATA_SCHEMA)["errors"]
    assert {e["index"] for e in errors} == {1, 2, 3}  # row 1 lacks a date, 3 lacks all


def test_zero_values_give_no_ratios() -> None:
    """No impressions, clicks, spend or conversions: ctr, rates, cpa and roas are None."""
    row = {"date": "2022-07-05", "adId": 1, "impressions": 0, "clicks": 0, "cost": 0,
           "purchases7d": 0, "sales7d": 0}
    [rec] = norm([row])
    assert rec["spend"] == 0.0 and isinstance(rec["spend"], float)
    assert (rec["ctr"], rec["conversion_rate"], rec["cpa"], rec["roas"]) == (None,) * 4


def test_account_rows_use_counts_and_account_fields() -> None:
    """Day totals become account records with the day's campaign and ad counts."""
    day = {"date": "2022-07-05", "campaigns": 2, "campaignBudgetCurrencyCode": "USD",
           "impressions": 5937, "clicks": 23, "cost": 23.95, "purchases7d": 4,
           "sales7d": 100.0, "unitsSoldClicks7d": 5}
    other = {**day, "date": "2022-07-06", "cost": None}
    recs = DataNormalizer().normalize_account_data(
        [day, other], "amazon", account=ACCOUNT, counts={"2022-07-05": (2, 7)})
    first, second = recs
    assert list(first) == list(ACCOUNT_FIELDS)
    assert (first["account_id"], first["account_name"], first["timezone"]) == (
        "999999999", "Name of the Account", "America/Los_Angeles")
    assert (first["daily_spend"], first["daily_impressions"], first["daily_clicks"]) == (
        23.95, 5937, 23)
    assert (first["daily_conversions"], first["daily_revenue"]) == (4, 100.0)
    assert first["daily_roas"] == pytest.approx(100 / 23.95)
    assert (first["campaign_count"], first["ad_count"]) == (2, 7)
    assert (second["campaign_count"], second["ad_count"]) == (2, None)
    errors = DataValidator().validate(recs, ACCOUNT_DATA_SCHEMA)["errors"]
    assert [(e["index"], e["field"]) for e in errors] == [(1, "daily_spend")]


def test_brands_and_display_rows_use_their_bare_14_day_columns() -> None:
    """An SB/SD row's bare purchases/sales count (window 14d); an SB ad gets its headline."""
    row = {"date": "2024-03-01", "campaignId": 1, "adGroupId": 2, "adId": 3,
           "impressions": 100, "clicks": 4, "cost": 2.5, "purchases": 2, "sales": 40.0}
    sb_ad = {"id": "3", "creative": {"headline": "Trail gear that lasts"},
             "landingPage": {"url": "https://www.amazon.com/stores/page/3"}}
    [rec] = DataNormalizer().normalize_ad_data([row], "amazon", ads={"3": sb_ad},
                                               account={"account_id": "9",
                                                        "attribution_window": "7d"})
    assert (rec["conversions"], rec["revenue"], rec["attribution_window"]) == (2, 40.0, "14d")
    assert rec["headline"] == "Trail gear that lasts"
    assert rec["landing_page_url"] == "https://www.amazon.com/stores/page/3"
