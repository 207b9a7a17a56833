"""Usage-header parsing and the per-account Pacer (with an injected clock)."""

from __future__ import annotations

import json

import pytest
from multidict import CIMultiDict

from within_daemon.sources.pacing import Pacer, UsageReading, read_usage_headers

# Header values in the shapes documented in ad-apis.md §1.7.
APP_USAGE = '{"call_count": 28, "total_time": 25, "total_cputime": 25}'
AD_ACCOUNT_USAGE = (
    '{"acc_id_util_pct": 9.67, "reset_time_duration": 0, "ads_api_access_tier": "standard_access"}'
)
INSIGHTS_THROTTLE = (
    '{"app_id_util_pct": 0, "acc_id_util_pct": 41.5, "ads_api_access_tier": "standard_access"}'
)


def buc(**entries: list[dict[str, object]]) -> str:
    return json.dumps(entries)


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# -- read_usage_headers --------------------------------------------------------------------


def test_no_usage_headers_gives_none() -> None:
    """A response without any usage header yields None (nothing to learn)."""
    assert read_usage_headers({}) is None
    assert read_usage_headers({"Content-Type": "application/json", "X-FB-Trace-ID": "x"}) is None


def test_app_usage_highest_percentage() -> None:
    """X-App-Usage: the highest of call_count, total_time and total_cputime."""
    assert read_usage_headers({"X-App-Usage": APP_USAGE}) == UsageReading(28.0, 0.0)
    got = read_usage_headers(
        {"X-App-Usage": '{"call_count": 5, "total_time": 12, "total_cputime": 91}'}
    )
    assert got == UsageReading(max_percent=91.0)


def test_ad_account_usage() -> None:
    """X-Ad-Account-Usage: acc_id_util_pct counts; other keys are ignored."""
    got = read_usage_headers({"X-Ad-Account-Usage": AD_ACCOUNT_USAGE})
    assert got is not None
    assert got.max_percent == pytest.approx(9.67)
    assert got.regain_seconds == 0.0


def test_insights_throttle_header() -> None:
    """x-fb-ads-insights-throttle: the app/account util percentages count."""
    got = read_usage_headers({"x-fb-ads-insights-throttle": INSIGHTS_THROTTLE})
    assert got == UsageReading(max_percent=41.5)


def test_business_use_case_usage_regain_minutes_to_seconds() -> None:
    """X-Business-Use-Case-Usage: percentages count and regain minutes become seconds."""
    header = buc(**{
        "1000000001": [
            {"type": "ads_management", "call_count": 95, "total_cputime": 20, "total_time": 20,
             "estimated_time_to_regain_access": 0},
            {"type": "ads_insights", "call_count": 10, "total_cputime": 99, "total_time": 3,
             "estimated_time_to_regain_access": 5},
        ],
        "1000000002": [
            {"type": "ads_insights", "call_count": 1, "total_cputime": 1, "total_time": 1,
             "estimated_time_to_regain_access": 2},
        ],
    })
    got = read_usage_headers({"X-Business-Use-Case-Usage": header})
    assert got == UsageReading(max_percent=99.0, regain_seconds=300.0)


def test_highest_across_all_headers() -> None:
    """With several headers the reading is the maximum over all of them."""
    headers = {
        "X-App-Usage": APP_USAGE,
        "X-Ad-Account-Usage": '{"acc_id_util_pct": 77.5}',
        "X-Business-Use-Case-Usage": buc(
            a=[{"call_count": 60, "estimated_time_to_regain_access": 1}]
        ),
    }
    assert read_usage_headers(headers) == UsageReading(max_percent=77.5, regain_seconds=60.0)


def test_usage_above_100_is_kept() -> None:
    """Percentages can exceed 100 and are reported as they are."""
    got = read_usage_headers({"X-App-Usage": '{"call_count": 134}'})
    assert got is not None and got.max_percent == 134.0


def test_header_names_are_case_insensitive_with_aiohttp_headers() -> None:
    """Lower-case header names (as in the reference fixture) work with aiohttp's CIMultiDict."""
    headers = CIMultiDict({
        "x-app-usage": APP_USAGE,
        "x-business-use-case-usage": buc(a=[{"call_count": 3,
                                             "estimated_time_to_regain_access": 1.5}]),
    })
    assert read_usage_headers(headers) == UsageReading(max_percent=28.0, regain_seconds=90.0)


@pytest.mark.parametrize(
    "headers",
    [
        {"X-App-Usage": "{not json"},
        {"X-App-Usage": ""},
        {"X-App-Usage": "[1, 2, 3]"},
        {"X-App-Usage": '"a string"'},
        {"X-Ad-Account-Usage": "{'acc_id_util_pct': 50}"},
        {"X-Business-Use-Case-Usage": "{{{"},
        {"X-Business-Use-Case-Usage": "[]"},
    ],
)
def test_malformed_headers_alone_give_none(headers: dict[str, str]) -> None:
    """Malformed or non-object JSON is ignored; with nothing else the result is None."""
    assert read_usage_headers(headers) is None


def test_malformed_header_does_not_hide_good_ones() -> None:
    """One malformed header is skipped while the well-formed ones are still read."""
    headers = {
        "X-App-Usage": "{broken",
        "X-Ad-Account-Usage": '{"acc_id_util_pct": 55}',
        "X-Business-Use-Case-Usage": "not json at all",
    }
    assert read_usage_headers(headers) == UsageReading(max_percent=55.0)


def test_odd_values_inside_valid_json_are_tolerated() -> None:
    """Non-numeric values, non-list BUC values and non-dict entries count as zero."""
    headers = {
        "X-App-Usage": '{"call_count": "n/a", "total_time": null, "total_cputime": "42"}',
        "X-Business-Use-Case-Usage": json.dumps({
            "a": "oops", "b": [1, "x", {"call_count": 7, "estimated_time_to_regain_access": "?"}],
        }),
    }
    assert read_usage_headers(headers) == UsageReading(max_percent=42.0, regain_seconds=0.0)


# -- Pacer ---------------------------------------------------------------------------------


def make_pacer(clock: Clock, **kw: float) -> Pacer:
    kw.setdefault("pace_above", 75.0)
    kw.setdefault("max_pace_delay", 30.0)
    kw.setdefault("min_pause", 60.0)
    return Pacer(clock=clock, **kw)


def test_below_threshold_no_delay() -> None:
    """Usage at or below pace_above adds no delay."""
    p = make_pacer(Clock())
    assert p.delay() == 0.0
    for pct in (0.0, 10.0, 74.9, 75.0):
        p.observe(UsageReading(max_percent=pct))
        assert p.delay() == 0.0, pct


def test_delay_grows_between_threshold_and_100() -> None:
    """Between pace_above and 100% the delay rises in proportion, up to max_pace_delay."""
    p = make_pacer(Clock())
    delays = []
    for pct in (76.0, 80.0, 87.5, 95.0, 99.9):
        p.observe(UsageReading(max_percent=pct))
        delays.append(p.delay())
    assert all(0 < d < 30.0 for d in delays)
    assert delays == sorted(delays) and len(set(delays)) == len(delays)
    p.observe(UsageReading(max_percent=87.5))
    assert p.delay() == pytest.approx(15.0)


def test_full_usage_pauses_for_min_pause() -> None:
    """At >= 100% usage the account pauses for min_pause, counted down by the clock."""
    clock = Clock()
    p = make_pacer(clock)
    p.observe(UsageReading(max_percent=100.0))
    assert p.paused_until == pytest.approx(1060.0)
    assert p.delay() == pytest.approx(60.0)
    clock.now += 45
    assert p.delay() == pytest.approx(15.0)
    clock.now += 15
    # Pause over; usage still reads 100%, so the full pacing delay applies.
    assert p.delay() == pytest.approx(30.0)


def test_over_100_pauses_too() -> None:
    """Usage above 100% pauses like exactly 100%."""
    p = make_pacer(Clock())
    p.observe(UsageReading(max_percent=134.0))
    assert p.delay() == pytest.approx(60.0)


def test_regain_time_pauses_even_at_low_usage() -> None:
    """estimated_time_to_regain_access pauses the account for that long, whatever the usage."""
    p = make_pacer(Clock())
    p.observe(UsageReading(max_percent=5.0, regain_seconds=300.0))
    assert p.delay() == pytest.approx(300.0)


def test_short_regain_is_raised_to_min_pause() -> None:
    """A regain shorter than min_pause still pauses for min_pause."""
    p = make_pacer(Clock())
    p.observe(UsageReading(max_percent=100.0, regain_seconds=10.0))
    assert p.delay() == pytest.approx(60.0)


def test_pause_is_never_shortened() -> None:
    """A later, shorter pause or regain leaves the longer deadline in place."""
    clock = Clock()
    p = make_pacer(clock)
    p.pause(600.0)
    clock.now += 100
    p.pause(60.0)
    p.observe(UsageReading(max_percent=100.0, regain_seconds=120.0))
    assert p.delay() == pytest.approx(500.0)
    p.pause(900.0)
    assert p.delay() == pytest.approx(900.0)


def test_normal_reading_does_not_cancel_a_pause() -> None:
    """A low-usage reading during a pause updates usage but keeps the pause."""
    clock = Clock()
    p = make_pacer(clock)
    p.observe(UsageReading(max_percent=100.0))
    p.observe(UsageReading(max_percent=10.0))
    assert p.usage == 10.0
    assert p.delay() == pytest.approx(60.0)
    clock.now += 61
    assert p.delay() == 0.0


def test_none_reading_changes_nothing() -> None:
    """A response without usage headers leaves usage and pause as they were."""
    p = make_pacer(Clock())
    p.observe(UsageReading(max_percent=90.0))
    before = p.delay()
    p.observe(None)
    assert p.usage == 90.0
    assert p.delay() == before > 0


def test_pacer_uses_custom_threshold() -> None:
    """pace_above and max_pace_delay come from the constructor."""
    p = make_pacer(Clock(), pace_above=50.0, max_pace_delay=2.0)
    p.observe(UsageReading(max_percent=75.0))
    assert p.delay() == pytest.approx(1.0)
