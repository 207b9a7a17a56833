"""The internal normalizer: field map, constants, date format, coercion, derived fields."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from within_daemon.records import AdDay, as_dict
from within_daemon.schema import AD_DATA_SCHEMA, AD_EXTRA_FIELDS, AD_FIELDS
from within_daemon.transforms import DataNormalizer, DataValidator
from within_daemon.transforms.normalize import internal
from within_daemon.transforms.normalize.internal import (
    INTERNAL_AD_SCHEMA,
    InternalMapping,
    mapping_problems,
)


def normalize_internal(rows: list[Any], mapping: InternalMapping) -> list[dict[str, Any]]:
    """The normalizer's records in their dict form (the seed's), as these tests read them."""
    return [as_dict(r) for r in internal.normalize_internal(rows, mapping)]

FIELD_MAP = {"ad_id": "Ad", "date": "Day", "impressions": "Imps", "clicks": "Clicks",
             "spend": "Cost", "conversions": "Orders", "revenue": "Sales",
             "campaign_id": "Campaign", "headline": "Title", "status": "State"}
MAPPING = InternalMapping(field_map=FIELD_MAP, constants={"currency": "EUR"},
                          date_format="%d/%m/%Y", account_id="acme")
ROW: dict[str, Any] = {"Ad": "A-1", "Day": "31/01/2024", "Imps": "1000", "Clicks": " 50 ",
                       "Cost": "25.5", "Orders": "5", "Sales": "102", "Campaign": 77,
                       "Title": " Winter sale ", "State": "ENABLED", "Ignored": "x"}


def test_mapping_constants_and_types() -> None:
    """Mapped columns and constants fill AD_FIELDS with typed values; platform is internal."""
    [rec] = normalize_internal([ROW], MAPPING)
    assert list(rec) == list(AD_FIELDS)
    assert rec == {
        **dict.fromkeys(AD_FIELDS),
        "ad_id": "A-1", "platform": "internal", "account_id": "acme", "campaign_id": "77",
        "headline": "Winter sale", "status": "active", "impressions": 1000, "clicks": 50,
        "ctr": 0.05, "spend": 25.5, "conversions": 5, "conversion_rate": 0.1, "cpa": 5.1,
        "roas": 4.0, "date": "2024-01-31", "currency": "EUR", "revenue": 102.0,
    }
    assert DataValidator().validate([rec], INTERNAL_AD_SCHEMA)["valid"]


def test_fractional_conversions_are_kept() -> None:
    """An attributed 2.5 orders stays 2.5 (CPA from it), and validates."""
    [rec] = normalize_internal([{**ROW, "Orders": "2.5"}], MAPPING)
    assert rec["conversions"] == 2.5 and rec["cpa"] == pytest.approx(25.5 / 2.5)
    assert DataValidator().validate([rec], INTERNAL_AD_SCHEMA)["valid"]


def test_one_record_per_row_in_order() -> None:
    """Every input row gives one record in order, even a row that is not a mapping."""
    rows: list[Any] = [{**ROW, "Ad": "a"}, "junk", {**ROW, "Ad": "b"}]
    recs = normalize_internal(rows, MAPPING)
    assert [r["ad_id"] for r in recs] == ["a", None, "b"]
    assert recs[1]["platform"] == "internal" and recs[1]["account_id"] == "acme"


def test_mapped_ctr_kept_unmapped_ctr_recomputed() -> None:
    """A mapped ctr is kept, else it is clicks / impressions; zero impressions give None."""
    mapped = InternalMapping(field_map={**FIELD_MAP, "ctr": "Rate"}, account_id="a")
    [rec] = normalize_internal([{**ROW, "Day": "2024-01-31", "Rate": "0.05"}], mapped)
    assert rec["ctr"] == 0.05
    [zero] = normalize_internal([{**ROW, "Imps": "0", "Clicks": "0"}], MAPPING)
    assert zero["ctr"] is None and zero["conversion_rate"] is None


def test_dates_in_format_with_time_or_as_numbers() -> None:
    """Dates parse with date_format; a time part, date objects and int dates are accepted."""
    iso = InternalMapping(field_map={"date": "d", "start_date": "s", "end_date": "e"})
    [a, b] = normalize_internal([
        {"d": "2024-02-03 00:00:00", "s": dt.date(2024, 1, 1), "e": dt.datetime(2024, 3, 1, 5)},
        {"d": "2024-02-30", "s": "", "e": None},
    ], iso)
    assert (a["date"], a["start_date"], a["end_date"]) == ("2024-02-03", "2024-01-01",
                                                           "2024-03-01")
    assert (b["date"], b["start_date"], b["end_date"]) == ("2024-02-30", None, None)
    compact = InternalMapping(field_map={"date": "d"}, date_format="%Y%m%d")
    assert normalize_internal([{"d": 20240203}], compact)[0]["date"] == "2024-02-03"


def test_unparsable_values_stay_raw_and_are_rejected() -> None:
    """Values that do not parse stay raw so the validator names the field; blanks are None."""
    bad = {**ROW, "Imps": "1,000", "Cost": "n/a", "Day": "31-01-2024", "Clicks": ""}
    [rec] = normalize_internal([bad], MAPPING)
    assert (rec["impressions"], rec["spend"], rec["date"], rec["clicks"]) == (
        "1,000", "n/a", "31-01-2024", None)
    errors = DataValidator().validate([rec], INTERNAL_AD_SCHEMA)["errors"]
    assert {e["field"] for e in errors} == {"impressions", "spend", "date", "clicks"}


def test_internal_schema_types_every_mappable_field() -> None:
    """Fields the default schema leaves untyped (cpa, campaign_id) are typed for internal rows.

    A raw "n/a" in a REAL column or an id that is a list would otherwise reach the database
    and make it refuse the whole chunk.
    """
    assert set(AD_FIELDS) <= set(INTERNAL_AD_SCHEMA) <= set(AD_FIELDS) | set(AD_EXTRA_FIELDS)
    assert all(INTERNAL_AD_SCHEMA[f] | rule == INTERNAL_AD_SCHEMA[f]
               for f, rule in AD_DATA_SCHEMA.items())
    m = InternalMapping(field_map={**FIELD_MAP, "cpa": "Cpa", "ad_group_id": "G"},
                        date_format="%d/%m/%Y")
    [rec] = normalize_internal([{**ROW, "Cpa": "n/a", "G": ["x"], "Imps": str(2**63)}], m)
    errors = DataValidator().validate([rec], INTERNAL_AD_SCHEMA)["errors"]
    assert {e["field"] for e in errors} >= {"cpa", "ad_group_id", "impressions"}


def test_constants_are_coerced_and_account_falls_back() -> None:
    """Constants take the field's type; a blank account_id cell falls back to the default."""
    m = InternalMapping(field_map={"ad_id": "Ad", "account_id": "Acct"},
                        constants={"impressions": "10", "status": "weird"}, account_id="dflt")
    [a, b] = normalize_internal([{"Ad": 1, "Acct": "x"}, {"Ad": 2.0, "Acct": " "}], m)
    assert (a["ad_id"], a["account_id"], a["impressions"], a["status"]) == ("1", "x", 10,
                                                                            "other")
    assert (b["ad_id"], b["account_id"]) == ("2", "dflt")


def test_records_are_ad_days_without_extras() -> None:
    """The pipeline gets ``AdDay`` records; internal data fills no extra column."""
    [rec] = internal.normalize_internal([ROW], MAPPING)
    assert rec.__class__ is AdDay
    assert (rec.ad_id, rec.impressions, rec.platform) == ("A-1", 1000, "internal")
    assert not set(AD_EXTRA_FIELDS) & set(as_dict(rec))


def test_registered_for_the_internal_platform() -> None:
    """DataNormalizer finds "internal"; the mapping travels in the account argument."""
    recs = DataNormalizer().normalize_ad_data(
        [ROW], "internal", account={"mapping": MAPPING})
    assert recs == normalize_internal([ROW], MAPPING)
    loose = DataNormalizer().normalize_ad_data(
        [ROW], "internal", account={"field_map": FIELD_MAP, "date_format": "%d/%m/%Y",
                                    "account_id": "acme", "constants": {"currency": "EUR"}})
    assert loose == recs


@pytest.mark.parametrize(("mapping", "problem"), [
    (InternalMapping(field_map={**FIELD_MAP, "clicks_total": "x"}), "unknown fields"),
    (InternalMapping(field_map={**FIELD_MAP, "platform": "p"}), "may not set platform"),
    (InternalMapping(field_map=FIELD_MAP, constants={"spend": "1"}), "both field_map"),
    (InternalMapping(field_map={"ad_id": "Ad"}), "required fields"),
    (InternalMapping(field_map=FIELD_MAP, date_format="%Q"), "date_format"),
])
def test_mapping_problems(mapping: InternalMapping, problem: str) -> None:
    """A mapping that cannot work is described before any row is read."""
    assert any(problem in p for p in mapping_problems(mapping))


def test_good_mapping_has_no_problems() -> None:
    """The example mapping (required fields mapped, constants apart) is accepted."""
    assert mapping_problems(MAPPING) == []
