"""DataNormalizer / CrossPlatformNormalizer on Facebook rows (docs/api-reference.md §1)."""

from __future__ import annotations

import copy
import subprocess
import sys
from typing import Any

import pytest

from within_daemon.records import ad_day
from within_daemon.schema import (
    ACCOUNT_FIELDS,
    AD_EXTRA_FIELDS,
    AD_FIELDS,
    PLATFORMS,
    AccountInfo,
)
from within_daemon.transforms import (
    CrossPlatformNormalizer,
    DataNormalizer,
    DataValidator,
)
from within_daemon.transforms.normalize import facebook as fb_normalize
from within_daemon.transforms.normalize import registry

# docs/api-reference.md §1.9 insights row (verbatim subset of the Airbyte fixture).
FIXTURE_ROW: dict[str, Any] = {
    "account_currency": "USD",
    "account_id": "798085168510957",
    "account_name": "Porsche Riverside",
    "actions": [
        {"action_type": "page_engagement", "value": "10", "1d_click": "10", "7d_click": "10",
         "28d_click": "10"},
        {"action_type": "post_engagement", "value": "10", "1d_click": "10", "7d_click": "10",
         "28d_click": "10"},
    ],
    "ad_id": "23854695759200548",
    "ad_name": "New - AIA - Advertised Offers - Cayenne",
    "adset_id": "23854404706320548",
    "adset_name": "New Cayenne",
    "buying_type": "AUCTION",
    "campaign_id": "23854404676180548",
    "campaign_name": "zzzzzNew - AIA - Advertised Offers",
    "clicks": "9",
    "cpc": "1.594444",
    "cpm": "77.567568",
    "ctr": "4.864865",
    "date_start": "2023-06-01",
    "date_stop": "2023-06-01",
    "impressions": "185",
    "objective": "PRODUCT_CATALOG_SALES",
    "optimization_goal": "OFFSITE_CONVERSIONS",
    "outbound_clicks": [{"action_type": "outbound_click", "value": "9"}],
    "spend": "14.35",
    "product_id": "5983858725075630",
}

AD_ID = FIXTURE_ROW["ad_id"]


def row(**over: Any) -> dict[str, Any]:
    r = copy.deepcopy(FIXTURE_ROW)
    r.update(over)
    return r


def one(r: dict[str, Any], normalizer: DataNormalizer | None = None, **kw: Any) -> dict[str, Any]:
    [rec] = (normalizer or DataNormalizer()).normalize_ad_data([r], "facebook", **kw)
    return rec


def purchases(n: str = "3", value: str = "120.5") -> dict[str, Any]:
    types = ("purchase", "omni_purchase", "offsite_conversion.fb_pixel_purchase")
    return {
        "actions": [{"action_type": t, "value": n} for t in types],
        "action_values": [{"action_type": t, "value": value} for t in types],
    }


def test_fixture_row_normalizes() -> None:
    """The §1.9 fixture row: strings become numbers, ctr is the fraction 9/185, not percent."""
    rec = one(row())
    assert tuple(rec) == (*AD_FIELDS, *AD_EXTRA_FIELDS)
    assert rec["impressions"] == 185 and type(rec["impressions"]) is int
    assert rec["clicks"] == 9 and type(rec["clicks"]) is int
    assert rec["spend"] == 14.35 and type(rec["spend"]) is float
    assert rec["ctr"] == pytest.approx(9 / 185)
    assert rec["ctr"] < 1
    assert rec["ad_id"] == AD_ID
    assert rec["platform"] == "facebook"
    assert rec["account_id"] == "798085168510957"
    assert rec["campaign_id"] == "23854404676180548"
    assert rec["ad_group_id"] == "23854404706320548"
    assert rec["date"] == "2023-06-01"
    assert rec["currency"] == "USD"
    # no purchase actions in the fixture: zero conversions, not unknown
    assert rec["conversions"] == 0 and rec["conversion_rate"] == 0.0 and rec["cpa"] is None
    assert rec["revenue"] == 0.0 and rec["roas"] == 0.0
    assert rec["relevance_score"] is None and rec["quality_score"] is None
    # no ads mapping given: creative fields unknown
    assert rec["headline"] is None and rec["status"] is None and rec["start_date"] is None


def test_fixture_row_passes_default_validator() -> None:
    """A normalized fixture row satisfies AD_DATA_SCHEMA and the cross-field rules."""
    assert DataValidator().validate(one(row())) == {"valid": True, "errors": []}


def test_overlapping_purchase_types_counted_once() -> None:
    """purchase, omni_purchase and the pixel purchase all report the same 3 sales: count 3."""
    rec = one(row(**purchases()))
    assert rec["conversions"] == 3
    assert rec["revenue"] == 120.5
    assert rec["cpa"] == pytest.approx(14.35 / 3)
    assert rec["conversion_rate"] == pytest.approx(3 / 9)
    assert rec["roas"] == pytest.approx(120.5 / 14.35)


def test_overlapping_types_refused_at_construction() -> None:
    """Configuring an aggregate type with one of its members is a config error."""
    with pytest.raises(ValueError, match="double count"):
        DataNormalizer(conversion_action_types=("omni_purchase",
                                                "offsite_conversion.fb_pixel_purchase"))
    with pytest.raises(ValueError, match="non-empty"):
        DataNormalizer(conversion_action_types=())


WEB_SYNONYMS = ("offsite_conversion.fb_pixel_purchase", "onsite_web_purchase",
                "web_in_store_purchase", "web_app_in_store_purchase")


def ui_row() -> dict[str, Any]:
    """Graph's purchase types for 5 purchases: 4 on the website, 1 on Meta."""
    counts = [*((t, 4) for t in WEB_SYNONYMS), ("onsite_conversion.purchase", 1),
              ("purchase", 5), ("omni_purchase", 5)]
    return row(actions=[{"action_type": t, "value": str(n)} for t, n in counts],
               action_values=[{"action_type": t, "value": f"{n * 10}.0"} for t, n in counts],
               inline_link_clicks="7", attribution_setting="7d_click_1d_view")


def test_default_is_the_purchases_column() -> None:
    """By default conversions/revenue are Ads Manager's "Purchases" (omni_purchase): 5, not 4."""
    rec = one(ui_row())
    assert (rec["conversions"], rec["revenue"]) == (5, 50.0)
    [acct] = DataNormalizer().normalize_account_data([ui_row()], "facebook")
    assert (acct["daily_conversions"], acct["daily_revenue"]) == (5, 50.0)


def test_website_synonyms_count_once() -> None:
    """The pixel purchase and its synonyms report the same 4 events: counted 4 times, never 16."""
    rec = one(ui_row(), DataNormalizer(
        conversion_action_types=("offsite_conversion.fb_pixel_purchase",)))
    assert (rec["conversions"], rec["revenue"]) == (4, 40.0)
    # A row that lacks the configured name but carries a synonym still counts, once.
    r = ui_row()
    r["actions"] = [a for a in r["actions"] if a["action_type"] != "omni_purchase"]
    assert one(r)["conversions"] == 5


@pytest.mark.parametrize("types", [
    ("offsite_conversion.fb_pixel_purchase", "onsite_web_purchase"),
    ("offsite_conversion.fb_pixel_purchase", "web_app_in_store_purchase"),
    ("purchase", "omni_purchase"),
    ("omni_purchase", "onsite_conversion.purchase"),
])
def test_synonyms_and_aggregates_refused(types: tuple[str, ...]) -> None:
    """Two names of one synonym group, or a total with a part, would double count: refused."""
    with pytest.raises(ValueError, match="double count"):
        DataNormalizer(conversion_action_types=types)


def test_disjoint_parts_add_up() -> None:
    """Website and on-Meta purchases are different events: configured together they add."""
    n = DataNormalizer(conversion_action_types=("offsite_conversion.fb_pixel_purchase",
                                                "onsite_conversion.purchase"))
    assert one(ui_row(), n)["conversions"] == 5


def test_link_clicks_and_attribution_setting_kept() -> None:
    """inline_link_clicks -> link_clicks; attribution_setting -> attribution_window."""
    rec = one(ui_row())
    assert (rec["link_clicks"], rec["clicks"]) == (7, 9)
    assert rec["attribution_window"] == "7d_click_1d_view"
    assert one(row())["link_clicks"] is None and one(row())["attribution_window"] is None
    bad = one(row(inline_link_clicks="-2"))
    assert [e["field"] for e in DataValidator().validate(bad)["errors"]] == ["link_clicks"]


def test_disjoint_types_summed_and_revenue_types_separate() -> None:
    """Disjoint configured types add up; revenue types can differ from conversion types."""
    n = DataNormalizer(
        conversion_action_types=("offsite_conversion.fb_pixel_lead",
                                 "offsite_conversion.fb_pixel_purchase"),
        revenue_action_types=("omni_purchase",),
    )
    r = row(
        actions=[{"action_type": "offsite_conversion.fb_pixel_lead", "value": "2"},
                 {"action_type": "offsite_conversion.fb_pixel_purchase", "value": "1"},
                 {"action_type": "purchase", "value": "1"}],
        action_values=[{"action_type": "omni_purchase", "value": "50"},
                       {"action_type": "offsite_conversion.fb_pixel_purchase", "value": "40"}],
    )
    rec = one(r, n)
    assert rec["conversions"] == 3
    assert rec["revenue"] == 50.0


def test_creative_fields_mapped() -> None:
    """Direct creative fields, adset dates, status and a watch URL for video_id."""
    ad = {
        "id": AD_ID, "campaign_id": "c", "adset_id": "s", "effective_status": "ADSET_PAUSED",
        "created_time": "2023-03-17T08:04:31-0700",
        "creative": {"title": "Drive it", "body": "Test drive today",
                     "call_to_action_type": "LEARN_MORE", "image_url": "https://img/1.jpg",
                     "thumbnail_url": "https://img/thumb.jpg", "video_id": "998",
                     "link_url": "https://example.com/cayenne"},
        "adset": {"start_time": "2023-05-01T00:00:00-0700", "end_time": "2023-07-01T23:59:59-0700"},
    }
    rec = one(row(), ads={AD_ID: ad})
    assert rec["headline"] == "Drive it"
    assert rec["description"] == "Test drive today"
    assert rec["cta"] == "LEARN_MORE"
    assert rec["image_url"] == "https://img/1.jpg"
    assert rec["video_url"] == "https://www.facebook.com/watch/?v=998"
    assert rec["landing_page_url"] == "https://example.com/cayenne"
    assert rec["start_date"] == "2023-05-01" and rec["end_date"] == "2023-07-01"
    assert rec["status"] == "paused"


def test_object_story_spec_fallbacks() -> None:
    """Without top-level creative fields, link_data supplies headline, text, CTA, link, picture."""
    ad = {
        "id": AD_ID, "effective_status": "ACTIVE", "created_time": "2023-03-17T08:04:31-0700",
        "creative": {"thumbnail_url": None, "object_story_spec": {"link_data": {
            "name": "Spring offer", "description": "Lease from 999", "picture": "https://img/p.jpg",
            "call_to_action": {"type": "SHOP_NOW", "value": {"link": "https://example.com/cta"}},
        }}},
    }
    rec = one(row(), ads={AD_ID: ad})
    assert rec["headline"] == "Spring offer"
    assert rec["description"] == "Lease from 999"
    assert rec["cta"] == "SHOP_NOW"
    assert rec["image_url"] == "https://img/p.jpg"
    assert rec["landing_page_url"] == "https://example.com/cta"
    assert rec["video_url"] is None
    assert rec["status"] == "active"
    ad["creative"]["object_story_spec"]["link_data"].update(
        {"message": "Primary text", "link": "https://example.com/link"})
    rec = one(row(), ads={AD_ID: ad})
    assert rec["description"] == "Primary text"
    assert rec["landing_page_url"] == "https://example.com/link"


def test_timestamps_with_offsets_become_local_dates() -> None:
    """created_time late in the evening at -0700 stays on its own date (no UTC shift)."""
    ad = {"id": AD_ID, "created_time": "2023-03-17T23:30:00-0700", "status": "ARCHIVED"}
    rec = one(row(), ads={AD_ID: ad})
    assert rec["start_date"] == "2023-03-17"
    assert rec["end_date"] is None
    assert rec["status"] == "archived"
    assert fb_normalize._ts_date("2023-03-17T08:04:31+0530") == "2023-03-17"
    assert fb_normalize._ts_date("yesterday") == "yesterday"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("ACTIVE", "active"), ("PAUSED", "paused"), ("CAMPAIGN_PAUSED", "paused"),
     ("ARCHIVED", "archived"), ("DELETED", "deleted"), ("DISAPPROVED", "other"),
     ("PENDING_REVIEW", "other")],
)
def test_status_mapping(raw: str, expected: str) -> None:
    """effective_status maps onto active / paused / archived / deleted / other."""
    assert one(row(), ads={AD_ID: {"effective_status": raw}})["status"] == expected


def test_missing_ad_leaves_creative_none() -> None:
    """A row whose ad is not in ``ads`` still normalizes, with creative fields None."""
    rec = one(row(), ads={"other": {"creative": {"title": "x"}}})
    assert rec["headline"] is None and rec["impressions"] == 185


def test_zero_denominators_give_none() -> None:
    """Zero impressions, clicks or spend make ctr, conversion_rate or roas None."""
    rec = one(row(impressions="0", clicks="0", spend="0", **purchases()))
    assert rec["ctr"] is None
    assert rec["conversion_rate"] is None
    assert rec["roas"] is None
    assert rec["cpa"] == 0.0


def test_unparsable_numbers_kept_raw_and_rejected() -> None:
    """'abc' impressions does not raise; the validator rejects that record naming the field."""
    rows = [row(), row(impressions="abc", ad_id="2"), row(spend="nan", ad_id="3")]
    recs = DataNormalizer().normalize_ad_data(rows, "facebook")
    assert recs[1]["impressions"] == "abc" and recs[1]["ctr"] is None
    assert recs[2]["spend"] == "nan" and recs[2]["roas"] is None
    good, bad = DataValidator().split(recs)
    assert good == [recs[0]]
    assert [e["field"] for e in bad[0][1]] == ["impressions"]
    assert "abc" in bad[0][1][0]["message"]
    assert [e["field"] for e in bad[1][1]] == ["spend"]


def test_bad_action_values_and_junk_rows_do_not_raise() -> None:
    """Garbage inside actions or a non-dict row becomes a rejectable record, not an exception."""
    recs = DataNormalizer().normalize_ad_data(
        [row(actions=[{"action_type": "omni_purchase", "value": "x"}]),
         row(actions="oops"), "not a row", row(quality_ranking=["odd"])],
        "facebook",
    )
    assert len(recs) == 4  # one record per row, in order: validator indexes point at raw rows
    assert recs[0]["conversions"] == "x" and recs[0]["cpa"] is None
    assert recs[1]["conversions"] == "oops"
    assert recs[2]["ad_id"] is None and tuple(recs[2]) == (*AD_FIELDS, *AD_EXTRA_FIELDS)
    assert recs[3]["quality_score"] is None
    [bad] = DataNormalizer().normalize_ad_data([row(action_values=[
        {"action_type": "omni_purchase", "value": "12,50"}])], "facebook")
    assert bad["revenue"] == "12,50" and bad["roas"] is None
    assert [e["field"] for e in DataValidator().validate(bad)["errors"]] == ["revenue"]
    assert DataValidator().validate(recs)["valid"] is False


def test_integral_float_text_accepted() -> None:
    """A count sent as '185.0' or a JSON number is still an int count."""
    rec = one(row(impressions="185.0", clicks=9, spend=14))
    assert rec["impressions"] == 185 and type(rec["impressions"]) is int
    assert rec["clicks"] == 9 and rec["spend"] == 14.0 and type(rec["spend"]) is float


def test_account_prefix_and_account_fallbacks() -> None:
    """act_ is stripped; currency and account_id fall back to the ``account`` mapping."""
    r = row(account_id="act_42")
    del r["account_currency"]
    rec = one(r, account={"currency": "EUR", "account_id": "act_42"})
    assert rec["account_id"] == "42" and rec["currency"] == "EUR"
    del r["account_id"]
    assert one(r, account={"account_id": "act_7"})["account_id"] == "7"


def test_quality_ranking_mapped() -> None:
    """quality_ranking labels map to a 0..1 score; UNKNOWN maps to None."""
    assert one(row(quality_ranking="ABOVE_AVERAGE"))["quality_score"] == 0.8
    assert one(row(quality_ranking="BELOW_AVERAGE_10"))["quality_score"] == 0.05
    assert one(row(quality_ranking="UNKNOWN"))["quality_score"] is None


def test_unknown_platform_raises() -> None:
    """Platforms without a registered normalizer raise a clear ValueError."""
    with pytest.raises(ValueError, match="no normalizer for platform 'snapchat'"):
        DataNormalizer().normalize_ad_data([], "snapchat")
    with pytest.raises(ValueError, match="no normalizer for platform 'pinterest'"):
        DataNormalizer().normalize_account_data([], "pinterest")


def test_registry_adds_platforms(monkeypatch: pytest.MonkeyPatch) -> None:
    """A function registered for a platform is used without changing callers."""
    monkeypatch.setitem(registry.AD_NORMALIZERS, "google",
                        lambda cfg, data, ads=None, account=None:
                        [ad_day({"platform": "google", "ad_id": str(len(data))})])
    assert DataNormalizer().normalize_ad_data([1, 2], "google") == [
        {**dict.fromkeys(AD_FIELDS), "platform": "google", "ad_id": "2"}]


def test_account_rows_normalize() -> None:
    """level=account rows map to ACCOUNT_FIELDS with account metadata and per-day counts."""
    r = {"account_id": "798085168510957", "account_currency": "USD", "date_start": "2023-06-01",
         "impressions": "1000", "clicks": "40", "spend": "100.00", **purchases("4", "400")}
    [rec] = DataNormalizer().normalize_account_data(
        [r], "facebook",
        account={"name": "Porsche Riverside", "timezone_name": "America/Los_Angeles"},
        counts={"2023-06-01": (3, 12)},
    )
    assert tuple(rec) == ACCOUNT_FIELDS
    assert rec["account_name"] == "Porsche Riverside"
    assert rec["timezone"] == "America/Los_Angeles"
    assert (rec["daily_impressions"], rec["daily_clicks"], rec["daily_spend"]) == (1000, 40, 100.0)
    assert rec["daily_conversions"] == 4 and rec["daily_revenue"] == 400.0
    assert rec["daily_roas"] == 4.0
    assert (rec["campaign_count"], rec["ad_count"]) == (3, 12)
    [rec] = DataNormalizer().normalize_account_data([r | {"date_start": "2023-06-02"}], "facebook")
    assert rec["campaign_count"] is None and rec["account_name"] is None


def test_cross_platform_normalize_and_combine() -> None:
    """Its normalize delegates; combine concatenates and names a duplicate AD_KEY."""
    cp = CrossPlatformNormalizer()
    a = cp.normalize([row()], platform="facebook")
    b = cp.normalize([row(date_start="2023-06-02")], platform="facebook")
    assert cp.combine([a, b]) == a + b
    with pytest.raises(ValueError, match="ad_id=23854695759200548 date=2023-06-01"):
        cp.combine([a, b, a])


def test_get_ads_output_normalizes_with_its_nested_insights() -> None:
    """Ads from get_ads(fields=[..., 'insights']) normalize to one record per nested row."""
    ad = {"id": AD_ID, "name": "Cayenne", "status": "ACTIVE",
          "creative": {"title": "Drive it", "body": "Test drive today"},
          "insights": [row(), row(date_start="2023-06-02", date_stop="2023-06-02")]}
    graph_shape = {**ad, "id": "2", "insights": {"data": [row(ad_id="2")]}}
    recs = DataNormalizer().normalize_ad_data(data=[ad, graph_shape, {**ad, "id": "3",
                                                                       "insights": []}],
                                              platform="facebook")
    assert [(r["ad_id"], r["date"]) for r in recs] == [
        (AD_ID, "2023-06-01"), (AD_ID, "2023-06-02"), ("2", "2023-06-01")]
    assert recs[0]["headline"] == "Drive it" and recs[0]["impressions"] == 185
    assert recs[0]["status"] == "active"
    # Plain insights rows are untouched by the check.
    assert DataNormalizer().normalize_ad_data([row()], "facebook")[0]["headline"] is None


def test_facebook_ad_metadata_is_computed_once_per_ad_per_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pages of one run share its ads mapping: each ad's creative is read once, not per page."""
    calls: list[Any] = []
    real = fb_normalize._fb_ad_info
    monkeypatch.setattr(fb_normalize, "_fb_ad_info", lambda ad: calls.append(ad) or real(ad))
    ads = {str(i): {"id": str(i), "creative": {"title": f"T{i}"}} for i in range(3)}
    norm = DataNormalizer()
    pages = [[{"ad_id": str(i), "date_start": f"2024-01-0{day}"} for i in range(3)]
             for day in (1, 2, 3)]
    out = [norm.normalize_ad_data(p, "facebook", ads=ads) for p in pages]
    assert len(calls) == 3
    assert [r["headline"] for r in out[2]] == ["T0", "T1", "T2"]
    norm.forget_ads(ads)  # the run ended: the next run's pages read the ads again
    norm.normalize_ad_data(pages[0], "facebook", ads=ads)
    assert len(calls) == 6


def test_the_registry_names_a_normalizer_for_every_platform() -> None:
    """Every platform has an ad normalizer in the one table, API platforms an account one.

    A fresh interpreter finds them without importing any platform module first (nothing
    registers itself on import).
    """
    assert set(registry.AD_NORMALIZERS) == set(PLATFORMS)
    assert set(registry.ACCOUNT_NORMALIZERS) == set(PLATFORMS) - {"internal"}
    code = ("from within_daemon.transforms.normalize.normalizer import DataNormalizer\n"
            "print(len(DataNormalizer().normalize_ad_data([{'ad_id': '1'}], 'tiktok')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "1"


def test_account_info_reads_the_seed_dict_form() -> None:
    """A dict account (``timezone_name``, ``account_name``) becomes the same AccountInfo."""
    typed = AccountInfo(account_id="1", name="N", currency="USD", timezone="Asia/Tokyo",
                        details={"account_status": 1})
    assert AccountInfo.of({"account_id": "1", "account_name": "N", "currency": "USD",
                           "timezone_name": "Asia/Tokyo", "account_status": 1}) == typed
    assert AccountInfo.of(typed) is typed
    assert AccountInfo.of(None) == AccountInfo()
    row = {"account_id": "1", "date_start": "2023-06-01", "spend": "1.00"}
    norm = DataNormalizer()
    assert norm.normalize_account_data([row], "facebook", account=typed) == \
        norm.normalize_account_data([row], "facebook", account={
            "account_name": "N", "currency": "USD", "timezone_name": "Asia/Tokyo"})
