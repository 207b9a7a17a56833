"""Reporting-currency conversion of the cross-platform dataset."""

from __future__ import annotations

import pytest

from within_daemon.transforms import CrossPlatformNormalizer
from within_daemon.transforms.currency import FxTable


def rec(platform: str, ad: str, currency: str | None, spend: float) -> dict[str, object]:
    return {"platform": platform, "account_id": "1", "ad_id": ad, "date": "2024-01-01",
            "currency": currency, "spend": spend, "revenue": spend * 2, "cpa": None}


def test_conversion_keeps_the_original_amount_and_currency() -> None:
    """EUR spend becomes USD at the configured rate; the EUR amount stays beside it."""
    [row] = FxTable("USD", {"EUR": 1.08}).convert([rec("google", "a", "EUR", 100.0)])
    assert row["spend"] == 100.0 and row["currency"] == "EUR"
    assert row["spend_reporting"] == pytest.approx(108.0)
    assert row["revenue_reporting"] == pytest.approx(216.0)
    assert row["cpa_reporting"] is None
    assert (row["reporting_currency"], row["fx_rate"]) == ("USD", 1.08)


def test_missing_rate_is_an_error_naming_the_currency() -> None:
    """A currency without a rate is refused, never passed through unconverted."""
    with pytest.raises(ValueError, match="no FX rate for CAD -> USD"):
        FxTable("USD", {"EUR": 1.08}).convert([rec("amazon", "a", "CAD", 1.0)])
    with pytest.raises(ValueError, match="no currency"):
        FxTable("USD", {}).convert([rec("amazon", "a", None, 1.0)])
    with pytest.raises(ValueError, match="> 0"):
        FxTable("USD", {"EUR": 0})


def test_combine_converts_and_refuses_duplicate_keys() -> None:
    """combine(parts, fx=...) converts every platform's rows; a duplicate key is an error."""
    fx = FxTable("USD", {"EUR": 1.1})
    out = CrossPlatformNormalizer().combine(
        [[rec("facebook", "a", "USD", 10.0)], [rec("tiktok", "b", "EUR", 10.0)]], fx=fx)
    assert [r["spend_reporting"] for r in out] == [10.0, pytest.approx(11.0)]
    with pytest.raises(ValueError, match="duplicate record key"):
        CrossPlatformNormalizer().combine([[rec("facebook", "a", "USD", 1.0)],
                                           [rec("facebook", "a", "USD", 2.0)]], fx=fx)
