"""Audience insights enrichment: normalization of breakdown rows and the per-ad summary."""

from __future__ import annotations

from typing import Any

import pytest

from within_daemon.loaders.schema.columns import sql_columns
from within_daemon.transforms.enrichment import audience


def raw(ad: str, day: str, age: str, gender: str, imp: int, **kw: Any) -> dict[str, Any]:
    return {"ad_id": ad, "date_start": day, "date_stop": day, "age": age, "gender": gender,
            "impressions": str(imp), **kw}


def norm(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return audience.normalize_audience(rows, account_id="act_1")


def test_normalize_types_and_conversions() -> None:
    """Graph strings become numbers, conversions count only the configured action type."""
    row = raw("9", "2024-03-01", "25-34", "female", 120, clicks="7", spend="3.10", actions=[
        {"action_type": "link_click", "value": "5"},
        {"action_type": "offsite_conversion.fb_pixel_purchase", "value": "2"},
        {"action_type": "purchase", "value": "2"},
    ])
    assert norm([row]) == [{
        "platform": "facebook", "account_id": "1", "ad_id": "9", "date": "2024-03-01",
        "age": "25-34", "gender": "female", "impressions": 120, "clicks": 7, "spend": 3.1,
        "conversions": 2, "level": "ad",
    }]


def test_normalize_drops_rows_without_key_and_defaults_unknown() -> None:
    """Rows lacking ad_id or date are dropped; a missing gender or age becomes 'unknown'."""
    rows = [{"date_start": "2024-03-01", "impressions": "5"},
            {"ad_id": "1", "impressions": "5"},
            {"ad_id": "1", "date_start": "2024-03-01", "impressions": "bad"}]
    out = norm(rows)
    assert len(out) == 1
    assert (out[0]["age"], out[0]["gender"], out[0]["impressions"]) == ("unknown", "unknown", 0)


def test_summary_hand_checked() -> None:
    """Top age band, its share and the gender split match values computed by hand."""
    rows = norm([
        raw("1", "2024-03-01", "18-24", "female", 100),
        raw("1", "2024-03-01", "18-24", "male", 50),
        raw("1", "2024-03-01", "25-34", "female", 60),
        raw("1", "2024-03-02", "25-34", "male", 120),
        raw("1", "2024-03-02", "35-44", "unknown", 70),
    ])
    # Ages: 18-24 = 150, 25-34 = 180, 35-44 = 70 of 400.
    # Genders: female 160, male 170, unknown 70.
    [s] = audience.summarize(rows)
    assert s["platform"] == "facebook" and s["account_id"] == "1" and s["ad_id"] == "1"
    assert s["top_age_band"] == "25-34"
    assert s["top_age_share"] == pytest.approx(0.45)
    assert s["female_share"] == pytest.approx(0.40)
    assert s["male_share"] == pytest.approx(0.425)
    assert s["unknown_gender_share"] == pytest.approx(0.175)
    assert s["audience_days"] == 2
    assert set(s) == {*audience.SUMMARY_KEY, *(c for c, _ in audience.fields()), "level"}


def test_summary_zero_impressions_gives_none_shares() -> None:
    """An ad with rows but no impressions has no top band and no shares, but counts days."""
    [s] = audience.summarize(norm([raw("2", "2024-03-01", "18-24", "female", 0),
                                   raw("2", "2024-03-02", "65+", "male", 0)]))
    assert s["top_age_band"] is None and s["top_age_share"] is None
    assert s["female_share"] is None and s["male_share"] is None
    assert s["unknown_gender_share"] is None
    assert s["audience_days"] == 2


def test_summary_unknown_gender_only() -> None:
    """All impressions of unknown gender give an unknown share of 1 and 0 for the others."""
    [s] = audience.summarize(norm([raw("3", "2024-03-01", "45-54", "unknown", 40),
                                   raw("3", "2024-03-01", "55-64", "unknown", 10)]))
    assert s["unknown_gender_share"] == 1.0
    assert s["female_share"] == 0.0 and s["male_share"] == 0.0
    assert (s["top_age_band"], s["top_age_share"]) == ("45-54", 0.8)


def test_summary_ties_and_order_independent() -> None:
    """A tie on impressions goes to the band that sorts first, whatever the row order."""
    rows = norm([raw("4", "2024-03-01", "35-44", "male", 30),
                 raw("4", "2024-03-01", "18-24", "female", 30)])
    assert audience.summarize(rows) == audience.summarize(list(reversed(rows)))
    assert audience.summarize(rows)[0]["top_age_band"] == "18-24"


def test_summary_groups_per_ad() -> None:
    """Each ad gets its own summary, sorted by key."""
    rows = norm([raw("b", "2024-03-01", "18-24", "male", 10),
                 raw("a", "2024-03-01", "65+", "female", 10)])
    assert [s["ad_id"] for s in audience.summarize(rows)] == ["a", "b"]


def test_columns_are_typed_and_unique() -> None:
    """Summary and per-day field lists have distinct names and types the loader stores."""
    for fields in (audience.fields(), audience.AUDIENCE_FIELDS):
        names = [c for c, _ in fields]
        assert len(names) == len(set(names))
        assert all(t.split()[0] in {"TEXT", "REAL", "INTEGER"} for _, t in sql_columns(fields))
    assert all(t.endswith("NOT NULL")
               for _, t in sql_columns(audience.AUDIENCE_FIELDS, not_null=True))


def test_age_bands_and_genders_read_alike_on_every_platform() -> None:
    """Google and TikTok enum names become Facebook's band and gender spellings."""
    assert [audience.age_band(v) for v in ("AGE_RANGE_25_34", "AGE_RANGE_65_UP",
                                           "AGE_RANGE_UNDETERMINED", "AGE_18_24",
                                           "AGE_55_100", None)] == [
        "25-34", "65+", "unknown", "18-24", "55+", "unknown"]
    assert [audience.gender_name(v) for v in ("MALE", "FEMALE", "UNDETERMINED", "NONE",
                                              "GENDER_FEMALE")] == [
        "male", "female", "unknown", "unknown", "female"]


def test_google_rows_are_ad_group_rows_split_one_way() -> None:
    """An age_range_view row has gender 'all', a gender_view row age 'all', level ad_group."""
    rows = [
        {"_view": "age_range_view", "adGroup": {"id": "77"}, "segments": {"date": "2024-03-01"},
         "adGroupCriterion": {"ageRange": {"type": "AGE_RANGE_25_34"}},
         "metrics": {"impressions": "300", "clicks": "9", "costMicros": "1250000",
                     "conversions": 2.5}},
        {"_view": "gender_view", "adGroup": {"id": "77"}, "segments": {"date": "2024-03-01"},
         "adGroupCriterion": {"gender": {"type": "FEMALE"}}, "metrics": {"impressions": "200"}},
        {"_view": "gender_view", "segments": {"date": "2024-03-01"}},  # no ad group: dropped
    ]
    got = audience.normalize_google_audience(rows, account_id="555")
    assert [(r["ad_id"], r["age"], r["gender"], r["impressions"], r["spend"], r["conversions"],
             r["level"]) for r in got] == [
        ("77", "25-34", "all", 300, 1.25, 2, "ad_group"),
        ("77", "all", "female", 200, 0.0, 0, "ad_group")]


def test_tiktok_rows_cross_age_and_gender_per_ad() -> None:
    """TikTok audience rows are per ad, age x gender, with string metrics."""
    rows = [{"dimensions": {"ad_id": 1799, "stat_time_day": "2024-03-01 00:00:00",
                            "age": "AGE_18_24", "gender": "NONE"},
             "metrics": {"impressions": "40", "clicks": "2", "spend": "1.50",
                         "conversion": "1"}},
            {"dimensions": {"stat_time_day": "2024-03-01 00:00:00"}, "metrics": {}}]
    assert audience.normalize_tiktok_audience(rows, account_id="71") == [{
        "platform": "tiktok", "account_id": "71", "ad_id": "1799", "date": "2024-03-01",
        "age": "18-24", "gender": "unknown", "impressions": 40, "clicks": 2, "spend": 1.5,
        "conversions": 1, "level": "ad"}]


def test_summary_of_split_rows_uses_each_dimension_once() -> None:
    """Age-only rows make the age split, gender-only rows the gender split."""
    rows = [
        {"platform": "google", "account_id": "5", "ad_id": "7", "date": "2024-03-01",
         "age": a, "gender": g, "impressions": n, "level": "ad_group"}
        for a, g, n in (("18-24", "all", 30), ("25-34", "all", 70), ("all", "female", 60),
                        ("all", "male", 40))
    ]
    [s] = audience.summarize(rows)
    assert (s["top_age_band"], s["top_age_share"], s["female_share"], s["male_share"],
            s["unknown_gender_share"], s["level"]) == ("25-34", 0.7, 0.6, 0.4, 0.0, "ad_group")
