"""The record Structs: their field order is the schema's, and their dict form is the seed's."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from within_daemon.loaders.rows import fact_rows
from within_daemon.records import UNSET, AccountDay, AdDay, account_day, ad_day, as_dict
from within_daemon.schema import ACCOUNT_FIELDS, AD_EXTRA_FIELDS, AD_FIELDS

from .transforms.test_validation import ad
from .transforms.test_validation_compiled import ACCOUNT


def test_fields_are_the_schema_columns_in_order() -> None:
    """Astuple of a record is the loader's column order: the schema lists, extras last."""
    assert AdDay.__struct_fields__ == (*AD_FIELDS, *AD_EXTRA_FIELDS)
    assert AccountDay.__struct_fields__ == ACCOUNT_FIELDS


def test_dict_form_leaves_out_unset_extras_only() -> None:
    """An extra the normalizer did not fill is absent from the dict; one it set to None is not."""
    assert as_dict(ad_day(ad())) == ad()
    assert set(as_dict(ad_day(ad()))) == set(AD_FIELDS)
    assert as_dict(ad_day(ad(link_clicks=None))) == ad(link_clicks=None)
    assert as_dict(ad_day(ad(attribution_window="7d"))) == ad(attribution_window="7d")
    assert as_dict(account_day(ACCOUNT)) == ACCOUNT


def test_raw_values_pass_through_unchecked() -> None:
    """Msgspec does not check types on construction: a raw value reaches the validator."""
    rec = ad_day(ad(impressions="abc"))
    assert rec.impressions == "abc"
    assert as_dict(rec)["impressions"] == "abc"


def test_dict_edge_refuses_stray_keys() -> None:
    """A dict with a key no column holds is refused, naming the key."""
    with pytest.raises(ValueError, match="extra_thing"):
        ad_day({**ad(), "extra_thing": 1})
    with pytest.raises(ValueError, match="ad_id"):
        account_day({**ACCOUNT, "ad_id": "1"})


@pytest.mark.parametrize("context", [None, {"attribution_window": "28d_click"}])
@pytest.mark.parametrize("extras", [{}, {"attribution_window": None, "link_clicks": None},
                                    {"attribution_window": "7d", "link_clicks": 4},
                                    {"link_clicks": 2}, {"attribution_window": None}])
def test_struct_rows_equal_dict_rows(extras: dict[str, Any],
                                     context: dict[str, Any] | None) -> None:
    """The loader binds a Struct exactly as it binds its dict form, context filling extras."""
    recs = [ad(ad_id=str(i), **extras) for i in range(3)]
    structs = [ad_day(r) for r in recs]
    args = ("run", "2024-01-01T00:00:00Z", "2024-01-01T00:00:01Z", context)
    assert fact_rows("ad", structs, *args) == fact_rows("ad", recs, *args)
    assert fact_rows("account", [account_day(ACCOUNT)], *args) == fact_rows(
        "account", [ACCOUNT], *args)


def test_records_are_frozen() -> None:
    """A record is not changed on its way: a stage that needs more fields makes a new carrier."""
    rec = ad_day(ad())
    with pytest.raises(AttributeError):
        rec.spend = 1.0  # type: ignore[misc]
    assert msgspec.structs.replace(rec, spend=1.0).spend == 1.0
    assert rec.attribution_window is UNSET
