"""DataValidator: schema rules, cross-field rules, error shape and split()."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from within_daemon.schema import ACCOUNT_DATA_SCHEMA, AD_DATA_SCHEMA
from within_daemon.transforms import DataValidator


def ad(**over: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "ad_id": "123", "platform": "facebook", "account_id": "42", "campaign_id": "c",
        "ad_group_id": "g", "headline": "Hi", "description": None, "cta": None,
        "image_url": None, "video_url": None, "landing_page_url": None,
        "start_date": "2023-01-01", "end_date": None, "status": "active",
        "impressions": 100, "clicks": 5, "ctr": 0.05, "spend": 10.0, "conversions": 1,
        "conversion_rate": 0.2, "cpa": 10.0, "roas": 2.0, "relevance_score": None,
        "quality_score": None, "date": "2023-01-01", "currency": "USD", "revenue": 20.0,
    }
    rec.update(over)
    return rec


def errors_of(rec: Any, schema: dict[str, Any] | None = None, **kw: Any) -> list[tuple[Any, str]]:
    res = DataValidator(**kw).validate(rec, schema)
    assert res["valid"] is (not res["errors"])
    return [(e["field"], e["message"]) for e in res["errors"]]


def fields_of(rec: Any, schema: dict[str, Any] | None = None, **kw: Any) -> list[Any]:
    return [f for f, _ in errors_of(rec, schema, **kw)]


def test_valid_record_and_default_schema() -> None:
    """A complete ad record passes; schema=None means AD_DATA_SCHEMA."""
    assert DataValidator().validate(ad()) == {"valid": True, "errors": []}
    assert DataValidator().validate([ad()], AD_DATA_SCHEMA)["valid"] is True


@pytest.mark.parametrize(
    ("typ", "good", "bad"),
    [
        ("string", ["", "x"], [1, b"x", ["x"]]),
        ("integer", [0, 7, 3.0, -2], [True, 3.5, "3", float("nan"), [1]]),
        ("float", [0.5, 2, -1.0], [False, "1.0", float("nan"), float("inf"), [1.0]]),
        ("date", ["2023-01-01", dt.date(2023, 1, 1)],
         ["2023-02-30", "01/02/2023", "20230101", dt.datetime(2023, 1, 1), 20230101]),
    ],
)
def test_type_rule(typ: str, good: list[Any], bad: list[Any]) -> None:
    """Each type accepts its values (float takes ints, integer takes 3.0) and rejects others."""
    schema = {"v": {"type": typ}}
    for value in good:
        assert fields_of({"v": value}, schema, cross_field_rules=()) == [], value
    for value in bad:
        errs = errors_of({"v": value}, schema, cross_field_rules=())
        assert [f for f, _ in errs] == ["v"], value
        assert typ in errs[0][1] or "date" in errs[0][1], errs


def test_required_rule() -> None:
    """The required rule rejects a missing key and None; optional fields accept None or absence."""
    schema = {"a": {"type": "string", "required": True}, "b": {"type": "string"}}
    assert errors_of({}, schema) == [("a", "required field is missing")]
    assert errors_of({"a": None, "b": None}, schema) == [("a", "required field is None")]
    assert errors_of({"a": "x"}, schema) == []


def test_max_length_rule() -> None:
    """max_length allows exactly the limit and rejects one more character."""
    schema = {"h": {"type": "string", "max_length": 3}}
    assert fields_of({"h": "abc"}, schema) == []
    assert fields_of({"h": "abcd"}, schema) == ["h"]


def test_allowed_rule() -> None:
    """The allowed rule accepts listed values only, for any type, unhashable input too."""
    assert fields_of(ad(platform="tiktok")) == []
    assert fields_of(ad(status="running")) == ["status"]
    assert errors_of(ad(platform="myspace")) == [
        ("platform", "'myspace' is not one of ['amazon', 'facebook', 'google', 'internal', "
                     "'tiktok']")]
    schema = {"n": {"type": "integer", "allowed": [1, 2]}, "x": {"allowed": ["a"]}}
    assert fields_of({"n": 2, "x": "a"}, schema) == []
    assert fields_of({"n": 3, "x": ["a"]}, schema) == ["n", "x"]


def test_min_max_rules() -> None:
    """The min and max rules are inclusive bounds."""
    schema = {"ctr": {"type": "float", "min": 0, "max": 1}}
    for ok in (0, 0.0, 0.5, 1):
        assert fields_of({"ctr": ok}, schema) == []
    for bad in (-0.01, 1.01):
        assert fields_of({"ctr": bad}, schema) == ["ctr"]
    assert fields_of(ad(impressions=-1, clicks=-5), cross_field_rules=()) == [
        "impressions", "clicks"]


@pytest.mark.parametrize(
    ("schema", "match"),
    [
        ({"a": {"type": "string", "maxlen": 3}}, "unknown rule.*maxlen"),
        ({"a": {"type": "str"}}, "unknown type 'str'"),
        ({"a": {"type": "string", "min": 1}}, "'min'/'max' need type"),
        ({"a": {"type": "integer", "max_length": 1}}, "'max_length' needs type 'string'"),
        ({"a": {"type": "integer", "min": "0"}}, "'min' must be a number"),
        ({"a": {"required": "yes"}}, "'required' must be true or false"),
        ({"a": {"allowed": "abc"}}, "'allowed' must be a list"),
        ({"a": "string"}, "rules must be a mapping"),
    ],
)
def test_bad_schema_fails_at_build_time(schema: dict[str, Any], match: str) -> None:
    """Schema mistakes raise ValueError when the validator is built or the schema first used."""
    with pytest.raises(ValueError, match=match):
        DataValidator(schema)
    with pytest.raises(ValueError, match=match):
        DataValidator().validate([], schema)


def test_unknown_cross_field_rule_name() -> None:
    """An unknown cross-field rule name is a construction-time ValueError."""
    with pytest.raises(ValueError, match="unknown cross-field rule"):
        DataValidator(cross_field_rules=["clicks_below_impressions"])


def test_cross_field_clicks_le_impressions() -> None:
    """A record with clicks > impressions is rejected on the clicks field."""
    errs = errors_of(ad(clicks=101, ctr=None))
    assert errs == [("clicks", "clicks (101) exceed impressions (100)")]


def test_cross_field_end_after_start() -> None:
    """end_date before start_date is rejected; equal, later or open-ended is fine."""
    assert fields_of(ad(end_date="2022-12-31")) == ["end_date"]
    assert fields_of(ad(end_date=dt.date(2022, 12, 31))) == ["end_date"]
    assert fields_of(ad(end_date="2023-01-01")) == []
    assert fields_of(ad(start_date=None, end_date="2022-01-01")) == []


def test_cross_field_spend_non_negative() -> None:
    """Negative spend is caught by the rule when the schema has no spend min, once otherwise."""
    assert fields_of({"spend": -1.0}, {"spend": {"type": "float"}}) == ["spend"]
    assert fields_of(ad(spend=-1.0, cpa=None, roas=None)) == ["spend"]


def test_cross_field_ctr_consistent() -> None:
    """The ctr must equal clicks / impressions within 1e-6 (None with 0 impressions)."""
    assert fields_of(ad(ctr=0.05 + 5e-7)) == []
    # Facebook's percent ctr slipping through breaks both the schema max and the rule
    errs = errors_of(ad(ctr=5.0))
    assert [f for f, _ in errs] == ["ctr", "ctr"]
    assert "above max 1" in errs[0][1] and "!= clicks / impressions" in errs[1][1]
    assert fields_of(ad(ctr=0.051)) == ["ctr"]
    assert fields_of(ad(impressions=0, clicks=0, ctr=0.0)) == ["ctr"]
    assert fields_of(ad(ctr=None)) == []


def test_conversions_le_clicks_is_opt_in() -> None:
    """View-through conversions above clicks pass by default and fail when the rule is on."""
    rec = ad(conversions=9)
    assert fields_of(rec) == []
    rules = ["conversions_le_clicks"]
    assert fields_of(rec, cross_field_rules=rules) == ["conversions"]


def test_cross_field_rules_can_be_switched_off() -> None:
    """cross_field_rules=() leaves only the schema checks."""
    assert fields_of(ad(clicks=500, ctr=0.9, end_date="2000-01-01"), cross_field_rules=()) == []


def test_errors_carry_index_key_and_value() -> None:
    """Each error names field, index in the batch, the natural key and the offending value."""
    res = DataValidator().validate([ad(), ad(ad_id="9", date="2023-01-02", impressions="abc")])
    assert res["valid"] is False
    [err] = res["errors"]
    assert err["field"] == "impressions"
    assert err["index"] == 1
    assert err["key"] == "ad_id=9 date=2023-01-02"
    assert err["value"] == "abc"
    assert "expected integer, got str 'abc'" in err["message"]


def test_account_records_and_keys() -> None:
    """Account-day records validate against ACCOUNT_DATA_SCHEMA with an account_id key."""
    rec = {"account_id": "42", "platform": "facebook", "date": "2023-01-01",
           "daily_spend": 1.0, "daily_impressions": 10, "daily_clicks": 11}
    [err] = DataValidator(ACCOUNT_DATA_SCHEMA).validate(rec)["errors"]
    assert err["field"] == "daily_clicks" and err["key"] == "account_id=42 date=2023-01-01"


def test_non_mapping_record_and_missing_key() -> None:
    """A non-dict record is one error with field None; a keyless record has key None."""
    [err] = DataValidator().validate([ad(), "junk"])["errors"]
    assert (err["field"], err["index"], err["key"]) == (None, 1, None)
    errs = DataValidator().validate({})["errors"]
    assert errs and all(e["key"] is None for e in errs)


def test_split_partitions_exactly() -> None:
    """split() returns every good record and every bad one with its errors, order kept."""
    recs = [ad(ad_id=str(i)) for i in range(6)]
    recs[1]["spend"] = None
    recs[4]["date"] = "2023-13-01"
    good, bad = DataValidator().split(recs)
    assert good == [recs[0], recs[2], recs[3], recs[5]]
    assert [r for r, _ in bad] == [recs[1], recs[4]]
    assert [[e["field"] for e in errs] for _, errs in bad] == [["spend"], ["date"]]
    assert [errs[0]["index"] for _, errs in bad] == [1, 4]
    assert len(good) + len(bad) == len(recs)


def test_schema_compiled_once_per_identity() -> None:
    """The same schema object reuses its compiled checks; an equal copy compiles anew."""
    v = DataValidator()
    schema = {"a": {"type": "string"}}
    first = v._compiled(schema)
    assert v._compiled(schema) is first
    assert v._compiled(dict(schema)) is not first
    assert v._compiled(None) is v._compiled(AD_DATA_SCHEMA)


@pytest.mark.parametrize(
    ("field", "value", "why"),
    [
        ("headline", "Sale\x00now", "NUL character"),
        ("cta", "Buy \udc80", "lone surrogate"),  # a field the schema does not type
        ("impressions", 2**63, "64-bit integer range"),
        ("impressions", -(2**63) - 1, "64-bit integer range"),
        ("impressions", 1e19, "64-bit integer range"),  # integral float past int64
        ("impressions", 10**5000, "64-bit integer range"),  # str() of it would raise
        ("clicks", 10**5000, "64-bit integer range"),
        ("spend", -(10**5000), "64-bit integer range"),
        ("cpa", float("inf"), "finite"),
        ("roas", float("nan"), "finite"),
    ],
    ids=["nul", "surrogate", "int64+1", "int64-1", "float1e19", "huge", "huge-clicks",
         "huge-neg-spend", "inf", "nan"],
)
def test_unstorable_values_are_errors_of_their_record(field: str, value: Any, why: str) -> None:
    """Values no database column holds are reported on their field, typed in the schema or not."""
    errs = [m for f, m in errors_of(ad(**{field: value})) if f == field]
    assert sum(why in m for m in errs) == 1, errs
    good, bad = DataValidator().split([ad(), ad(ad_id="2", **{field: value})])
    assert [r["ad_id"] for r in good] == ["123"] and len(bad) == 1


def test_storable_edge_values_pass() -> None:
    """The int64 bounds themselves and non-ASCII text are fine."""
    assert fields_of(ad(impressions=2**63 - 1, clicks=0, ctr=0.0, campaign_id="été ✓",
                        headline="日本語")) == []
    assert fields_of(ad(campaign_id=-(2**63)), cross_field_rules=()) == []


def test_a_schema_edited_in_place_after_use_is_compiled_again():
    """A rule added to the same schema dict between two calls applies to the second call."""
    v = DataValidator()
    schema = {"ad_id": {"type": "string", "required": True},
              "clicks": {"type": "integer", "required": True, "min": 0}}
    rec = {"ad_id": "a1", "clicks": 500}
    assert v.validate(data=[rec], schema=schema)["valid"]
    schema["clicks"]["max"] = 100
    result = v.validate(data=[rec], schema=schema)
    assert not result["valid"]
    assert result["errors"][0]["field"] == "clicks"


def test_fresh_schema_dicts_per_call_do_not_grow_the_cache():
    """A caller building its schema per call keeps at most SCHEMA_CACHE compiled schemas."""
    from within_daemon.transforms.validation import SCHEMA_CACHE

    v = DataValidator()
    for i in range(3 * SCHEMA_CACHE):
        schema = {"ad_id": {"type": "string", "required": True, "max_length": 10 + i}}
        assert v.validate(data=[{"ad_id": "x" * 12}], schema=schema)["valid"] == (i >= 2)
    assert len(v._cache) <= SCHEMA_CACHE
