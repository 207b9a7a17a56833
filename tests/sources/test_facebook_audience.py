"""Audience insights end to end over real sockets: emulator breakdowns, connector, database.

The storage test runs on SQLite and on PostgreSQL (the ``db_url`` fixture).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import anyio
import pytest

from within_daemon.config import FacebookConfig
from within_daemon.loaders import DatabaseLoader
from within_daemon.loaders.audience import refresh_summary, upsert_audience
from within_daemon.observability.metrics import Metrics
from within_daemon.sandbox import FacebookEmulator
from within_daemon.sandbox.facebook.insights import AGE_BANDS, GENDERS
from within_daemon.sources import FacebookAdsConnector
from within_daemon.transforms.enrichment import audience

from ..conftest import FAST_FACEBOOK, TOKEN

ACC = "1000000001"
RANGE = ("2024-03-01", "2024-03-03")
Key = tuple[str, str]


def connector(emu: FacebookEmulator, **cfg: Any) -> FacebookAdsConnector:
    settings = FacebookConfig(base_url=emu.base_url, **{**FAST_FACEBOOK, **cfg})
    return FacebookAdsConnector(ACC, TOKEN, rate_limit=60000, config=settings,
                                metrics=Metrics())


async def pull(conn: FacebookAdsConnector, *, use_async: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with anyio.fail_after(20):
        async for page in conn.iter_audience(RANGE, use_async=use_async):
            rows.extend(page)
    return rows


def totals(rows: list[dict[str, Any]]) -> dict[Key, tuple[int, int, int]]:
    """(impressions, clicks, spend in cents) per (ad, day)."""
    acc: dict[Key, list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in rows:
        t = acc[(r["ad_id"], r["date_start"])]
        t[0] += int(r["impressions"])
        t[1] += int(r["clicks"])
        t[2] += round(float(r["spend"]) * 100)
    return {k: (v[0], v[1], v[2]) for k, v in acc.items()}


@pytest.mark.parametrize("use_async", [False, True])
async def test_breakdown_rows_sum_exactly_to_unsplit_rows(
    emulator: FacebookEmulator, use_async: bool
) -> None:
    """Per ad and day, age x gender rows add up exactly to the unsplit insights row."""
    async with connector(emulator, page_size=100) as conn:
        split = await pull(conn, use_async=use_async)
        plain: list[dict[str, Any]] = []
        async for page in conn.iter_insights(RANGE, fields="ad_id,impressions,clicks,spend",
                                             use_async=False):
            plain.extend(page)
    n_base = emulator.expected_rows(ACC, *RANGE)
    assert len(plain) == n_base == 36
    assert len(split) == n_base * len(AGE_BANDS) * len(GENDERS)
    assert len(split) == emulator.expected_rows(ACC, *RANGE, breakdowns=("age", "gender"))
    assert {(r["age"], r["gender"]) for r in split} == {
        (a, g) for a in AGE_BANDS for g in GENDERS}
    assert totals(split) == totals(plain)
    assert all(int(r["clicks"]) <= int(r["impressions"]) for r in split)
    sent = [r for r in emulator.stats.recent if r.kind == "insights"
            and "breakdowns" in r.query]
    assert sent and all(r.query["breakdowns"] == '["age","gender"]' for r in sent)


async def test_comma_breakdowns_and_unknown_ones_ignored(emulator: FacebookEmulator) -> None:
    """A comma-string breakdowns param works; unsupported breakdowns do not split rows."""
    async with connector(emulator) as conn:
        params = conn._insight_params(*RANGE, "ad", "ad_id,impressions", 500)
        gender_only: list[dict[str, Any]] = []
        async for page in conn.pages(f"act_{ACC}/insights",
                                     {**params, "breakdowns": "gender,country"},
                                     endpoint="insights"):
            gender_only.extend(page)
    assert len(gender_only) == 36 * len(GENDERS)
    assert all("age" not in r and "country" not in r for r in gender_only)


async def test_store_and_summarize_in_the_database(emulator: FacebookEmulator,
                                                   db_url: str) -> None:
    """Normalized rows land in audience_data and the summary matches summarize() of them."""
    async with connector(emulator) as conn:
        raw = await pull(conn, use_async=False)
    rows = audience.normalize_audience(raw, account_id=ACC)
    async with DatabaseLoader.from_url(db_url) as db:
        assert await upsert_audience(db, rows) == len(rows)
        assert await upsert_audience(db, rows) == len(rows)  # idempotent
        assert await db.count_rows("audience_data") == len(rows) == 36 * 18
        assert await refresh_summary(db, "facebook", ACC) == 12
        stored = await db.fetch_dicts(
            "SELECT * FROM ad_audience_summary ORDER BY ad_id")
        sums = await db.fetch_dicts(
            "SELECT SUM(impressions) AS i, SUM(clicks) AS c FROM audience_data")
    expected = audience.summarize(rows)
    assert len(stored) == len(expected) == 12
    for got, want in zip(stored, expected, strict=True):
        assert got["computed_at"]
        for k, v in want.items():
            assert got[k] == (pytest.approx(v) if isinstance(v, float) else v), k
        shares = got["female_share"] + got["male_share"] + got["unknown_gender_share"]
        assert shares == pytest.approx(1.0)
        assert got["top_age_band"] in AGE_BANDS and got["audience_days"] == 3
    plain = totals([{**r, "spend": "0"} for r in raw])
    assert sums[0]["i"] == sum(v[0] for v in plain.values())
    assert sums[0]["c"] == sum(v[1] for v in plain.values())
