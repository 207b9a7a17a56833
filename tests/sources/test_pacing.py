"""Usage-header parsing and the per-account Pacer (with an injected clock)."""

from __future__ import annotations

import json
import random

import pytest
from multidict import CIMultiDict

from within_daemon.sources.http.pacing import (
    AppQuota,
    Pacer,
    UsageReading,
    full_jitter,
    read_usage_headers,
)

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
    assert read_usage_headers({"X-App-Usage": APP_USAGE}) == UsageReading(28.0, 0.0, 28.0)
    got = read_usage_headers(
        {"X-App-Usage": '{"call_count": 5, "total_time": 12, "total_cputime": 91}'}
    )
    assert got == UsageReading(max_percent=91.0, app_percent=91.0)


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
    assert read_usage_headers(headers) == UsageReading(max_percent=77.5, regain_seconds=60.0,
                                                       app_percent=28.0)


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
    assert read_usage_headers(headers) == UsageReading(max_percent=28.0, regain_seconds=90.0,
                                                       app_percent=28.0)


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
    assert read_usage_headers(headers) == UsageReading(max_percent=42.0, regain_seconds=0.0,
                                                       app_percent=42.0)


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


def test_short_regain_is_honoured_not_raised_to_min_pause() -> None:
    """A regain shorter than min_pause pauses exactly that long (a hint is not floored)."""
    p = make_pacer(Clock())
    p.observe(UsageReading(max_percent=100.0, regain_seconds=10.0))
    assert p.delay() == pytest.approx(10.0)


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


def test_ad_account_reset_time_is_the_pause_at_its_limit() -> None:
    """X-Ad-Account-Usage reset_time_duration (seconds) is the regain time at >= 100%."""
    at_limit = read_usage_headers(
        {"X-Ad-Account-Usage": '{"acc_id_util_pct": 100, "reset_time_duration": 7}'})
    below = read_usage_headers(
        {"X-Ad-Account-Usage": '{"acc_id_util_pct": 60, "reset_time_duration": 300}'})
    assert at_limit == UsageReading(max_percent=100.0, regain_seconds=7.0)
    assert below == UsageReading(max_percent=60.0)


# -- throttle hints and backoff -------------------------------------------------------------


def test_one_second_hint_costs_one_second() -> None:
    """A throttle with a 1 s hint pauses 1 s, not the one-minute configured pause."""
    clock = Clock()
    p = make_pacer(clock)
    assert p.throttled(1.0) == 1.0
    assert p.delay() == pytest.approx(1.0)


def test_throttles_without_hint_back_off_exponentially_with_full_jitter() -> None:
    """Hint-less throttles in a row draw from [0, base*2^(n-1)], capped at max_pause."""
    rng = random.Random(3)
    p = Pacer(min_pause=2.0, max_pause=20.0, clock=Clock(), rng=rng)
    waits = [p.throttled(None) for _ in range(8)]
    tops = [2.0, 4.0, 8.0, 16.0, 20.0, 20.0, 20.0, 20.0]
    assert all(0 <= w <= t for w, t in zip(waits, tops, strict=True))
    # Jittered, not fixed: the draws differ and are not all at the top.
    assert len(set(waits)) == len(waits)
    assert sum(waits) < sum(tops)


def test_full_jitter_spreads_over_the_whole_range() -> None:
    """full_jitter's draws cover [0, top]: some land in the lower and some in the upper half."""
    rng = random.Random(1)
    draws = [full_jitter(3, 1.0, 100.0, rng) for _ in range(200)]
    assert max(draws) <= 4.0
    assert min(draws) < 1.0 and max(draws) > 3.0


def test_repeated_hinted_throttles_never_wait_less_than_the_hint() -> None:
    """After the first, a throttle waits max(hint, backoff); a success resets the streak."""
    p = Pacer(min_pause=10.0, max_pause=1000.0, clock=Clock(), rng=random.Random(5))
    assert p.throttled(3.0) == 3.0
    later = [p.throttled(3.0) for _ in range(6)]
    assert all(w >= 3.0 for w in later)
    assert max(later) > 3.0  # the backoff took over at some point
    p.succeeded()
    assert p.streak == 0
    assert p.throttled(3.0) == 3.0


def test_long_hint_is_not_cut_to_max_pause() -> None:
    """A hint longer than max_pause (a daily quota) is honoured; the run budget decides."""
    p = Pacer(min_pause=1.0, max_pause=60.0, clock=Clock())
    assert p.throttled(40591.0) == 40591.0


def test_app_wide_throttle_pauses_every_account_of_the_app() -> None:
    """An app-level throttle seen by one account pauses the others sharing its AppQuota."""
    clock = Clock()
    app = AppQuota("facebook:graph")
    a = Pacer(min_pause=5.0, clock=clock, app=app)
    b = Pacer(min_pause=5.0, clock=clock, app=app)
    alone = Pacer(min_pause=5.0, clock=clock)
    a.throttled(30.0, app_wide=True)
    assert b.delay() == pytest.approx(30.0)
    assert alone.delay() == 0.0
    # An account-level throttle stays with its account.
    b2 = Pacer(min_pause=5.0, clock=clock, app=AppQuota("other"))
    c2 = Pacer(min_pause=5.0, clock=clock, app=b2.app)
    b2.throttled(30.0)
    assert c2.delay() == 0.0


def test_app_usage_paces_accounts_that_did_not_see_it() -> None:
    """X-App-Usage near the limit, seen by one account, slows every account of the app."""
    clock = Clock()
    app = AppQuota("facebook:graph", pace_above=75.0, max_pace_delay=30.0)
    a = Pacer(clock=clock, app=app)
    b = Pacer(clock=clock, app=app)
    a.observe(read_usage_headers({"X-App-Usage": '{"call_count": 87.5}'}))
    assert b.delay() == pytest.approx(15.0)
    a.observe(read_usage_headers({"X-App-Usage": '{"call_count": 100}'}))
    assert b.delay() == pytest.approx(60.0)
