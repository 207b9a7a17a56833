"""Audience reports of the Google and TikTok emulators, over real sockets."""

from __future__ import annotations

from collections import Counter
from typing import Any

from within_daemon.sandbox.google.audience import AGE_RANGES, GENDERS
from within_daemon.sandbox.tiktok.audience import AGES
from within_daemon.sandbox.tiktok.audience import GENDERS as TT_GENDERS
from within_daemon.sandbox.tiktok.server import TikTokEmulator

from .test_google_emulator import DIRECT, Client, client, gemu, results  # noqa: F401
from .test_tiktok_emulator import (
    ALL,
    tt,  # noqa: F401
)
from .test_tiktok_emulator import Client as TClient

DATES = "segments.date BETWEEN '2024-03-01' AND '2024-03-04'"
METRICS = "metrics.impressions, metrics.clicks, metrics.cost_micros"


def _sums(rows: list[dict[str, Any]]) -> Counter[tuple[str, str, str]]:
    out: Counter[tuple[str, str, str]] = Counter()
    for r in rows:
        for m in ("impressions", "clicks", "costMicros"):
            out[(r["adGroup"]["id"], r["segments"]["date"], m)] += int(r["metrics"].get(m, 0))
    return out


async def test_google_age_and_gender_views_add_up_to_the_ad_groups(client: Client) -> None:  # noqa: F811
    """Each view splits an ad group-day into segments whose metrics sum to its ads'."""
    status, body = await client.stream(
        DIRECT, f"SELECT ad_group.id, segments.date, {METRICS} FROM ad_group_ad WHERE {DATES}")
    assert status == 200
    want = _sums(results(body))
    for view, field, names in (
        ("age_range_view", "ageRange", {n for n, _ in AGE_RANGES}),
        ("gender_view", "gender", {n for n, _ in GENDERS}),
    ):
        crit = "age_range" if view == "age_range_view" else "gender"
        status, body = await client.stream(
            DIRECT, f"SELECT ad_group.id, ad_group_criterion.criterion_id, "
                    f"ad_group_criterion.{crit}.type, segments.date, {METRICS} "
                    f"FROM {view} WHERE {DATES}")
        assert status == 200, body
        rows = results(body)
        assert {r["adGroupCriterion"][field]["type"] for r in rows} <= names
        assert len({r["adGroupCriterion"][field]["type"] for r in rows}) >= 2
        assert _sums(rows) == want


async def test_google_refuses_ad_fields_on_an_audience_view(client: Client) -> None:  # noqa: F811
    """age_range_view has no ad: selecting ad_group_ad.ad.id is a query error."""
    status, body = await client.stream(
        DIRECT, f"SELECT ad_group_ad.ad.id, segments.date FROM age_range_view WHERE {DATES}")
    assert status == 400 and "UNRECOGNIZED_FIELD" in str(body)


async def test_tiktok_audience_report_adds_up_to_the_basic_report(
    tt: tuple[TikTokEmulator, TClient],  # noqa: F811
) -> None:
    """Age x gender rows of each ad-day sum to that ad-day's BASIC row."""
    _, c = tt
    metrics = '["spend", "impressions", "clicks", "conversion"]'
    basic = await c.all_rows(metrics=metrics, filtering=ALL)
    audience = await c.all_rows(report_type="AUDIENCE", metrics=metrics, filtering=ALL,
                                dimensions='["ad_id", "stat_time_day", "age", "gender"]')
    assert {r["dimensions"]["age"] for r in audience} <= set(AGES)
    assert {r["dimensions"]["gender"] for r in audience} <= set(TT_GENDERS)
    for name in ("impressions", "clicks", "conversion", "spend"):
        want: Counter[tuple[str, str]] = Counter()
        got: Counter[tuple[str, str]] = Counter()
        for rows, acc in ((basic, want), (audience, got)):
            for r in rows:
                key = (r["dimensions"]["ad_id"], r["dimensions"]["stat_time_day"])
                acc[key] += round(float(r["metrics"][name]) * 100)
        assert +got == +want, name


async def test_tiktok_audience_report_by_gender_only_and_bad_dimensions(
    tt: tuple[TikTokEmulator, TClient],  # noqa: F811
) -> None:
    """Gender alone is a valid split; an audience report without ad_id is refused."""
    _, c = tt
    rows = await c.all_rows(report_type="AUDIENCE", metrics='["impressions"]',
                            dimensions='["ad_id", "stat_time_day", "gender"]')
    assert rows and all(set(r["dimensions"]) == {"ad_id", "stat_time_day", "gender"}
                        for r in rows)
    body = await c.report(report_type="AUDIENCE", metrics='["impressions"]',
                          dimensions='["stat_time_day", "age"]')
    assert body["code"] != 0 and "dimensions" in body["message"]
