"""Rolling history features and competitive percentiles, against hand-computed values."""

from __future__ import annotations

from typing import Any

import pytest

from within_daemon.transforms.enrichment.competitive import benchmarks, percentile
from within_daemon.transforms.enrichment.history import fields, rolling_performance


def row(ad: str, day: str, imp: int, clk: int, spend: float, conv: int, rev: float,
        **kw: Any) -> dict[str, Any]:
    return {"ad_id": ad, "date": day, "impressions": imp, "clicks": clk, "spend": spend,
            "conversions": conv, "revenue": rev, **kw}


ROWS = [
    row("a", "2024-03-01", 1000, 10, 20.0, 1, 50.0),
    row("a", "2024-03-05", 1000, 30, 40.0, 3, 90.0),
    row("a", "2024-03-08", 9999, 999, 999.0, 99, 9999.0),  # the target day itself
    row("b", "2024-02-20", 500, 5, 10.0, 0, 0.0),
    row("b", "2024-03-07", 500, 0, 5.0, 0, 0.0),
]


def test_rolling_uses_only_days_before_the_target() -> None:
    """The 7-day window for 2024-03-08 is 03-01..03-07: the target day never counts."""
    [f] = rolling_performance(ROWS, [("a", "2024-03-08")])
    assert f["ad_days_7d"] == 2
    assert f["ad_ctr_7d"] == pytest.approx(40 / 2000)
    assert f["ad_cvr_7d"] == pytest.approx(4 / 40)
    assert f["ad_cpa_7d"] == pytest.approx(60 / 4)
    assert f["ad_roas_7d"] == pytest.approx(140 / 60)


def test_account_window_sums_all_ads() -> None:
    """Account features sum every ad of the account over the window, then divide."""
    [f] = rolling_performance(ROWS, [("a", "2024-03-08")])
    assert f["acct_ctr_7d"] == pytest.approx(40 / 2500)  # b's 03-07 adds 500 impressions
    assert f["acct_days_7d"] == 3
    assert f["acct_ctr_28d"] == pytest.approx(45 / 3000)  # b's 02-20 is inside 28 days
    assert f["acct_cpa_28d"] == pytest.approx(75 / 4)


def test_empty_history_and_zero_denominators() -> None:
    """No prior days gives None ratios and 0 days; zero clicks gives a None conversion rate."""
    [first] = rolling_performance(ROWS, [("a", "2024-03-01")])
    assert first["ad_days_28d"] == 0 and first["ad_ctr_28d"] is None
    [b] = rolling_performance(ROWS, [("b", "2024-03-08")])
    assert b["ad_ctr_7d"] == 0.0 and b["ad_cvr_7d"] is None and b["ad_cpa_7d"] is None
    [unknown] = rolling_performance(ROWS, [("zzz", "2024-03-08")])
    assert unknown["ad_days_7d"] == 0 and unknown["acct_days_7d"] == 3


def test_columns_cover_every_feature() -> None:
    """fields() names exactly the feature keys."""
    [f] = rolling_performance(ROWS, [("a", "2024-03-08")])
    assert {c for c, _ in fields()} == set(f) - {"ad_id", "date"}


def test_percentile_counts_half_the_ties() -> None:
    """The median of five distinct values sits at 0.5; lower-is-better flips the scale."""
    vals = [1.0, 2.0, 3.0, 4.0, 5.0]
    assert percentile(vals, 3.0, True) == 0.5
    assert percentile(vals, 5.0, True) == 0.9
    assert percentile(vals, 1.0, False) == 0.9
    assert percentile([2.0, 2.0], 2.0, True) == 0.5


def test_benchmarks_group_by_platform_topic_and_day() -> None:
    """Ads are ranked only against the same platform, topic and day."""
    rows = [row(f"ad{i}", "2024-03-01", 1000, i * 10, 10.0, i, i * 10.0, platform="facebook",
                account_id=f"acc{i % 2}") for i in range(1, 6)]
    rows.append(row("x", "2024-03-01", 1000, 500, 10.0, 1, 10.0, platform="google",
                    account_id="g"))
    topics = {("facebook", f"acc{i % 2}", f"ad{i}"): "apparel" for i in range(1, 6)}
    out = {r["ad_id"]: r for r in benchmarks(rows, topics, min_peers=5)}
    assert out["ad3"]["ctr_percentile"] == 0.5 and out["ad5"]["ctr_percentile"] == 0.9
    assert out["ad1"]["cpa_percentile"] == 0.1  # 10/1 is the worst (highest) CPA
    assert out["ad5"]["peer_group_size"] == 5 and out["ad5"]["topic"] == "apparel"
    # The google ad is alone in its group: too few peers for a percentile.
    assert out["x"]["ctr_percentile"] is None and out["x"]["topic"] == "other"
